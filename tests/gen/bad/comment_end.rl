/* A star-slash before '@end' would close the C comment that holds the block. */
/* @fsm machine t   # see a */ b
kind dispatch
events X         # see a */ b
X -> h           # a /* nested opener
@end */
