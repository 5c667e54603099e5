/* `over X` finds X.rl, so a protocol is named like its file. */
/* @fsm
protocol other
events GO
@end */
