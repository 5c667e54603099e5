/* @fsm
machine t
kind dispatch
events GO
GO -> . h
GO h
-> h
GO -> h
@end */
