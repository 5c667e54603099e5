/* A protocol holds events only: a table belongs to a machine over it. */
/* @fsm
protocol protocol_table
kind    transition
states  A
events  GO
A GO -> . h
@end */
