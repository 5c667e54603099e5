/* No packet event is declared: wildcards and the default cover no cell. */
/* @fsm
machine t
kind transition
states A B
start A
final B
A OPEN -> B h
A * -> . h2
* * -> . h3
@end */
