/* @fsm
machine t
kind dispatch
events GO
GO -> h
GO -> g
default -> e
* -> e
@end */
