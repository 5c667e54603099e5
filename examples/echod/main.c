/* echod: the line protocol (protocols/line.h) served by the runtime.
 *
 *   build/bin/echod [--listen 127.0.0.1:7000] [--mode hsha] ...
 *   printf 'HELLO me\r\nECHO hi\r\nQUIT\r\n' | nc 127.0.0.1 7000 */
#include "line.h"
#include "protofsm/cli.h"

int main(int argc, char **argv)
{
    pf_listen_conf lc = { .proto = &pf_line_protocol };

    return pf_cli_main(argc, argv, "echod: the line protocol (HELLO, ECHO, SLEEP, QUIT)",
                       "127.0.0.1:7000", &lc);
}
