/* 'machine pf' would generate PF_EV_OPEN (fsm.h has it) and pf_fsm (a type). */
/* @fsm
machine pf
kind dispatch
events X
X -> on_x
@end */
