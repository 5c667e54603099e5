/* @fsm
machine t
kind transition
states A B
start A
final B
events GO
A GO -> B
A GO B h
A GO -> B h extra
default -> h
A GO -> B h
@end */
