/* The RESP grammar: machine definitions only, actions named here and
 * defined in resp.rl, which includes this file (never compiled alone).
 * Sources: redis-server 7 src/networking.c (processMultibulkBuffer) and
 * src/util.c (string2ll); https://redis.io/docs/reference/protocol-spec/. */

%%{
    machine resp_mbulk_grammar;

    # A multibulk request: "*" count line, then "$" length line + payload
    # per argument.  A line ends at its CR and one more byte, never looked
    # at; the payload and the two bytes after it are skipped by the action
    # bulk_done (Ragel does not count).

    # string2ll's syntax: 0, or an optional '-' then no leading zero.
    num  = '0' | ( '-' @neg )? ( [1-9] [0-9]* ) $dig;
    rest = [^\r\0]*;
    # Up to the CR, judged after it; a NUL first means the CR is never seen.
    body = num '\r' @cr_num
         | ( rest - num ) '\r' @cr_bad
         | rest '\0' @poison;

    count = '*' >count_start body any @count_done;
    bulk  = ( '$' body
            | [^$\r\0] rest ( '\r' @cr_bad | '\0' @poison )
            | '\r' @cr_bad
            | '\0' @poison ) >bulk_start any @bulk_done;
}%%

%%{
    machine resp_cmd_grammar;

    # Command names, case-insensitive, one event each.
    # Leaving actions run at the end of the name (eof): a name that is only
    # a prefix of one, or runs past one, stays UNKNOWN.
    command = 'ping'i %ping | 'echo'i %echo | 'get'i %get | 'set'i %set
            | 'setnx'i %setnx | 'getset'i %getset | 'mget'i %mget
            | 'mset'i %mset | 'del'i %del | 'exists'i %exists
            | 'incr'i %incr | 'decr'i %decr | 'incrby'i %incrby
            | 'decrby'i %decrby | 'append'i %append | 'strlen'i %strlen
            | 'expire'i %expire | 'pexpire'i %pexpire | 'ttl'i %ttl
            | 'pttl'i %pttl | 'persist'i %persist | 'type'i %type
            | 'keys'i %keys | 'scan'i %scan | 'dbsize'i %dbsize
            | 'flushdb'i %flushdb | 'flushall'i %flushall
            | 'select'i %select | 'quit'i %quit | 'info'i %info
            | 'command'i %command | 'client'i %client | 'hello'i %hello
            | 'auth'i %auth | 'multi'i %multi | 'exec'i %exec
            | 'discard'i %discard | 'config'i %config;
}%%
