/* echod: the echo service (services/echo) over the line protocol
 * (protocols/line.h).
 *
 *   build/bin/echod [--listen 127.0.0.1:7000] [--mode hsha] ...
 *   printf 'HELLO me\r\nECHO hi\r\nQUIT\r\n' | nc 127.0.0.1 7000 */
#include "echo/echo.h"
#include "protofsm/cli.h"

int main(int argc, char **argv)
{
    pf_listen_conf lc = { .service = &pf_echo_service };

    return pf_cli_main(argc, argv, "echod: the line protocol (HELLO, ECHO, SLEEP, QUIT)",
                       "127.0.0.1:7000", &lc);
}
