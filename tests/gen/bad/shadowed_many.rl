/* Wildcard rows and the default whose every cell a more specific row takes. */
/* @fsm
machine t
kind transition
states A B
start A
final B
events X Y Z W
A X -> B h
A Y -> B h
A Z -> B h
A W -> B h
A * -> . h2       # shadowed by the four rows above
B X -> . h
* X -> . h3       # A X and B X take both cells
B * -> . h4
default -> . h5   # A's cells and B's are all taken
@end */
