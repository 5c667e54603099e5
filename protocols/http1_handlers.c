/* Default handlers for the http1 table: every method answers 501 Not
 * Implemented and closes.
 *
 * They are weak so that a service (examples/httpd) defines the methods it
 * implements and keeps 501 for the rest, which is what RFC 9110 §9.1 asks
 * of a server for a method it does not implement.  The price is that a
 * forgotten http1 handler is not a link error.  They also make every
 * program that links the generated http1 table link (the libFuzzer build
 * compiles every protocol into every fuzzer). */
#include "http1.h"
#include "http1_fsm.h"
#include "protofsm/session.h"

#define LIT(s) { s, sizeof(s) - 1 }
#define HEAD501 "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\n" \
                "Content-Length: 20\r\nConnection: close\r\n\r\n"

static int not_implemented(pf_session *s, int head)
{
    static const pf_slice full = LIT(HEAD501 "501 Not Implemented\n");
    static const pf_slice bare = LIT(HEAD501); /* HEAD: no content */
    int rc = pf_replyv(s, head ? &bare : &full, 1);
    return rc < 0 ? rc : PF_CLOSE;
}

#define DEFAULT(name, head)                                                  \
    __attribute__((weak)) int name(pf_session *s, const pf_packet *pkt)     \
    {                                                                        \
        (void)pkt;                                                           \
        return not_implemented(s, head);                                     \
    }

DEFAULT(http1_on_get, 0)
DEFAULT(http1_on_head, 1)
DEFAULT(http1_on_post, 0)
DEFAULT(http1_on_put, 0)
DEFAULT(http1_on_delete, 0)
DEFAULT(http1_on_options, 0)
DEFAULT(http1_on_connect, 0)
DEFAULT(http1_on_patch, 0)
DEFAULT(http1_on_trace, 0)
DEFAULT(http1_on_other, 0)
