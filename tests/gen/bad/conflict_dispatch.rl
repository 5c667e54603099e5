/* @fsm
machine t
kind dispatch
events GO STOP    # STOP has no row: the default answers it
GO -> h
GO -> g
default -> e
* -> e
@end */
