/* SMTP command grammar (RFC 5321): machine definitions only.  Included by
 * smtp.rl, which defines the actions named here.  Never compiled alone.
 *
 * Framing (a line up to CRLF) and the message-text grammar are host code in
 * smtp.rl; this file says what a command line's words may be. */
%%{
    machine smtp_grammar;

    # 4.1.1 command verbs, case-insensitive (2.4).
    verb = 'helo'i %v_helo
         | 'ehlo'i %v_ehlo
         | 'mail'i %v_mail
         | 'rcpt'i %v_rcpt
         | 'data'i %v_data
         | 'rset'i %v_rset
         | 'noop'i %v_noop
         | 'quit'i %v_quit
         | 'vrfy'i %v_vrfy
         | 'help'i %v_help;

    # 4.1.2 Command Argument Syntax.
    atext         = alnum | [!#$%&'*+\-/=?^_`{|}~];
    dot_string    = atext+ ( '.' atext+ )*;
    qtext         = ( 32..126 ) - ["\\];
    quoted_pair   = '\\' ( 32..126 );
    quoted_string = '"' ( qtext | quoted_pair )* '"';
    local_part    = dot_string | quoted_string;
    ldh_str       = ( alnum | '-' )* alnum;
    sub_domain    = alnum ldh_str?;
    domain        = sub_domain ( '.' sub_domain )*;
    # 4.1.3 address literals: only their brackets and printable contents
    # are checked; they are stored, not routed.
    address_literal = '[' ( ( 33..126 ) - [\[\]\\] )+ ']';
    mailbox       = local_part '@' ( domain | address_literal );
    # 4.1.1.1: ehlo = "EHLO" SP ( Domain / address-literal ).  HELO's is a
    # Domain by the grammar; an address literal is taken there too, as a
    # host without a name sends one (2.3.5) and every server accepts it.
    helo_arg      = domain | address_literal;
    # A source route (A-d-l) is accepted and ignored (4.1.2, C).
    at_domain     = '@' domain;
    adl           = at_domain ( ',' at_domain )*;
    path          = '<' ( adl ':' )? ( mailbox >path_start %path_end ) '>';
    reverse_path  = path | '<>';
    # 4.5.1: <postmaster> without a domain must be accepted.
    forward_path  = path | '<' ( 'postmaster'i >path_start %path_end ) '>';

    # 4.1.2 Mail-parameters / Rcpt-parameters.
    esmtp_keyword = alnum ( alnum | '-' )*;
    esmtp_value   = ( ( 33..126 ) - '=' )+;
    esmtp_param   = ( esmtp_keyword ( '=' esmtp_value )? ) >param_start %param_end;
    params        = ( ' '+ esmtp_param )* ' '*;

    # 4.1.1.2 and 4.1.1.3; "FROM:" and "TO:" are case-insensitive too.  A
    # space after the colon is tolerated (common, and harmless).
    mail_args = 'from:'i ' '? reverse_path params;
    rcpt_args = 'to:'i ' '? forward_path params;
}%%
