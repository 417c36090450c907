/* e2e_imaph - imap.h against a live server (issue 6, e2e.sh).

   Usage: e2e_imaph HOST PORT USER PASS MAILBOX meta|bodies INFLIGHT
   Logs in, EXAMINEs MAILBOX, then times UID FETCH of every message split
   into INFLIGHT ranges sent at once (pipelined; 1 = one command), every
   response decoded through the typed views (ENVELOPE, BODYSTRUCTURE with
   all parts and parameters); BODY[] literals go through the parser's sink.
   Prints "result key=value ..." with wall and CPU (user+sys) seconds of
   the FETCH phase. Password from argv: a test account only. */
#include "bench_common.h"
#include <sys/resource.h>
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include "bench_walk.h"         /* the decode walk bench_imaph.c times too */

#define MAX_INFLIGHT 30         /* under IMAP_MAX_PENDING (32) */
#define MEM_BYTES (1u << 20)

static void on_data(void *arg, imap_client *c, const imap_response *r)
{
    stats *st = (stats *)arg;
    (void)c;
    st->responses++;
    if (imap_response_is(r, "FETCH")) walk_fetch(r, st);
}

static void on_done(void *arg, imap_client *c, int result, const imap_response *tagged)
{
    stats *st = (stats *)arg;
    (void)c; (void)tagged;
    if (result == IMAP_OK) st->tagged_ok++;
    else { st->errors++; st->last_error = result; }
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int die(imap_client *c, const char *what, int rc)
{
    fprintf(stderr, "e2e_imaph: %s: %s %s\n", what, imap_result_str(rc), c->last_text);
    return 1;
}

int main(int argc, char **argv)
{
    static imap_client c;
    static stats st;
    imap_tcp tcp;
    imap_transport t;
    imap_call call;
    const char *parts;
    char sets[MAX_INFLIGHT][48];
    unsigned long n, per, lo;
    int k, i, rc, bodies;
    double w0, c0, wall, cpu;
    unsigned char *mem = (unsigned char *)malloc(MEM_BYTES);

    if (argc != 8 || !mem) {
        fprintf(stderr, "usage: e2e_imaph HOST PORT USER PASS MAILBOX meta|bodies INFLIGHT\n");
        return 2;
    }
    bodies = strcmp(argv[6], "bodies") == 0;
    parts = bodies ? "(UID BODY.PEEK[])" : "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)";
    k = atoi(argv[7]);
    if (k < 1) k = 1;
    if (k > MAX_INFLIGHT) k = MAX_INFLIGHT;

    imap_client_init(&c, mem, MEM_BYTES);
    imap_parser_set_sink(imap_client_parser(&c), 16384, sink, &st);
    if ((rc = imap_tcp_connect(&tcp, argv[1], (unsigned)atoi(argv[2]), 10000, &t)) != IMAP_OK)
        return die(&c, "connect", rc);
    if ((rc = imap_client_open(&c, &t)) != IMAP_OK) return die(&c, "open", rc);
    if ((rc = imap_login(&c, argv[3], argv[4], NULL)) != IMAP_OK) return die(&c, "login", rc);
    if ((rc = imap_examine(&c, argv[5], NULL)) != IMAP_OK) return die(&c, "examine", rc);
    n = (unsigned long)c.exists;
    if (n == 0) return die(&c, "empty mailbox", 0);
    if ((unsigned long)k > n) k = (int)n;
    per = (n + (unsigned long)k - 1) / (unsigned long)k;

    call.on_data = on_data;
    call.on_done = on_done;
    call.arg = &st;
    w0 = bench_now();
    c0 = cpu_now();
    /* fresh mailbox: UIDs are 1..n; the last range ends in * */
    for (i = 0, lo = 1; i < k; i++, lo += per) {
        const char *args[2];
        if (i == k - 1) snprintf(sets[i], sizeof sets[i], "%lu:*", lo);
        else snprintf(sets[i], sizeof sets[i], "%lu:%lu", lo, lo + per - 1);
        args[0] = sets[i];
        args[1] = parts;
        if ((rc = imap_uid(&c, "FETCH", args, 2, &call)) != IMAP_OK) return die(&c, "uid fetch", rc);
    }
    if ((rc = imap_client_wait_all(&c)) != IMAP_OK) return die(&c, "wait_all", rc);
    wall = bench_now() - w0;
    cpu = cpu_now() - c0;
    imap_logout(&c, NULL);
    imap_client_close(&c);

    printf("result client=imaph%s test=%s inflight=%d wall=%.4f cpu=%.4f messages=%llu "
           "envelopes=%llu parts=%llu addrs=%llu sunk_bytes=%llu literal_bytes=%llu "
           "tagged_ok=%llu errors=%llu high_water=%lu check=%llu\n",
           k > 1 ? "-pipelined" : "-1cmd", argv[6], k, wall, cpu, st.fetches, st.envelopes,
           st.parts, st.addrs, st.sunk_bytes, st.literal_bytes, st.tagged_ok, st.errors,
           (unsigned long)imap_parser_high_water(imap_client_parser(&c)), st.check);
    free(mem);
    return st.errors || st.tagged_ok != (unsigned long long)k;
}
