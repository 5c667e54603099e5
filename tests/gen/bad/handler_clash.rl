/* Handlers named like the symbols pfgen generates for this table. */
/* @fsm
machine m
kind transition
states A B
start A
final B
events X Y Z W V U
A X -> B M_ST_A       # state A's enumerator
A Y -> B M_EV_X       # event X's enumerator
A Z -> B M_NSTATES
A W -> B M_NEVENTS
A V -> B m_fsm_table
A U -> B M_EV_OPEN    # a built-in event's enumerator
A OPEN -> . handler_clash_ok
A CLOSE -> . HANDLER_CLASH_FSM_H   # the include guard of handler_clash_fsm.h
@end */
