/* The engine's cost per transport read (issue 17's third row), on the
   host under callgrind: a sans-I/O client (imap_client_feed, no
   transport) with one NOOP in flight is fed "* N EXISTS" one read at a
   time, as an IDLE-ing client gets its notifications, and the application
   takes each from the store; run.sh counts the instructions of feed_one()
   per call. Build with -DIMAP_MAX_PENDING=N to
   see how the cost follows the slot count.

   cc -O2 -I. tests/bench/engine_read.c -o engine_read && ./engine_read 10000 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define IMAP_IMPLEMENTATION
#include "imap.h"

static unsigned char mem[64 * 1024];
static unsigned long seen;

static void on_data(void *arg, imap_client *c, const imap_response *r)
{
    (void)arg;
    (void)c;
    seen += (unsigned long)r->number;
}

__attribute__((noinline))
static void feed_one(imap_client *c, const char *s, size_t n)
{
    size_t used = 0;
    imap_client_feed(c, s, n, &used);
}

int main(int argc, char **argv)
{
    imap_client c;
    imap_call call;
    const unsigned char *out;
    size_t olen, n;
    long i, reads = argc > 1 ? atol(argv[1]) : 10000;
    char line[64];
    const char *greet = "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] ready\r\n";
    imap_client_init(&c, mem, sizeof mem);
    imap_client_start(&c);
    feed_one(&c, greet, strlen(greet));
    memset(&call, 0, sizeof call);
    call.on_data = on_data;
    imap_noop(&c, &call);
    if (imap_client_output(&c, &out, &olen) == 0) imap_client_output_ack(&c, olen);
    for (i = 0; i < reads; i++) {
        n = (size_t)snprintf(line, sizeof line, "* %ld EXISTS\r\n", i + 1);
        feed_one(&c, line, n);
        {   /* the application takes it, as an IDLE loop does (not counted) */
            char got[32];
            size_t len;
            (void)imap_client_response(&c, "EXISTS", got, sizeof got, &len);
        }
    }
    printf("reads=%ld pending=%u seen=%lu error=%d slots=%d\n", reads, imap_client_pending(&c),
           seen, c.error, IMAP_MAX_PENDING);
    return c.error != 0;
}
