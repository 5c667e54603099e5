/* @fsm
machine t
kind transition
states A
start B
final A
@end */
