/* @fsm
machine t
kind transition
states A B
start A
final B
events GO STOP ECHO SKIP QUIT
A GO -> B int
A STOP -> B _Handler
A ECHO -> . __h
A SKIP -> . 9lives
A QUIT -> B t_fsm
@end */
