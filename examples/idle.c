/* idle - wait for new mail with IDLE (RFC 2177) and say who it is from.

   Build:  cc -O2 -I. examples/idle.c -o idle
   Usage:  IMAP_PASSWORD=secret ./idle [-t SECONDS] [-n COUNT]
                                       [HOST [PORT [USER [MAILBOX]]]]
           Defaults: $IMAP_HOST or localhost, $IMAP_PORT or 143, $IMAP_USER
           or $USER, $IMAP_MAILBOX or INBOX. Runs until Ctrl-C, or for
           SECONDS, or until COUNT new messages were shown.

   imap_idle blocks until the server reports a change (the engine then
   sends DONE itself) or its timeout passes. When the EXISTS count grew,
   one FETCH of the new messages' ENVELOPE tells who sent them:
   imap_envelope_decode gives the fields, imap_address_next walks the
   From list. (Counting messages misses mail that arrives together with
   an expunge; imapcat.c's idle follows UIDNEXT instead.) */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ms(void *arg)
{
    struct timespec ts;
    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *arg_or_env(int argc, char **argv, int i, const char *env, const char *dflt)
{
    const char *v = i < argc ? argv[i] : getenv(env);
    return v && *v ? v : dflt;
}

static void print_str(imap_str s)
{
    fwrite(s.ptr ? s.ptr : "", 1, s.len, stdout);
}

/* One "* n FETCH (UID u ENVELOPE (...))" per new message. */
static void on_envelope(void *arg, imap_client *c, const imap_response *r)
{
    long *shown = (long *)arg;
    const imap_value *v = imap_fetch_get(r, "ENVELOPE");
    const imap_value *cur;
    imap_envelope env;
    imap_address a;
    int n = 0;
    (void)c;
    if (!v || imap_envelope_decode(v, &env) != 0) return;
    printf("New message %llu from ", (unsigned long long)r->number);
    cur = env.from;
    while (imap_address_next(&cur, &a) == 1) {
        if (a.group_start || a.group_end) continue;      /* RFC 2822 groups */
        if (n++) fputs(", ", stdout);
        if (a.name.len) {
            print_str(a.name);
            fputs(" <", stdout);
        }
        print_str(a.mailbox);
        putchar('@');
        print_str(a.host);
        if (a.name.len) putchar('>');
    }
    if (n == 0) fputs("(nobody)", stdout);
    fputs(": ", stdout);
    print_str(env.subject);
    putchar('\n');
    fflush(stdout);
    ++*shown;
}

static int fail(imap_client *c, const char *what, int rc)
{
    fprintf(stderr, "idle: %s: %s%s%s\n", what, imap_result_str(rc),
            c->last_text[0] ? ": " : "", c->last_text);
    return 1;
}

int main(int argc, char **argv)
{
    static imap_client c;
    static unsigned char mem[256 * 1024];
    imap_tcp tcp;
    imap_transport t;
    const char *host, *user, *mailbox, *password = getenv("IMAP_PASSWORD");
    unsigned port;
    long seconds = 0, count = 0, shown = 0;
    long long deadline;
    imap_u64 seen;
    int rc, i = 1;

    while (i + 1 < argc && (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "-n") == 0)) {
        if (argv[i][1] == 't') seconds = atol(argv[i + 1]);
        else count = atol(argv[i + 1]);
        i += 2;
    }
    argc -= i - 1;
    argv += i - 1;
    host = arg_or_env(argc, argv, 1, "IMAP_HOST", "localhost");
    port = (unsigned)atoi(arg_or_env(argc, argv, 2, "IMAP_PORT", "143"));
    user = arg_or_env(argc, argv, 3, "IMAP_USER", getenv("USER"));
    mailbox = arg_or_env(argc, argv, 4, "IMAP_MAILBOX", "INBOX");
    if (!user || !password) {
        fprintf(stderr, "usage: IMAP_PASSWORD=secret idle [-t SECONDS] [-n COUNT] "
                        "[HOST [PORT [USER [MAILBOX]]]]\n");
        return 1;
    }

    imap_client_init(&c, mem, sizeof mem);
    imap_client_set_clock(&c, now_ms, NULL);
    imap_client_set_timeout(&c, 30000);     /* IDLE overrides it while idling */
    rc = imap_tcp_connect(&tcp, host, port, 10000, &t);
    if (rc != IMAP_OK) return fail(&c, "connect", rc);
    rc = imap_client_open(&c, &t);
    if (rc != IMAP_OK) return fail(&c, "greeting", rc);
    if (c.state == IMAP_STATE_NONAUTH) {
        rc = imap_login(&c, user, password, NULL);
        if (rc != IMAP_OK) return fail(&c, "login", rc);
    }
    /* capabilities may change at login; the client asked again */
    if (!imap_client_has_cap(&c, "IDLE")) return fail(&c, "IDLE", IMAP_E_CAPABILITY);
    rc = imap_examine(&c, mailbox, NULL);
    if (rc != IMAP_OK) return fail(&c, mailbox, rc);
    seen = c.exists;
    printf("Waiting for new mail in %s (%llu messages now)\n", mailbox, (unsigned long long)seen);
    fflush(stdout);

    deadline = seconds > 0 ? now_ms(NULL) + seconds * 1000LL : 0;
    while (count == 0 || shown < count) {
        long timeout = 29L * 60 * 1000;     /* RFC 2177: renew every 29 min */
        if (c.exists > seen) {
            /* new mail (also what came during the last FETCH: an IDLE
               started now would not report it) */
            imap_u64 top = c.exists;
            char set[48];
            imap_call call;
            memset(&call, 0, sizeof call);
            call.on_data = on_envelope;
            call.arg = &shown;
            sprintf(set, "%llu:%llu", (unsigned long long)seen + 1, (unsigned long long)top);
            rc = imap_fetch(&c, set, "(ENVELOPE)", &call);
            if (rc != IMAP_OK) return fail(&c, "fetch", rc);
            seen = top;
            continue;
        }
        seen = c.exists;                    /* an EXPUNGE lowers it */
        if (deadline) {
            long long left = deadline - now_ms(NULL);
            if (left <= 0) break;
            if (left < timeout) timeout = (long)left;
        }
        rc = imap_idle(&c, timeout, NULL);
        if (rc != IMAP_OK) return fail(&c, "idle", rc);
    }
    imap_logout(&c, NULL);
    imap_client_close(&c);
    return 0;
}
