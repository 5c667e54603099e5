/* @fsm
machine m
kind transition
states S
start S
final S
@end */
