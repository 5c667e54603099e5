/* @fsm
machine t
kind transition
states A
final A
@end */
