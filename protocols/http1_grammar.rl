/* HTTP/1.1 request grammar (RFC 9112), machine definitions only: the named
 * actions are written in http1.rl.  Included by http1.rl, never compiled
 * alone.
 *
 * Ragel walks the structure byte by byte; the long runs (request-target,
 * field values, chunk data) are skipped inside actions with a vector scan
 * and `fexec`, so the per-byte machine only sees names and delimiters. */
%%{
    machine http1_grammar;

    CRLF = '\r' '\n';                           # §2.2: no bare LF, no bare CR

    # RFC 9110 §5.6.2
    tchar = [!#$%&'*+\-.^_`|~] | digit | alpha;
    token = tchar+;
    OWS = [ \t]*;                               # RFC 9110 §5.6.3

    # RFC 9110 §9.1: methods are case-sensitive.
    method = ( 'GET' %m_get | 'HEAD' %m_head | 'POST' %m_post
             | 'PUT' %m_put | 'DELETE' %m_delete | 'OPTIONS' %m_options
             | 'CONNECT' %m_connect | 'PATCH' %m_patch | 'TRACE' %m_trace
             | ( token - ( 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE'
                         | 'OPTIONS' | 'CONNECT' | 'PATCH' | 'TRACE' ) ) %m_other
             ) >m_start %m_end;

    # §3.2: the form is checked by host code once the target is whole; here
    # it is any run of visible ASCII.  t_scan jumps over the run.
    target = ( 0x21..0x7e )+ >t_start $t_scan %t_end;

    # §2.3: HTTP-version is case-sensitive, one digit each side.
    version = 'HTTP/' digit @v_major '.' digit @v_minor;

    # §3; leading empty lines are ignored (§2.2).  The request line is
    # split in two entry points so that host code can start after a method
    # it recognised at once, and rl_end jumps to `headers`.
    rl_method = CRLF* method ' ' @rl_method;
    rl_rest = target ' ' version '\r' '\n' @rl_end;

    # §5: field-line = field-name ":" OWS field-value OWS.  No whitespace
    # before the colon (§5.1), no obs-fold (§5.2): a line starting with
    # SP/HTAB is not a field name.  n_scan jumps over the token; n_end
    # recognises the names that frame the message (case-insensitively).
    field_name = token >n_start $n_scan %n_end;
    # RFC 9110 §5.5: field-vchar = VCHAR / obs-text; SP and HTAB inside.
    vchar = 0x21..0x7e | 0x80..0xff;
    field_value = ( vchar ( vchar | [ \t] )* ) >v_start $v_scan;
    field_line = field_name ':' OWS field_value? '\r' @f_end '\n';

    main := rl_method;
    request_rest := rl_rest;
    headers := field_line* '\r' '\n' @head_end;

    # §7.1: chunked body.  chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS
    # ( token / quoted-string ) ] ); quoted-string per RFC 9110 §5.6.4.
    qdtext = [\t !] | 0x23..0x5b | 0x5d..0x7e | 0x80..0xff;
    quoted_pair = '\\' ( [\t ] | 0x21..0x7e | 0x80..0xff );
    quoted_string = '"' ( qdtext | quoted_pair )* '"';
    chunk_ext = ( OWS ';' OWS token ( OWS '=' OWS ( token | quoted_string ) )? )*;
    chunk_size = xdigit+ $c_digit;

    chunk := chunk_size >c_start chunk_ext '\r' '\n' @c_line_end;
    chunk_data := any @c_data;
    chunk_crlf := '\r' '\n' @c_data_end;
    trailers := field_line* '\r' '\n' @msg_end;
}%%
