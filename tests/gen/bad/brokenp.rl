/* A protocol with a duplicate event. */
/* @fsm
protocol brokenp
events A B A
@end */
