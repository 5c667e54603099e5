/* Enumerator G_ST_A_FSM_H is also the include guard of g_st_a_fsm.h. */
/* @fsm
machine g
kind transition
states A_FSM_H B
start A_FSM_H
final B
events X
A_FSM_H X -> B -
@end */
