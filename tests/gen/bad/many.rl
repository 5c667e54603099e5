/* Several independent problems: every one is reported, in line order. */
/* @fsm
machine t
kind transition
states A B C
start A
final B
events GO GO
events OPEN
A GO -> B h
A GO -> . h
X GO -> B h
bogus
@end */
