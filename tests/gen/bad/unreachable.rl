/* @fsm
machine t
kind transition
states A B
states LOST
start A
final B
events GO
A GO -> B h
LOST GO -> B h
@end */
