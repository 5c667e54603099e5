/* @fsm
machine t
kind transition
states A B TRAP
start A
final B
events GO TRAPPED
A GO -> B h
A TRAPPED -> TRAP h
TRAP * -> . h
@end */
