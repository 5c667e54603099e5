/* 'A *' fills no cell ('A X' takes its only one), so nothing leads to Z:
 * the checks read the filled table, not the rows. */
/* @fsm
machine t
kind transition
states A Z
start A
final Z
events X
A X -> . h
A * -> Z h2
Z X -> . h
@end */
