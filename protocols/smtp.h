/* SMTP (RFC 5321) with PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME
 * (RFC 6152) and ENHANCEDSTATUSCODES (RFC 2034, codes from RFC 3463).
 *
 * Commands (case-insensitive): HELO domain, EHLO domain, MAIL FROM:<path> [SIZE=n]
 * [BODY=7BIT|8BITMIME], RCPT TO:<path>, DATA, RSET, NOOP, QUIT, VRFY (252),
 * HELP.  The null reverse-path <> is accepted in MAIL.  The order of commands
 * is the table in smtp.rl; anything out of sequence is answered by its
 * default row: 503 5.5.1 Bad sequence of commands.
 *
 * Arguments are checked by the grammar (smtp_grammar.rl) and a command
 * whose arguments do not match is a SYNTAX packet, never its command: the
 * HELO/EHLO argument must be a Domain (letters, digits, hyphens, dots;
 * RFC 5321 4.1.2) or an address literal ("[192.0.2.1]", 4.1.3), at most
 * 255 octets (4.5.3.1.2), so no space, control byte or escape sequence
 * ever reaches a handler, a reply or a stored header through it; MAIL and
 * RCPT paths are Mailboxes (4.1.2).
 *
 * Lines and limits (RFC 5321 4.5.3.1):
 *   - A command line is at most max_cmd_line octets, CRLF included (512).
 *     A longer one is answered 500 5.5.2 once, and the rest of it up to its
 *     LF is discarded; the session goes on.  A command line must end in CRLF:
 *     one ending in a bare LF is answered 500 5.5.2 and not executed.
 *   - A message text line is at most max_text_line octets, CRLF included
 *     (1000).  A message with a longer line is read to its end and refused:
 *     500 5.5.2 Message line too long.
 *   - max_rcpt recipients per message (100); one more: 452 4.5.3.
 *   - max_message octets of message text (10 MiB), advertised as SIZE; a
 *     larger SIZE= in MAIL gets 552 5.3.4, a larger message is read to its
 *     end and refused with 552 5.3.4.
 *
 * DATA and "SMTP smuggling".  After 354 the parser switches to the message
 * grammar, where the ONLY line ending is CRLF and the ONLY end of data is a
 * line holding exactly "." (the bytes CR LF . CR LF, the first CRLF being
 * the end of the previous line or of the DATA command).  A bare LF (LF not
 * after CR) or a bare CR (CR not before LF) anywhere in the message text
 * marks the message bad: it is read on to the real CRLF.CRLF and then
 * refused as a whole with
 *       550 5.5.2 Message contains bare CR or LF (lines must end in CRLF)
 * and nothing is stored.  So "LF.LF", "LF.CRLF", "CR.CR", "CRLF.LF" and
 * the like never end the data, and a message that another server could
 * read as two messages is never accepted by this one (the same policy as
 * Postfix's smtpd_forbid_bare_newline = reject, applied to CR as well).
 * Lines beginning with "." have the dot removed (RFC 5321 4.5.2).
 *
 * The message is handed to the handlers in DATA_CHUNK packets (what each
 * read brought, cut anywhere but inside a possible "." CRLF line) and one
 * DATA_END packet,
 * so a message of any permitted size costs a connection no more than the
 * server's max_input of memory; the handlers append each chunk to an open
 * file in the Maildir's tmp/ and, on DATA_END, fsync it, rename it into
 * new/ and fsync new/ before answering 250.
 *
 * The parser is told by the DATA handler whether it answered 354 (see
 * pf_smtp_parser_data): until then it hands out no packet after DATA, so a
 * pipelining client's message text is never read as commands nor commands
 * as text. */
#ifndef PROTOFSM_SMTP_H
#define PROTOFSM_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "protofsm/protocol.h"

#define PF_SMTP_CMD_LINE_DEFAULT 512        /* RFC 5321 4.5.3.1.4 */
#define PF_SMTP_TEXT_LINE_DEFAULT 1000      /* RFC 5321 4.5.3.1.6 */
#define PF_SMTP_RCPT_DEFAULT 100            /* RFC 5321 4.5.3.1.8 */
#define PF_SMTP_MESSAGE_DEFAULT (10u << 20) /* advertised with SIZE */
#define PF_SMTP_PATH_MAX 256                /* RFC 5321 4.5.3.1.3 */

/* The listener's configuration; pass as pf_listen_conf.proto_conf (NULL or
 * zero fields: defaults).  Must outlive the server. */
typedef struct pf_smtp_conf {
    size_t max_cmd_line;      /* octets, CRLF included */
    size_t max_text_line;     /* octets, CRLF included */
    unsigned max_rcpt;
    uint64_t max_message;     /* octets of message text (after unstuffing) */
} pf_smtp_conf;

/* Why a SYNTAX packet is not a command. */
enum pf_smtp_syntax {
    PF_SMTP_SYN_ARGS = 1,     /* 501 5.5.4: bad or missing arguments */
    PF_SMTP_SYN_PATH,         /* 501 5.1.7 / 5.1.3: bad address */
    PF_SMTP_SYN_BARE_LF,      /* 500 5.5.2: line not ended by CRLF */
    PF_SMTP_SYN_PARAM         /* 501 5.5.4: bad SIZE= or BODY= value */
};

/* Message flags (cumulative over one message's packets). */
#define PF_SMTP_BAD_BARE 0x1u /* bare CR or LF seen */
#define PF_SMTP_BAD_LONG 0x2u /* a text line over max_text_line */

typedef struct pf_smtp_parser pf_smtp_parser;

/* What one packet carries.  Slices point into the input. */
typedef struct pf_smtp_fields {
    pf_slice verb;            /* command word as sent */
    pf_slice arg;             /* HELO/EHLO/VRFY/HELP/NOOP argument, trimmed */
    pf_slice path;            /* MAIL/RCPT mailbox without <> (empty for <>) */
    uint64_t size;            /* MAIL SIZE= value; 0 if absent */
    uint8_t body8;            /* MAIL BODY=8BITMIME */
    uint8_t unknown_param;    /* MAIL/RCPT carried a parameter we do not know */
    uint8_t syntax;           /* enum pf_smtp_syntax for SYNTAX packets */
    uint8_t bad;              /* DATA_*: PF_SMTP_BAD_* for the message so far */
    uint8_t stuffed;          /* DATA_*: some line in `text` begins with a
                                 stuffing '.' (0: no line start has one) */
    uint8_t at_line_start;    /* DATA_*: text begins at the start of a line */
    pf_slice text;            /* DATA_*: message bytes as sent (dot-stuffed;
                                 a chunk may end inside a line) */
    pf_smtp_parser *parser;   /* the connection's parser (pf_smtp_parser_data) */
    const pf_smtp_conf *conf; /* never NULL */
} pf_smtp_fields;

extern const pf_protocol pf_smtp_protocol;

/* After a DATA packet the parser waits for its verdict: `accepted` 1 when
 * 354 was sent (the parser reads message text next), 0 when DATA was
 * refused (it reads commands).  Every handler that answers DATA calls this
 * once; it runs on the thread handling the packet, which owns the parser
 * while it does. */
void pf_smtp_parser_data(pf_smtp_parser *p, int accepted);

#endif
