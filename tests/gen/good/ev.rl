/* A protocol's event list: what its parser emits.  The grammar would
 * follow this block; pfgen reads only the block. */

/* @fsm
protocol ev
events  LOGIN DATA PING   # packet events, numbered from 4
events  BYE               # may repeat
@end */
