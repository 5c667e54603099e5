/* @fsm
machine t
kind dispatch
events GO TIMEOUT
GO -> h
TIMEOUT -> g
@end */
