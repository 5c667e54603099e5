/* kvd's session machine over the RESP events (protocols/resp.rl parses;
 * this file only holds the table, so pfgen makes resp_kvd_fsm.{c,h}).
 *
 * The events are resp.rl's, declared in the same order, so KVD_EV_X ==
 * RESP_EV_X (examples/kvd/cmd.c checks each at compile time) and the
 * parser's events index this table directly.
 *
 * States: NOAUTH until AUTH succeeds (the OPEN handler moves on at once
 * when no password is set; before it only AUTH, HELLO, QUIT and PING are
 * served, so a health check needs no password), READY, MULTI while a transaction is queued,
 * DONE after QUIT or close.  Commands in READY go to one handler that
 * looks the command up in cmd.c's table (arity, flags, function), which
 * MULTI's queue and EXEC use as well. */

/* @fsm
machine kvd
kind    transition
states  NOAUTH READY MULTI DONE
start   NOAUTH
final   DONE
events  PING ECHO GET SET SETNX GETSET MGET MSET DEL EXISTS
events  INCR DECR INCRBY DECRBY APPEND STRLEN
events  EXPIRE PEXPIRE TTL PTTL PERSIST TYPE KEYS SCAN
events  DBSIZE FLUSHDB FLUSHALL SELECT QUIT INFO COMMAND CLIENT HELLO
events  AUTH MULTI EXEC DISCARD CONFIG
events  UNKNOWN EMPTY

# state  event    -> next    handler
NOAUTH   OPEN     -> READY   kvd_on_open       # PF_STAY when a password is set
NOAUTH   AUTH     -> READY   kvd_on_auth       # PF_STAY on a wrong password
NOAUTH   HELLO    -> READY   kvd_on_hello      # PF_STAY unless HELLO ... AUTH succeeds
NOAUTH   QUIT     -> DONE    kvd_on_quit
NOAUTH   PING     -> .       kvd_on_command    # allowed before AUTH (redis 7 says -NOAUTH)
NOAUTH   *        -> .       kvd_on_noauth     # -NOAUTH Authentication required.
READY    AUTH     -> .       kvd_on_auth
READY    HELLO    -> .       kvd_on_hello
READY    MULTI    -> MULTI   kvd_on_multi
READY    EXEC     -> .       kvd_on_exec_without_multi
READY    DISCARD  -> .       kvd_on_discard_without_multi
READY    QUIT     -> DONE    kvd_on_quit
READY    *        -> .       kvd_on_command
MULTI    MULTI    -> .       kvd_on_multi_nested
MULTI    EXEC     -> READY   kvd_on_exec
MULTI    DISCARD  -> READY   kvd_on_discard
MULTI    QUIT     -> DONE    kvd_on_quit
MULTI    *        -> .       kvd_on_queue      # +QUEUED, or an error that aborts EXEC
*        EMPTY    -> .       -
*        CLOSE    -> DONE    kvd_on_close
@end */
#include "resp_kvd_fsm.h"
