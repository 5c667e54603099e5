/* Without a default row, every packet event of a dispatch machine needs a
 * row of its own. */
/* @fsm
machine t
kind dispatch
events X Y
X -> h
OPEN -> g
@end */
