/* @fsm
machine t
kind transition
states A
start A
final A
stats B
@end */
