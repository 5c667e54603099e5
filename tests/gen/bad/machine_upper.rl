/* The machine name is uppercased in enumerators: Pf_x gives PF_X_ST_A. */
/* @fsm
machine Pf_x
kind transition
states A
start A
final A
@end */
