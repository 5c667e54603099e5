/* @fsm
machine 1t
kind transaction
states A 2B default
events GO-ON
@end */
