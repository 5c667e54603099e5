/* @fsm
machine t
kind transition
states START READY
start START
final READY
events HELLO

START HELLO -> READY h
* HELLO -> . g
START HELLO -> . h2
* HELLO -> READY -
@end */
