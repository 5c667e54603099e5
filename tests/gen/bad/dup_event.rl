/* @fsm
machine t
kind dispatch
events GO STOP
events GO
GO -> h
STOP -> g
@end */
