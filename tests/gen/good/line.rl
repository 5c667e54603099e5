/* A line protocol: the table block from the design notes, verbatim. */
#include <stddef.h>

%%{
    machine line_parser;
    main := ( [^\n]* '\n' )*;
}%%

/* @fsm
machine line
kind    transition
states  START READY DONE
start   START
final   DONE
events  HELLO ECHO SLEEP QUIT UNKNOWN

# state  event    -> next   handler
START    HELLO    -> READY  line_on_hello
START    QUIT     -> DONE   line_on_quit
START    *        -> .      line_on_need_hello
READY    HELLO    -> .      line_on_hello
*        ECHO     -> .      line_on_echo
READY    QUIT     -> DONE   line_on_quit
*        CLOSE    -> DONE   -
default           -> .      line_on_unknown
@end */
