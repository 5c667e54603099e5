/* A dispatch (state-independent) machine: one handler per packet type. */
%%{
    machine echo_parser;
    main := ( [A-Z]+ '\n' )*;
}%%

   /*   @fsm
machine echo
kind dispatch
events PING ECHO
events STATS UNKNOWN  # UNKNOWN: any other command

PING  -> echo_ping
ECHO  -> echo_echo
STATS -> -            # accepted, nothing to do
OPEN  -> echo_hello   # built-ins only by name
default -> echo_error # every packet event without a row: here UNKNOWN
@end */
