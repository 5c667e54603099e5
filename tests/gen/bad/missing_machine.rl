/* @fsm
kind dispatch
events GO
GO -> h
@end */
