/* @fsm
machine t
kind dispatch
events GO
GO -> h
@end */

/* @fsm
machine u
@end */
