/* @fsm
machine t
events GO
@end */
