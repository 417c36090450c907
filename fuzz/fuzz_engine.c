/* libFuzzer / AFL++ target for the protocol engine (section 7), driven
   sans-I/O by a hostile server while a fixed script of commands runs.

   Build (libFuzzer):
     clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_engine.c -o fuzz_engine
   Build (AFL++):
     afl-clang-fast -g -O1 -fsanitize=fuzzer -I. fuzz/fuzz_engine.c -o fuzz_engine_afl
   Replay files without libFuzzer:
     cc -g -I. fuzz/fuzz_engine.c fuzz/main.c -o fuzz_engine_replay

   Input: byte 0 sizes the client's memory (4 KiB .. 64 KiB, so the
   out-of-room paths run), byte 1 the literal sink threshold (< 128: no
   sink), byte 2 where STARTTLS goes in the script, byte 3 seeds the
   chunking of server bytes, of output acknowledgements and the moments
   commands are submitted. The rest is the server's byte stream, in which
   0x01 k stands for the tag of script command k (k mod the script
   length), so tagged responses are in the fuzzer's reach; 0x02 submits
   the next command of the script there (they also go at random moments,
   and all by the end) and 0x03 sends all output there (else output goes
   in random amounts), so a server that answers what it has read is in
   reach too.

   The script (all asynchronous, with on_done): CAPABILITY, AUTHENTICATE
   with a continuation loop, LOGIN, SELECT, three pipelined FETCHes,
   APPEND with a literal (synchronizing unless the server says LITERAL+),
   SEARCH, EXAMINE while those are pending, STATUS, IDLE and a NOOP behind
   it (which sends DONE), LIST, an extension command, LOGOUT; STARTTLS
   goes in at a place byte 2 picks.

   Invariants checked after every step (abort() on a violation):
   - on_done runs exactly once per queued command; a tagged result
     carries that command's own tag; an abort-class result equals the
     sticky c->error; pending() == queued - completed, <= MAX_PENDING;
   - state is a valid imap_state; once error is set it never changes,
     state is LOGOUT, nothing is pending and nothing more is output;
   - the output is exactly each queued command's segments, whole and in
     queue order, with only DONE, "*" or the auth function's base64
     answers between them; every command line frames as a server reads
     it (CR LF only at its end or after a literal header, followed by
     that many literal bytes); the bytes after a synchronizing literal
     header, each DONE and each SASL answer each need a "+" the server
     sent (counted by a second parser fed exactly the bytes the engine
     consumed);
   - untagged data reaches on_data only of a command already sent;
   - after STARTTLS's tagged OK, the engine takes no more server bytes
     and writes nothing (the transport is about to change). */
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdlib.h>
#include <string.h>
#ifdef FZ_DEBUG
#include <stdio.h>
#endif

#define FZ_CHECK(x) do { if (!(x)) abort(); } while (0)

enum {
    S_CAPABILITY, S_AUTHENTICATE, S_LOGIN, S_SELECT, S_FETCH1, S_FETCH2,
    S_UIDFETCH, S_APPEND, S_SEARCH, S_EXAMINE, S_STATUS, S_IDLE, S_NOOP,
    S_LIST, S_XATOM, S_LOGOUT, S_STARTTLS, NSCRIPT
};

#define CMD_BYTES 1024
#define FIFO 8

typedef struct fz_cmd {
    int queued, done, result, is_tagged;
    char tag[16];
    unsigned char bytes[CMD_BYTES];
    size_t len;
    size_t waits[IMAP_CMD_MAX_SEGMENTS]; /* offsets where a "+" is needed */
    unsigned nwaits, next_wait;
    size_t sent;                          /* bytes the engine handed out */
    int done_sent;                        /* IDLE: DONE went out */
} fz_cmd;

static struct fz {
    fz_cmd cmd[NSCRIPT];
    int order[NSCRIPT];          /* script index in queue order */
    int nqueued, ndone, cur;     /* cur: index in order[] being sent */
    int first_error;
    unsigned long conts, conts_used;   /* "+" seen, "+" consumed */
    char fifo[FIFO][1500];       /* base64 answers the engine will send */
    size_t fifo_len[FIFO];
    int fifo_head, fifo_n;
    const char *inj;             /* injection line being matched */
    size_t inj_len, inj_off;
    int auth_rounds, in_submit;
    int tls_ok;
    unsigned rng;
} F;

static imap_client cl;
static imap_parser shadow;
static unsigned char mem[1 << 16], smem[1 << 16];

static unsigned rnd(void)
{
    F.rng = F.rng * 1103515245u + 12345u;
    return F.rng >> 16;
}

static const char msg[] = "From: a@b\r\nSubject: fuzz\r\n\r\nline one\r\n.\r\n";

static int fz_sink(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    (void)ctx;
    (void)data;
    FZ_CHECK(info->offset + len <= info->total);
    return 0;
}

/* The authobject: answers "z" + the challenge for two rounds, then
   cancels. The answers start with 'z' so their base64 (starting 'e')
   can never be taken for a tag ('B...') or DONE. */
static int fz_auth(void *arg, const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    size_t n = len < 40 ? len : 40;
    (void)arg;
    if (!ch) return 0;          /* the final word on a tagged OK: accept */
    if (F.in_submit) {
        if (cap < 3) return -1;
        memcpy(out, "zIR", 3);
        return 3;
    }
    if (F.auth_rounds++ >= 2) {
        return -1;              /* the engine sends "*"; no FIFO entry */
    }
    FZ_CHECK(cap >= n + 1);
    out[0] = 'z';
    memmove(out + 1, ch, n);
    if (F.fifo_n < FIFO) {
        int slot = (F.fifo_head + F.fifo_n) % FIFO;
        long k = imap_base64_encode(out, n + 1, F.fifo[slot], sizeof F.fifo[slot] - 2);
        FZ_CHECK(k > 0);
        memcpy(F.fifo[slot] + k, "\r\n", 2);
        F.fifo_len[slot] = (size_t)k + 2;
        F.fifo_n++;
    }
    return (int)(n + 1);
}

static int index_of(void *arg)
{
    fz_cmd *p = (fz_cmd *)arg;
    int i = (int)(p - F.cmd);
    FZ_CHECK(i >= 0 && i < NSCRIPT);
    return i;
}

static void on_done(void *arg, imap_client *c, int result, const imap_response *tagged)
{
    int i = index_of(arg);
    fz_cmd *p = &F.cmd[i];
    FZ_CHECK(p->queued && !p->done);
    p->done = 1;
    p->result = result;
    F.ndone++;
    if (tagged || result != c->error) {
        /* answered: only once all of it went out, or at a synchronizing
           literal's wait (the server may refuse the literal) */
        FZ_CHECK(p->sent == p->len ||
                 (p->next_wait < p->nwaits && p->sent == p->waits[p->next_wait]));
    }
    if (tagged) {
        FZ_CHECK(tagged->kind == IMAP_RESP_TAGGED);
        FZ_CHECK(tagged->tag.len == strlen(p->tag) && memcmp(tagged->tag.ptr, p->tag, tagged->tag.len) == 0);
        FZ_CHECK(result == IMAP_OK || result == IMAP_E_NO || result == IMAP_E_BAD ||
                 result == IMAP_E_READONLY ||
                 /* a cancelled or unproven AUTHENTICATE (section 9b) */
                 (i == S_AUTHENTICATE && result == IMAP_E_AUTH) ||
                 /* OK, but a response of its own was rejected */
                 (tagged->status == IMAP_STATUS_OK &&
                  (result == IMAP_E_NOMEM || result == IMAP_E_LIMIT ||
                   result == IMAP_E_SYNTAX || result == IMAP_E_SINK ||
                   /* its data did not fit the per-name store */
                   result == IMAP_E_DROPPED)));
        FZ_CHECK(p->sent > 0);
        if (i == S_STARTTLS && result == IMAP_OK) F.tls_ok = 1;
    }
    if (i == S_AUTHENTICATE) F.fifo_n = 0;   /* answers not begun are dropped */
    if (!tagged) {
        if (imap_result_class_of(result) == IMAP_CLASS_ABORT)
            FZ_CHECK(c->error == result);
        else    /* a tagged response the parser rejected */
            FZ_CHECK(result < 0 && result != IMAP_E_NO && result != IMAP_E_BAD);
    }
}

static void on_data(void *arg, imap_client *c, const imap_response *r)
{
    int i = index_of(arg);
    imap_fetch_iter it;
    imap_fetch_attr a;
    (void)c;
    FZ_CHECK(r && r->kind == IMAP_RESP_UNTAGGED);
    FZ_CHECK(F.cmd[i].queued && !F.cmd[i].done && F.cmd[i].sent > 0);
    if (imap_fetch_begin(r, &it) == 0)
        while (imap_fetch_next(&it, &a) == 1) {}
}

/* STARTTLS has no public call before the TLS layer (9c) lands. */
static int fz_starttls(imap_client *c, const imap_call *call)
{
    IMAP__COMMAND(c, call, IMAP__K_STARTTLS, NULL, imap_cmd_starttls(&cmd_, tag_));
}

/* A command line as a server frames it: CR LF only at the end of a line,
   a line ending in {n} or {n+} followed by exactly n literal bytes. */
static void check_frame(const fz_cmd *p)
{
    size_t i = 0, line = 0;
    FZ_CHECK(p->len >= 2);
    while (i < p->len) {
        unsigned char ch = p->bytes[i];
        if (ch == '\n') FZ_CHECK(0);
        if (ch != '\r') {
            FZ_CHECK(ch != 0);
            i++;
            continue;
        }
        FZ_CHECK(i + 1 < p->len && p->bytes[i + 1] == '\n');
        {
            size_t e = i, d;
            imap_u64 n = 0;
            i += 2;
            if (e > line && p->bytes[e - 1] == '}') {
                e--;
                if (e > line && p->bytes[e - 1] == '+') e--;
                d = e;
                while (d > line && p->bytes[d - 1] >= '0' && p->bytes[d - 1] <= '9') d--;
                if (d < e && d > line && p->bytes[d - 1] == '{') {
                    for (; d < e; d++) n = n * 10 + (imap_u64)(p->bytes[d] - '0');
                    FZ_CHECK(n <= p->len - i);
                    i += (size_t)n;
                    FZ_CHECK(i < p->len);   /* the line goes on after it */
                }
            }
            line = i;
        }
    }
    FZ_CHECK(line == p->len);   /* ends in CR LF */
}

static void submit(int s)
{
    imap_call call;
    fz_cmd *p = &F.cmd[s];
    int rc = 0;
    unsigned i;
    unsigned long before = cl._seq;
    memset(&call, 0, sizeof call);
    call.on_done = on_done;
    call.on_data = on_data;
    call.arg = p;
    F.in_submit = 1;
    switch (s) {
    case S_CAPABILITY: rc = imap_capability(&cl, &call); break;
    case S_AUTHENTICATE: rc = imap_authenticate(&cl, "X-FUZZ", fz_auth, NULL, &call); break;
    case S_LOGIN: rc = imap_login(&cl, "user", "pass \"word\"", &call); break;
    case S_SELECT: rc = imap_select(&cl, "INBOX", 0, &call); break;
    case S_FETCH1: rc = imap_fetch(&cl, "1:*", "(FLAGS UID)", &call); break;
    case S_FETCH2: rc = imap_fetch(&cl, "1", "(BODY.PEEK[] ENVELOPE)", &call); break;
    case S_UIDFETCH: {
        const char *args[] = { "1:5", "(BODYSTRUCTURE)" };
        rc = imap_uid(&cl, "FETCH", args, 2, &call);
        break;
    }
    case S_APPEND:
        rc = imap_append(&cl, "Drafts", "(\\Seen)", NULL, msg, sizeof msg - 1, &call);
        break;
    case S_SEARCH: {
        const char *crit[] = { "UNSEEN", "SUBJECT", "caf\xc3\xa9" };
        rc = imap_search(&cl, "UTF-8", crit, 3, &call);
        break;
    }
    case S_EXAMINE: rc = imap_examine(&cl, "Archive/2024", &call); break;
    case S_STATUS: rc = imap_status(&cl, "INBOX", "(MESSAGES UNSEEN)", &call); break;
    case S_IDLE: rc = imap_idle(&cl, 0, &call); break;
    case S_NOOP: rc = imap_noop(&cl, &call); break;
    case S_LIST: rc = imap_list(&cl, NULL, "*", &call); break;
    case S_XATOM: {
        const char *args[] = { "a b", "(X)" };
        rc = imap_xatom(&cl, "XFUZZ", args, 2, &call);
        break;
    }
    case S_LOGOUT: rc = imap_logout(&cl, &call); break;
    case S_STARTTLS: rc = fz_starttls(&cl, &call); break;
    default: abort();
    }
    F.in_submit = 0;
    if (rc != IMAP_OK) {
        FZ_CHECK(rc < 0 && cl._seq == before);
        FZ_CHECK(!p->done);
        return;
    }
    FZ_CHECK(cl._seq == before + 1);
    p->queued = 1;
    F.order[F.nqueued++] = s;
    if (p->done) return;        /* finished at once: only by an abort */
    for (i = 0; i < IMAP_MAX_PENDING; i++)
        if (cl._q[i].seq == cl._seq) break;
    FZ_CHECK(i < IMAP_MAX_PENDING);
    {
        const imap__pending *q = &cl._q[i];
        unsigned k;
        memcpy(p->tag, q->tag, sizeof p->tag);
        FZ_CHECK(q->call.arg == p);
        for (k = 0; k < q->nseg; k++) {
            FZ_CHECK(p->len + q->seg[k].len <= CMD_BYTES);
            memcpy(p->bytes + p->len, q->seg[k].ptr, q->seg[k].len);
            p->len += q->seg[k].len;
            if (q->seg[k].wait) p->waits[p->nwaits++] = p->len;
        }
        FZ_CHECK(p->len > strlen(p->tag) && memcmp(p->bytes, p->tag, strlen(p->tag)) == 0 &&
                 p->bytes[strlen(p->tag)] == ' ');
        check_frame(p);
    }
}

static int pending_kind(int s)
{
    /* sent whole and waiting for its tagged response */
    const fz_cmd *p = &F.cmd[s];
    return p->queued && !p->done && p->sent == p->len;
}

/* Match the engine's output bytes against the model; see the top. */
static void verify_output(const unsigned char *b, size_t n)
{
    while (n) {
        if (F.inj) {
            FZ_CHECK(b[0] == (unsigned char)F.inj[F.inj_off]);
            F.inj_off++;
            b++;
            n--;
            if (F.inj_off == F.inj_len) F.inj = NULL;
            continue;
        }
        /* commands that finished before their last byte went out (an
           abort, or a tagged answer instead of "+") never send the rest */
        while (F.cur < F.nqueued && F.cmd[F.order[F.cur]].done &&
               F.cmd[F.order[F.cur]].sent < F.cmd[F.order[F.cur]].len)
            F.cur++;
        if (F.cur < F.nqueued && (F.cmd[F.order[F.cur]].sent > 0 || b[0] == 'B')) {
            fz_cmd *p = &F.cmd[F.order[F.cur]];
            if (p->next_wait < p->nwaits && p->sent == p->waits[p->next_wait]) {
                /* literal data after a synchronizing header: needs a "+" */
                FZ_CHECK(F.conts_used < F.conts);
                F.conts_used++;
                p->next_wait++;
            }
            FZ_CHECK(b[0] == p->bytes[p->sent]);
            p->sent++;
            b++;
            n--;
            if (p->sent == p->len) F.cur++;
            continue;
        }
        /* between commands: an injected line */
        FZ_CHECK(F.conts_used < F.conts);
        F.conts_used++;
        if (b[0] == 'D') {
            FZ_CHECK(pending_kind(S_IDLE) && !F.cmd[S_IDLE].done_sent);
            F.cmd[S_IDLE].done_sent = 1;
            F.inj = "DONE\r\n";
            F.inj_len = 6;
        } else if (b[0] == '*') {
            FZ_CHECK(pending_kind(S_AUTHENTICATE));
            F.inj = "*\r\n";
            F.inj_len = 3;
        } else {
            FZ_CHECK(pending_kind(S_AUTHENTICATE) && F.fifo_n > 0);
            F.inj = F.fifo[F.fifo_head];
            F.inj_len = F.fifo_len[F.fifo_head];
            F.fifo_head = (F.fifo_head + 1) % FIFO;
            F.fifo_n--;
        }
        F.inj_off = 0;
    }
}

static void check_invariants(void)
{
    unsigned pend = imap_client_pending(&cl);
    FZ_CHECK(cl.state >= IMAP_STATE_NONAUTH && cl.state <= IMAP_STATE_LOGOUT);
    FZ_CHECK(pend <= IMAP_MAX_PENDING);
    FZ_CHECK((int)pend == F.nqueued - F.ndone);
    FZ_CHECK(cl._out_len <= cl._out_cap);
    FZ_CHECK(cl._inject_off <= cl._inject_len && cl._inject_len <= sizeof cl._inject);
    FZ_CHECK(cl._store_len <= cl._store_cap);
    FZ_CHECK(cl._parser.arena.used <= cl._parser.arena.cap);
    FZ_CHECK(cl._caps_len < sizeof cl._caps);
    if (F.first_error) FZ_CHECK(cl.error == F.first_error);
    if (cl.error) {
        const unsigned char *o;
        size_t n;
        F.first_error = cl.error;
        FZ_CHECK(imap_result_class_of(cl.error) == IMAP_CLASS_ABORT || cl.error == IMAP_E_NOMEM);
        FZ_CHECK(cl.state == IMAP_STATE_LOGOUT);
        FZ_CHECK(pend == 0);
        FZ_CHECK(imap_client_output(&cl, &o, &n) == 0 && n == 0);
    }
}

/* Send what the engine offers, in acknowledgements of random size; stop
   early at random (the socket is full). */
static void drain(int all)
{
    const unsigned char *o;
    size_t n;
    int rounds = 0;
    while (rounds++ < 4096 && imap_client_output(&cl, &o, &n)) {
        size_t k;
        FZ_CHECK(n > 0 && o != NULL);
        FZ_CHECK(!F.tls_ok);    /* nothing goes out after STARTTLS's OK */
        k = (rnd() & 3) == 0 ? 1 + rnd() % n : n;
        verify_output(o, k);
        imap_client_output_ack(&cl, k);
        check_invariants();
        if (!all && (rnd() & 7) == 0) break;
    }
}

/* Expand the 0x01 k escapes of in[0..n) into out; returns its length. */
static size_t expand(const unsigned char *in, size_t n, size_t *taken, unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n && o + 20 < cap && in[i] != 0x02 && in[i] != 0x03) {
        if (in[i] == 0x01 && i + 1 < n) {
            int s = in[i + 1] % NSCRIPT;
            const char *t = F.cmd[s].tag;
            size_t tl = strlen(t);
            if (!tl) t = "BAAA", tl = 4;
            memcpy(out + o, t, tl);
            o += tl;
            i += 2;
        } else {
            out[o++] = in[i++];
        }
    }
    *taken = i;
    return o;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const int base[] = {
        S_CAPABILITY, S_AUTHENTICATE, S_LOGIN, S_SELECT, S_FETCH1, S_FETCH2,
        S_UIDFETCH, S_APPEND, S_SEARCH, S_EXAMINE, S_STATUS, S_IDLE, S_NOOP,
        S_LIST, S_XATOM, S_LOGOUT
    };
    int script[NSCRIPT], ns = 0, next = 0, k;
    size_t cap, off = 0, pcap, iter = 0;
    unsigned char chunk[512];
    if (size < 4) return 0;
    memset(&F, 0, sizeof F);
    cap = 4096 + (size_t)data[0] * 240;
    for (k = 0; k < NSCRIPT - 1; k++) {
        if (k == data[2] % NSCRIPT) script[ns++] = S_STARTTLS;
        script[ns++] = base[k];
    }
    if (ns < NSCRIPT) script[ns++] = S_STARTTLS;
    F.rng = 1u + data[3];

    imap_client_init(&cl, mem, cap);
    imap_client_seed_tags(&cl, 0);
    pcap = cl._parser.arena.cap;
    imap_parser_init(&shadow, smem, pcap);
    if (data[1] >= 128) {
        size_t th = (size_t)(data[1] - 128) * 16;
        imap_parser_set_sink(imap_client_parser(&cl), th, fz_sink, NULL);
        imap_parser_set_sink(&shadow, th, fz_sink, NULL);
    }
    FZ_CHECK(imap_client_start(&cl) == IMAP_OK);
    data += 4;
    size -= 4;

    /* bounded: every round feeds at least one input byte or submits a
       command, or the input is over */
    while (iter++ < size + 4 * NSCRIPT + 16) {
        if (next < ns && (off >= size || (rnd() & 7) == 0)) submit(script[next++]);
        check_invariants();
        drain(0);
        if (F.tls_ok) break;
        if (off >= size) {
            if (next >= ns) break;
            continue;
        }
        if (data[off] == 0x02 || data[off] == 0x03) {
            if (data[off++] == 0x02 && next < ns) submit(script[next++]);
            drain(1);
            continue;
        }
        {
            size_t want = 1 + rnd() % 200, taken, len, used = 0, soff = 0;
            if (want > size - off) want = size - off;
            len = expand(data + off, want, &taken, chunk, sizeof chunk);
            off += taken;
            imap_client_feed(&cl, chunk, len, &used);
            FZ_CHECK(used <= len);
            if (used < len) FZ_CHECK(cl.error || cl._stop_feed);
            /* the shadow parser sees exactly the bytes the engine took */
            while (soff < used) {
                size_t u = 0;
                imap_response *r;
                imap_result rc = imap_parser_feed(&shadow, chunk + soff, used - soff, &u, &r);
                soff += u;
                if (rc == IMAP_OK && r->kind == IMAP_RESP_CONTINUE) F.conts++;
                if (rc == IMAP_MORE) FZ_CHECK(soff == used);
            }
            check_invariants();
            if (F.tls_ok) {
                size_t u2 = 1;
                /* the transport changes here: no more plaintext taken */
                imap_client_feed(&cl, "* OK x\r\n", 8, &u2);
                FZ_CHECK(u2 == 0);
                drain(1);
                break;
            }
        }
    }
    check_invariants();
#ifdef FZ_DEBUG
    for (k = 0; k < F.nqueued; k++)
        fprintf(stderr, "cmd %d %s sent %zu/%zu done %d result %s\n", F.order[k],
                F.cmd[F.order[k]].tag, F.cmd[F.order[k]].sent, F.cmd[F.order[k]].len,
                F.cmd[F.order[k]].done, imap_result_name(F.cmd[F.order[k]].result));
    fprintf(stderr, "error %s state %d conts %lu used %lu tls %d done_sent %d auth_rounds %d\n",
            imap_result_name(cl.error), cl.state, F.conts, F.conts_used, F.tls_ok,
            F.cmd[S_IDLE].done_sent, F.auth_rounds);
#endif
    for (k = 0; k < F.nqueued; k++) {
        const fz_cmd *p = &F.cmd[F.order[k]];
        if (cl.error) FZ_CHECK(p->done);
        if (p->done) continue;
        FZ_CHECK(imap_client_pending(&cl) > 0);
    }
    return 0;
}
