/* @fsm
machine t
kind transition
states A B
start A
final B C
events GO
A GO -> B h
@end */
