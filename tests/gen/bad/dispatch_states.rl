/* @fsm
machine t
states A
start A
final A
kind dispatch
events GO
GO -> h
@end */
