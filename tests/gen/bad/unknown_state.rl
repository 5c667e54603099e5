/* @fsm
machine t
kind transition
states A B
start A
final B
events GO
A  GO -> B h
C  GO -> B h
*  GO -> D h
@end */
