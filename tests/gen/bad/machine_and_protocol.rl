/* One block is either a protocol or a machine. */
/* @fsm
machine m
protocol machine_and_protocol
kind dispatch
events GO
GO -> h
@end */
