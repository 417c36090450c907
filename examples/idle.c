/* idle - a long-running new-mail notifier that survives a dropped
   connection: IDLE (RFC 2177), QRESYNC/CONDSTORE (RFC 7162) to catch up,
   and reconnect with backoff.

   Build:  cc -O2 -I. examples/idle.c -o idle
   Usage:  IMAP_PASSWORD=secret ./idle [-t SECONDS] [-n COUNT]
                                       [HOST [PORT [USER [MAILBOX]]]]
           Defaults: $IMAP_HOST or localhost, $IMAP_PORT or 143, $IMAP_USER
           or $USER, $IMAP_MAILBOX or INBOX. Runs until Ctrl-C, or for
           SECONDS, or until COUNT new messages were shown.

   The pattern (imap.h 9d), which loses no message whatever breaks:
     - keep an imap_sync_state: UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT. It
       starts as STATUS says now, so only mail from here on is news;
     - loop on imap_watch_step: it reconnects when the connection is gone
       (imap_client_reconnect: backoff 1 s doubling to 60 s, connect() logs
       in), re-selects with QRESYNC from the state (what arrived while we
       were away is reported then), hands the new state to on_synced, and
       IDLEs until the server reports a change;
     - a message is new when on_message says is_new (its UID is at or
       above the UIDNEXT of the last complete sync), so a sync cut short
       by a drop is simply done again and nothing is shown twice.
   Each new message's ENVELOPE is fetched by UID and its From printed. */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <signal.h>
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

typedef struct app {
    const char *host, *user, *password, *mailbox;
    unsigned port;
    imap_tcp tcp;
    imap_transport t;
    imap_u64 fresh[64];             /* new UIDs of this round */
    unsigned nfresh, more;
    long shown;
    int connected_once;
} app;

/* imap_client_reconnect's connect(): a fresh TCP connection, logged in. */
static int connect_and_login(void *arg, imap_client *c)
{
    app *a = (app *)arg;
    int rc = imap_tcp_connect(&a->tcp, a->host, a->port, 10000, &a->t);
    if (rc != IMAP_OK) {
        fprintf(stderr, "idle: connect to %s port %u: %s\n", a->host, a->port, imap_result_str(rc));
        return rc;
    }
    rc = imap_client_open(c, &a->t);
    if (rc == IMAP_OK && c->state == IMAP_STATE_NONAUTH)
        rc = imap_login(c, a->user, a->password, NULL);
    if (rc != IMAP_OK)
        fprintf(stderr, "idle: %s: %s%s%s\n", a->connected_once ? "reconnect" : "login",
                imap_result_str(rc), c->last_text[0] ? ": " : "", c->last_text);
    else if (a->connected_once)
        fprintf(stderr, "idle: reconnected to %s\n", a->host);
    return rc;
}

static void on_message(void *arg, imap_u64 uid, const imap_value *flags, int is_new)
{
    app *a = (app *)arg;
    unsigned i;
    (void)flags;
    if (!is_new) return;                    /* a flag change */
    for (i = 0; i < a->nfresh; i++)
        if (a->fresh[i] == uid) return;     /* reported twice in one sync */
    if (a->nfresh < sizeof a->fresh / sizeof a->fresh[0]) a->fresh[a->nfresh++] = uid;
    else a->more++;
}

/* "* n FETCH (UID u ENVELOPE (...))" */
static void on_envelope(void *arg, imap_client *c, const imap_response *r)
{
    app *a = (app *)arg;
    const imap_value *v = imap_fetch_get(r, "ENVELOPE"), *u = imap_fetch_get(r, "UID");
    const imap_value *cur;
    imap_envelope env;
    imap_address ad;
    imap_u64 uid = 0;
    int n = 0;
    (void)c;
    if (!v || !u || imap_value_u64(u, &uid) != 0 || imap_envelope_decode(v, &env) != 0) return;
    printf("New message %llu from ", (unsigned long long)uid);
    cur = env.from;
    while (imap_address_next(&cur, &ad) == 1) {
        if (ad.group_start || ad.group_end) continue;      /* RFC 2822 groups */
        if (n++) fputs(", ", stdout);
        if (ad.name.len) {
            print_str(ad.name);
            fputs(" <", stdout);
        }
        print_str(ad.mailbox);
        putchar('@');
        print_str(ad.host);
        if (ad.name.len) putchar('>');
    }
    if (n == 0) fputs("(nobody)", stdout);
    fputs(": ", stdout);
    print_str(env.subject);
    putchar('\n');
    fflush(stdout);
    a->shown++;
}

static imap_client c;
static app the_app;

/* The sync is complete: show what came. (The state itself lives in the
   caller's imap_sync_state; a notifier has nothing to store on disk.) */
static long count_limit;

static int on_synced(void *arg, const imap_sync_state *st)
{
    app *a = (app *)arg;
    char set[64 * 12];
    imap_seqset ss;
    imap_call call;
    const char *args[2];
    (void)st;
    if (a->more) printf("(%u more new messages)\n", a->more);
    if (a->nfresh) {
        imap_seqset_init(&ss, set, sizeof set);
        imap_seqset_compress(&ss, a->fresh, a->nfresh);
        memset(&call, 0, sizeof call);
        call.on_data = on_envelope;
        call.arg = a;
        args[0] = set;
        args[1] = "(UID ENVELOPE)";
        imap_uid(&c, "FETCH", args, 2, &call);      /* a failure shows next round */
    }
    a->nfresh = a->more = 0;
    return count_limit && a->shown >= count_limit;     /* enough: no IDLE */
}

static void on_status(void *arg, imap_client *cl, const imap_response *r)
{
    (void)cl;
    imap_status_decode(r, (imap_status_info *)arg);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    static unsigned char mem[256 * 1024];
    app *a = &the_app;
    imap_reconnect rec;
    imap_sync sync;
    imap_sync_state st;
    imap_status_info si;
    imap_call call;
    struct sigaction sa;
    long seconds = 0, count = 0;
    long long deadline;
    int rc, i = 1;

    while (i + 1 < argc && (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "-n") == 0)) {
        if (argv[i][1] == 't') seconds = atol(argv[i + 1]);
        else count = atol(argv[i + 1]);
        i += 2;
    }
    argc -= i - 1;
    argv += i - 1;
    a->host = arg_or_env(argc, argv, 1, "IMAP_HOST", "localhost");
    a->port = (unsigned)atoi(arg_or_env(argc, argv, 2, "IMAP_PORT", "143"));
    a->user = arg_or_env(argc, argv, 3, "IMAP_USER", getenv("USER"));
    a->mailbox = arg_or_env(argc, argv, 4, "IMAP_MAILBOX", "INBOX");
    a->password = getenv("IMAP_PASSWORD");
    if (!a->user || !a->password) {
        fprintf(stderr, "usage: IMAP_PASSWORD=secret idle [-t SECONDS] [-n COUNT] "
                        "[HOST [PORT [USER [MAILBOX]]]]\n");
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    imap_client_init(&c, mem, sizeof mem);
    imap_client_set_clock(&c, now_ms, NULL);
    imap_client_set_timeout(&c, 30000);     /* IDLE overrides it while idling */
    memset(&rec, 0, sizeof rec);
    rec.connect = connect_and_login;
    rec.arg = a;
    rec.min_ms = 1000;
    rec.max_ms = 60000;

    /* the first connection: a wrong password ends here, not in a loop */
    rec.max_tries = 1;
    rc = imap_client_reconnect(&c, mem, sizeof mem, &rec);
    if (rc != IMAP_OK) return 1;
    rec.max_tries = 0;                      /* from now on: retry for ever */
    a->connected_once = 1;
    if (!imap_client_has_cap(&c, "IDLE")) fprintf(stderr, "idle: no IDLE: polling with NOOP\n");
    /* start from now: STATUS tells the mailbox's present state */
    memset(&si, 0, sizeof si);
    memset(&call, 0, sizeof call);
    call.on_data = on_status;
    call.arg = &si;
    rc = imap_status(&c, a->mailbox, imap_client_has_cap(&c, "CONDSTORE") ?
                     "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)" :
                     "(MESSAGES UIDNEXT UIDVALIDITY)", &call);
    if (rc != IMAP_OK || !(si.has & IMAP_ST_UIDVALIDITY)) {
        fprintf(stderr, "idle: %s: %s %s\n", a->mailbox, imap_result_str(rc), c.last_text);
        return 1;
    }
    memset(&st, 0, sizeof st);
    st.uidvalidity = si.uidvalidity;
    st.uidnext = si.uidnext;
    st.highestmodseq = si.highestmodseq;    /* 0 without CONDSTORE */
    printf("Waiting for new mail in %s (%llu messages now)\n", a->mailbox,
           (unsigned long long)si.messages);
    fflush(stdout);

    memset(&sync, 0, sizeof sync);
    sync.mailbox = a->mailbox;
    sync.readonly = 1;
    sync.on_message = on_message;
    sync.arg = a;
    count_limit = count;
    deadline = seconds > 0 ? now_ms(NULL) + seconds * 1000LL : 0;
    while (!stop && (count == 0 || a->shown < count)) {
        long slice = 29L * 60 * 1000;       /* RFC 2177: renew every 29 min */
        if (deadline) {
            long long left = deadline - now_ms(NULL);
            if (left <= 0) break;
            if (left < slice) slice = (long)left;
        }
        rc = imap_watch_step(&c, mem, sizeof mem, &rec, &sync, &st, slice, on_synced);
        if (rc != IMAP_OK && imap_result_class_of(rc) == IMAP_CLASS_ABORT) {
            /* the next step reconnects (with backoff) and catches up */
            fprintf(stderr, "idle: connection lost (%s); reconnecting\n", imap_result_str(rc));
        } else if (rc != IMAP_OK) {
            fprintf(stderr, "idle: %s%s%s\n", imap_result_str(rc), c.last_text[0] ? ": " : "",
                    c.last_text);
            return 1;
        }
    }
    if (!c.error) imap_logout(&c, NULL);
    imap_client_close(&c);
    return 0;
}
