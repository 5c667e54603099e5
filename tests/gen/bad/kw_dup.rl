/* Two events for one word: which would the parser report? */
/* @fsm
protocol kw_dup
keywords nocase HELLO
keywords lower  HI=hello
keywords exact  OPEN
@end */
