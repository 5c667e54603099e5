/* Precedence, stay resolution and built-in exclusion, one cell at a time.
 * Cell (A, E1) is covered by all four row kinds; the exact row must win. */
/* @fsm
machine prec
kind transition
states A B Z
start A
final Z
events E1 E2 E3

A  E1 -> B  p_exact     # exact S E: wins over everything below
*  E1 -> Z  p_any_ev    # * E: wins over S * and default
A  *  -> .  p_st_any    # S *: wins over default only
default -> Z p_default
B  E2 -> Z  -
*  E3 -> .  p_stay      # * with stay: each state keeps its own index
@end */
