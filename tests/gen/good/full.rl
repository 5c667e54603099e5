/* Every feature of the table block in one transition machine: repeated
 * states/events lines, wildcards both ways, stay, no handler, the default,
 * rows for built-in events, several final states, comments and tabs. */
#include <stddef.h>

%%{
    machine full_parser;
    main := ( [a-z]+ '\n' )*;
}%%

/* @fsm
machine	full		# tabs separate tokens too
kind transition
states IDLE AUTH        # first line of states
states BUSY
states QUIT ABORTED     # several finals
start IDLE
final QUIT
final ABORTED
events LOGIN DATA
events PING RESET BYE

IDLE    OPEN    -> .        full_greet      # a built-in event, named
IDLE    LOGIN   -> AUTH     full_login
AUTH    DATA    -> BUSY     full_data
BUSY    DATA    -> .        full_data       # stay, same handler again
BUSY    *       -> .        full_busy       # STATE *: packet events only
*       PING    -> .        full_pong       # * EVENT, stay = each state
*       RESET   -> IDLE     -               # no handler
AUTH    PING    -> .        -               # exact beats * PING
*       BYE     -> QUIT     full_bye
*       TIMEOUT -> ABORTED  full_timeout    # built-in with * STATE
*       DRAIN   -> QUIT     -
default         -> .        full_unknown    # stays; never covers built-ins
@end */

int full_dummy(void);
