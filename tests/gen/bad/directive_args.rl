/* @fsm
machine t u
machine t
kind
kind transition
states
start A B
start A
final
events
@end */
