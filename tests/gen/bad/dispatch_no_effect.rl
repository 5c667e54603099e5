/* A dispatch default with no packet event to answer. */
/* @fsm
machine t
kind dispatch
OPEN -> g
default -> e
@end */
