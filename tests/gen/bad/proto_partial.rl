/* A pf_protocol literal needs state, a start and a parse. */
/* @fsm
protocol proto_partial
events  GO
parser  p_state
error   p_error
full    no-quotes
busy    "bad \q escape"
fields  int
@end */
