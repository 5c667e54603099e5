/* @fsm
machine t
kind transition
states A B
start A
events GO
A GO -> B h
@end */
