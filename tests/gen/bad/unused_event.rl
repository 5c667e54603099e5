/* @fsm
machine t
kind transition
states A B
start A
final B
events GO
events SLEEP NOP
A GO -> B h
default -> . e
@end */
