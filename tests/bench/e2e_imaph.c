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

typedef struct stats {
    unsigned long long responses, tagged_ok, errors, nomem;
    unsigned long long fetches, attrs, envelopes, addrs, groups, parts, params;
    unsigned long long mailboxes, flags, statuses, numbers, literal_bytes, sunk_bytes;
    unsigned long long check;
    int last_error;
} stats;

#define BODY_STACK 64
#define MAX_INFLIGHT 30         /* under IMAP_MAX_PENDING (32) */
#define MEM_BYTES (1u << 20)

static void walk_params(const imap_value *list, stats *st)
{
    const imap_value *cur = list;
    imap_str n, v;
    while (imap_param_next(&cur, &n, &v) == 1) {
        st->params++;
        st->check += n.len + v.len;
    }
}

static void walk_addresses(const imap_value *list, stats *st)
{
    const imap_value *cur = list;
    imap_address a;
    int rc;
    while ((rc = imap_address_next(&cur, &a)) == 1) {
        st->addrs++;
        st->groups += (unsigned)a.group_start;
        st->check += a.name.len + a.mailbox.len + a.host.len;
    }
    if (rc < 0) st->errors++;
}

static void walk_envelope(const imap_value *v, stats *st)
{
    imap_envelope e;
    if (imap_envelope_decode(v, &e) != 0) {
        st->errors++;
        return;
    }
    st->envelopes++;
    st->check += e.date.len + e.subject.len + e.message_id.len + e.in_reply_to.len;
    walk_addresses(e.from, st);
    walk_addresses(e.sender, st);
    walk_addresses(e.reply_to, st);
    walk_addresses(e.to, st);
    walk_addresses(e.cc, st);
    walk_addresses(e.bcc, st);
}

/* BODYSTRUCTURE: an explicit stack of parts still to decode, no recursion. */
static void walk_body(const imap_value *root, stats *st)
{
    const imap_value *stack[BODY_STACK];
    int sp = 0;
    stack[sp++] = root;
    while (sp > 0) {
        imap_body b;
        const imap_value *c;
        if (imap_body_decode(stack[--sp], &b) != 0) {
            st->errors++;
            continue;
        }
        st->parts++;
        st->check += b.type.len + b.subtype.len + b.encoding.len + b.size + b.lines;
        walk_params(b.params, st);
        walk_params(b.disposition_params, st);
        if (b.multipart) {
            for (c = b.parts; c && c->type == IMAP_LIST; c = c->next) {
                if (sp == BODY_STACK) { st->errors++; break; }
                stack[sp++] = c;
            }
        } else if (b.body) {
            walk_envelope(b.envelope, st);
            if (sp < BODY_STACK) stack[sp++] = b.body;
        }
    }
}

static void on_data(void *arg, imap_client *c, const imap_response *r)
{
    stats *st = (stats *)arg;
    imap_fetch_iter it;
    imap_fetch_attr a;
    int rc;
    (void)c;
    st->responses++;
    if (!imap_response_is(r, "FETCH")) return;
    if (imap_fetch_begin(r, &it) != 0) { st->errors++; return; }
    st->fetches++;
    while ((rc = imap_fetch_next(&it, &a)) == 1) {
        const imap_value *v = a.value;
        imap_u64 n;
        imap_str s;
        st->attrs++;
        if (imap_str_is(a.name, "UID") || imap_str_is(a.name, "RFC822.SIZE")) {
            if (imap_value_u64(v, &n) == 0) st->check += n;
            else st->errors++;
        } else if (imap_str_is(a.name, "FLAGS")) {
            const imap_value *f;
            for (f = v->child; f; f = f->next) st->flags++;
        } else if (imap_str_is(a.name, "ENVELOPE")) {
            walk_envelope(v, st);
        } else if (imap_str_is(a.name, "BODYSTRUCTURE")) {
            walk_body(v, st);
        } else if (imap_value_str(v, &s) == 0) {
            if ((v->flags & (IMAP_VF_LITERAL | IMAP_VF_SUNK)) == IMAP_VF_LITERAL)
                st->literal_bytes += s.len;
        }
    }
    if (rc < 0) st->errors++;
}

static void on_done(void *arg, imap_client *c, int result, const imap_response *tagged)
{
    stats *st = (stats *)arg;
    (void)c; (void)tagged;
    if (result == IMAP_OK) st->tagged_ok++;
    else { st->errors++; st->last_error = result; }
}

static int sink(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    stats *st = (stats *)ctx;
    (void)data;
    st->sunk_bytes += len;
    st->check += info->offset;
    return 0;
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
