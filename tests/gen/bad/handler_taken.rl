/* Handlers named like what the generated code's headers declare or define. */
/* @fsm
machine m
kind dispatch
events A B C D E F G H I J K
A -> NULL
B -> uint8_t
C -> size_t
D -> pf_fsm_run
E -> PF_EV_OPEN
F -> PROTOFSM_FSM_H
G -> main
H -> INT8_MAX
I -> offsetof
J -> log
K -> exit
@end */
