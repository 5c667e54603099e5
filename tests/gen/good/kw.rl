/* A protocol block with everything pfgen can write for it: keywords in
 * each mode, the fields accessor and the pf_protocol literal. */
/* @fsm
protocol kw
keywords nocase HELLO QUIT          # HELLO, hello, HeLLo
keywords lower FLUSH_ALL GET        # flush_all, get
keywords exact SEARCH=M-SEARCH      # M-SEARCH only
events  UNKNOWN
fields  kw_fields
parser  kw_parser
init    kw_init
parse   kw_parse
error   kw_error
full    "-ERR full # not a comment\r\n"
busy    "-ERR busy \"quoted\"\r\n"
max_packet kw_max_packet
at_rest kw_at_rest
@end */
