/* @fsm
machine t
kind transition
states A B
states C A
start A
final B
events GO
A GO -> B h
C GO -> B h
* GO -> C -
@end */
