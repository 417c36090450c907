/* Fault injection through the scripted transport (section 8a).

   Each session below is a transcript of what the integration suite does
   against Dovecot (greeting, LOGIN or AUTHENTICATE, SELECT, FETCH with
   literals, APPEND with a synchronizing literal, IDLE/DONE, pipelined
   FETCHes, LOGOUT), with Dovecot's own wording, played by the scripted
   server. Every session is replayed:
     a) with reads and writes of one byte;
     b) with would-block returns interleaved (and 1..3-byte reads);
     c) with the connection dropped at EVERY byte offset of the server's
        output (close_at);
     d) with the server stalling at every byte offset of its output, past
        the client's timeout, with a fake clock and without one.
   Each run must end in the right outcome: the calls give the results of
   a clean run until the fault, then an abort-class code, and the state
   is LOGOUT; the client never writes a byte the server did not expect
   (no desynchronisation); and a fresh connection afterwards completes
   the whole session. alarm() bounds the program: a hang fails it. The
   engine fixes the fuzzer found have their regression tests at the end.
   These sessions need no server and run everywhere, the quiet clock
   included; the integration suite's own transcripts, recorded against
   the real server, get the same four faults in tests/it_dovecot.c
   (IMAP_TEST_FAULTS=1). */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define MAXCALLS 16

typedef struct session {
    const char *name;
    const imap_script_step *steps;
    size_t nsteps;
    /* the calls after imap_client_open; results into r, returns count */
    int (*run)(imap_client *c, int *r);
    int want[MAXCALLS];      /* clean-run results, open's first */
    int nwant;
} session;

/* ---- the sessions ----------------------------------------------------- */

#define CAPS_PRE "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN"
#define CAPS_POST "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY " \
    "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL " \
    "CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE " \
    "QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE " \
    "SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE"

static const char msg1[] =
    "From: alice@example.org\r\nSubject: one\r\n\r\nHello, world.\r\n";
static const char msg2[] = "Subject: two\r\n\r\n)\r\n* BYE not really\r\n";

/* 1. LOGIN, SELECT, FETCH with literals, UID SEARCH, LOGOUT */
static const imap_script_step s_fetch[] = {
    { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY " CAPS_PRE "] Dovecot (Debian) ready.\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA0 LOGIN alice \"p@ss word\"\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY " CAPS_POST "] Logged in\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA1 SELECT INBOX\r\n", 0 },
    { IMAP_SCRIPT_REPLY,
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n"
      "* 2 EXISTS\r\n* 0 RECENT\r\n* OK [UNSEEN 2] First unseen.\r\n"
      "* OK [UIDVALIDITY 1700000000] UIDs valid\r\n* OK [UIDNEXT 3] Predicted next UID\r\n"
      "* OK [HIGHESTMODSEQ 4] Highest\r\n"
      "BAAA1 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA2 FETCH 1:2 (FLAGS BODY.PEEK[])\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* 1 FETCH (FLAGS (\\Seen) BODY[] {56}\r\n", 0 },
    { IMAP_SCRIPT_REPLY, msg1, 0 },
    { IMAP_SCRIPT_REPLY, ")\r\n* 2 FETCH (FLAGS () BODY[] {37}\r\n", 0 },
    { IMAP_SCRIPT_REPLY, msg2, 0 },
    { IMAP_SCRIPT_REPLY, ")\r\nBAAA2 OK Fetch completed (0.001 + 0.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA3 UID SEARCH UNSEEN\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* SEARCH 2\r\nBAAA3 OK Search completed (0.001 + 0.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA4 LOGOUT\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* BYE Logging out\r\nBAAA4 OK Logout completed (0.001 + 0.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_CLOSE, NULL, 0 },
};

static int run_fetch(imap_client *c, int *r)
{
    const char *crit[] = { "UNSEEN" };
    int n = 0;
    r[n++] = imap_login(c, "alice", "p@ss word", NULL);
    r[n++] = imap_select(c, NULL, 0, NULL);
    r[n++] = imap_fetch(c, "1:2", "(FLAGS BODY.PEEK[])", NULL);
    r[n++] = imap_uid(c, "SEARCH", crit, 1, NULL);
    r[n++] = imap_logout(c, NULL);
    return n;
}

/* 2. APPEND with a synchronizing literal (no LITERAL+), then NOOP */
static const imap_script_step s_append[] = {
    { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 ID IDLE AUTH=PLAIN] Dovecot ready.\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA0 LOGIN bob \"secret\"\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1 ID IDLE UIDPLUS] Logged in\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA1 APPEND Drafts (\\Draft) {56}\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "+ OK\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, msg1, 0 },
    { IMAP_SCRIPT_EXPECT, "\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "BAAA1 OK [APPENDUID 1700000000 3] Append completed (0.001 + 0.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA2 NOOP\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* 3 EXISTS\r\n* 1 RECENT\r\nBAAA2 OK NOOP completed (0.001 + 0.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA3 LOGOUT\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* BYE Logging out\r\nBAAA3 OK Logout completed.\r\n", 0 },
    { IMAP_SCRIPT_CLOSE, NULL, 0 },
};

static int run_append(imap_client *c, int *r)
{
    int n = 0;
    r[n++] = imap_login(c, "bob", "secret", NULL);
    r[n++] = imap_append(c, "Drafts", "\\Draft", NULL, msg1, sizeof msg1 - 1, NULL);
    r[n++] = imap_noop(c, NULL);
    r[n++] = imap_logout(c, NULL);
    return n;
}

/* 3. PREAUTH, EXAMINE, IDLE ended by the server's EXISTS (DONE), LOGOUT */
static const imap_script_step s_idle[] = {
    { IMAP_SCRIPT_REPLY, "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] Logged in as carol\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA0 EXAMINE INBOX\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* FLAGS (\\Seen)\r\n* 2 EXISTS\r\n* 0 RECENT\r\n"
      "BAAA0 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA1 IDLE\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "+ idling\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* OK Still here\r\n* 3 EXISTS\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "DONE\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "BAAA1 OK Idle completed (0.001 + 2.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA2 LOGOUT\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* BYE Logging out\r\nBAAA2 OK Logout completed.\r\n", 0 },
    { IMAP_SCRIPT_CLOSE, NULL, 0 },
};

static int run_idle(imap_client *c, int *r)
{
    int n = 0;
    r[n++] = imap_examine(c, NULL, NULL);
    r[n++] = imap_idle(c, 60000, NULL);
    r[n++] = imap_logout(c, NULL);
    return n;
}

/* 4. AUTHENTICATE PLAIN without SASL-IR (a continuation round), LIST */
static int plain_auth(void *arg, const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    static const char resp[] = "\0dave\0hunter2";
    (void)arg;
    (void)ch;
    if (len != 0 || cap < sizeof resp - 1) return -1;
    memcpy(out, resp, sizeof resp - 1);
    return (int)(sizeof resp - 1);
}

static const imap_script_step s_auth[] = {
    { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA0 AUTHENTICATE PLAIN\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "+ \r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "AGRhdmUAaHVudGVyMg==\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1 LITERAL+ MOVE] Logged in\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA1 LIST \"\" \"*\"\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
      "* LIST (\\HasNoChildren \\Drafts) \".\" Drafts\r\n"
      "* LIST (\\HasNoChildren) \".\" {9}\r\nodd\"name)\r\n"
      "BAAA1 OK List completed (0.001 + 0.000 secs).\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA2 LOGOUT\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* BYE Logging out\r\nBAAA2 OK Logout completed.\r\n", 0 },
    { IMAP_SCRIPT_CLOSE, NULL, 0 },
};

static int run_auth(imap_client *c, int *r)
{
    int n = 0;
    r[n++] = imap_authenticate(c, "PLAIN", plain_auth, NULL, NULL);
    r[n++] = imap_list(c, NULL, NULL, NULL);
    r[n++] = imap_logout(c, NULL);
    return n;
}

/* 5. pipelined asynchronous FETCHes answered out of order, wait_all */
static const imap_script_step s_pipe[] = {
    { IMAP_SCRIPT_REPLY, "* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA0 SELECT INBOX\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* 3 EXISTS\r\nBAAA0 OK [READ-WRITE] Select completed.\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA1 FETCH 1 (UID RFC822.SIZE)\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA2 FETCH 2 (BODY.PEEK[HEADER])\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA3 FETCH 3 (FLAGS)\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* 3 FETCH (FLAGS (\\Seen))\r\nBAAA3 OK Fetch completed.\r\n"
      "* 2 FETCH (BODY[HEADER] {16}\r\nSubject: two\r\n\r\n)\r\n"
      "* 1 FETCH (UID 1 RFC822.SIZE 59)\r\nBAAA1 OK Fetch completed.\r\n"
      "BAAA2 OK Fetch completed.\r\n", 0 },
    { IMAP_SCRIPT_EXPECT, "BAAA4 LOGOUT\r\n", 0 },
    { IMAP_SCRIPT_REPLY, "* BYE Logging out\r\nBAAA4 OK Logout completed.\r\n", 0 },
    { IMAP_SCRIPT_CLOSE, NULL, 0 },
};

static int pipe_results[3], pipe_calls;

static void pipe_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    (void)c;
    (void)t;
    pipe_results[(int)(size_t)arg] = result;
    pipe_calls++;
}

static int run_pipe(imap_client *c, int *r)
{
    static const char *const sets[] = { "1", "2", "3" };
    static const char *const parts[] = { "(UID RFC822.SIZE)", "(BODY.PEEK[HEADER])", "(FLAGS)" };
    int n = 0, i;
    pipe_calls = 0;
    r[n++] = imap_select(c, NULL, 0, NULL);
    for (i = 0; i < 3; i++) {
        imap_call call;
        memset(&call, 0, sizeof call);
        call.on_done = pipe_done;
        call.arg = (void *)(size_t)i;
        pipe_results[i] = 99;
        r[n++] = imap_fetch(c, sets[i], parts[i], &call);
        if (r[n - 1] != IMAP_OK) {
            /* not queued (the connection was gone): no callback */
            pipe_results[i] = r[n - 1];
            pipe_calls++;
        }
    }
    r[n++] = imap_client_wait_all(c);
    /* each callback ran once, with the code of the end of the session */
    for (i = 0; i < 3; i++) {
        /* a FETCH answered before the fault succeeded; the rest share
           wait_all's code */
        r[n] = pipe_results[i] == IMAP_OK ? r[n - 1 - i] : pipe_results[i];
        n++;
    }
    r[n] = pipe_calls == 3 ? r[n - 4] : IMAP_E_ARGS;
    n++;
    r[n++] = imap_logout(c, NULL);
    return n;
}

#define SESSION(name, steps, run, ...) \
    { name, steps, sizeof steps / sizeof steps[0], run, { __VA_ARGS__ }, 0 }

static session sessions[] = {
    SESSION("login-select-fetch", s_fetch, run_fetch, 0, 0, 0, 0, 0, 0),
    SESSION("append-sync-literal", s_append, run_append, 0, 0, 0, 0, 0),
    SESSION("idle-done", s_idle, run_idle, 0, 0, 0, 0),
    SESSION("authenticate-plain", s_auth, run_auth, 0, 0, 0, 0),
    SESSION("pipelined-fetch", s_pipe, run_pipe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
};
#define NSESSIONS (sizeof sessions / sizeof sessions[0])

/* ---- the runner ------------------------------------------------------- */

static unsigned char mem[1 << 16];
static imap_client cl;
static long long fake_ms;
static unsigned long runs;

static long long fake_clock(void *arg)
{
    (void)arg;
    return fake_ms += 1;      /* time passes with every look at the clock */
}

/* ...and while the client waits: a wait that times out took its time
   (the script's own wait never sleeps) */
static int (*script_wait)(void *ctx, int for_write, long timeout_ms);
static int fake_wait(void *ctx, int for_write, long timeout_ms)
{
    int k = script_wait(ctx, for_write, timeout_ms);
    if (k == 0) fake_ms += timeout_ms > 0 ? timeout_ms : 1;
    return k;
}

typedef struct knobs {
    size_t max_read, max_write;
    int would_block;
    size_t close_at;
    int clock;                /* 1: fake clock, 0: the quiet clock */
} knobs;

static knobs plain(void)
{
    knobs k;
    memset(&k, 0, sizeof k);
    k.close_at = IMAP_SCRIPT_NEVER;
    k.clock = 1;
    return k;
}

/* One session over steps; results in r (open's first). Returns the count. */
static int run_session(const session *s, const imap_script_step *steps, size_t n,
                       const knobs *k, int *r, imap_script *sc)
{
    imap_transport tr;
    int m;
    runs++;
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, 0);
    imap_client_set_timeout(&cl, 3000);
    if (k->clock) {
        fake_ms = 1000000;
        imap_client_set_clock(&cl, fake_clock, NULL);
    }
    imap_script_init(sc, steps, n, &tr);
    sc->max_read = k->max_read;
    sc->max_write = k->max_write;
    sc->would_block = k->would_block;
    sc->close_at = k->close_at;
    if (k->clock) {
        script_wait = tr.wait;
        tr.wait = fake_wait;
    }
    r[0] = imap_client_open(&cl, &tr);
    /* the calls go on after a failure: they must fail fast */
    m = 1 + s->run(&cl, r + 1);
    imap_client_close(&cl);
    return m;
}

/* A clean run: every result as wanted, every byte as expected. */
static int clean_ok(const session *s, const knobs *k)
{
    int r[MAXCALLS], m, i, ok;
    imap_script sc;
    m = run_session(s, s->steps, s->nsteps, k, r, &sc);
    ok = m == s->nwant && !sc.mismatch && imap_script_done(&sc);
    for (i = 0; ok && i < m; i++)
        if (r[i] != s->want[i]) ok = 0;
    if (!ok) {
        printf("    %s: clean run failed (mr %zu mw %zu wb %d):", s->name, k->max_read,
               k->max_write, k->would_block);
        for (i = 0; i < m; i++) printf(" %s", imap_result_name(r[i]));
        if (sc.mismatch)
            printf(" mismatch at step %zu, got \"%.*s\"", sc.mismatch_step,
                   (int)sc.mismatch_got_len, (const char *)sc.mismatch_got);
        printf("\n");
    }
    return ok;
}

/* A faulted run: results as wanted up to the fault, then the same
   abort-class code for every later call; state LOGOUT; no byte the
   server did not expect; nothing left pending. `want_code`, if nonzero,
   is the abort code the fault must give. */
static int faulted_ok(const session *s, const imap_script_step *steps, size_t n,
                      const knobs *k, int want_code, const char *what, size_t where)
{
    int r[MAXCALLS], m, i, aborted = 0, ok = 1;
    imap_script sc;
    m = run_session(s, steps, n, k, r, &sc);
    if (m != s->nwant) ok = 0;
    for (i = 0; ok && i < m; i++) {
        if (aborted) {
            if (r[i] != aborted) ok = 0;
        } else if (r[i] != s->want[i]) {
            /* the pipelined session reports its callbacks' codes too */
            if (imap_result_class_of(r[i]) != IMAP_CLASS_ABORT) ok = 0;
            else aborted = r[i];
        }
    }
    if (sc.mismatch) ok = 0;
    if (cl.state != IMAP_STATE_LOGOUT || imap_client_pending(&cl) != 0) ok = 0;
    if (aborted && cl.error != aborted) ok = 0;
    if (want_code && aborted && aborted != want_code) ok = 0;
    if (!ok) {
        printf("    %s: %s %zu:", s->name, what, where);
        for (i = 0; i < m; i++) printf(" %s", imap_result_name(r[i]));
        printf(" state %d error %s mismatch %d\n", cl.state, imap_result_name(cl.error), sc.mismatch);
    }
    return ok;
}

static size_t server_bytes(const session *s)
{
    size_t i, n = 0;
    for (i = 0; i < s->nsteps; i++)
        if (s->steps[i].kind == IMAP_SCRIPT_REPLY) n += strlen(s->steps[i].data);
    return n;
}

static void count_wants(void)
{
    size_t i;
    for (i = 0; i < NSESSIONS; i++) {
        int r[MAXCALLS];
        imap_script sc;
        knobs k = plain();
        sessions[i].nwant = run_session(&sessions[i], sessions[i].steps, sessions[i].nsteps,
                                        &k, r, &sc);
    }
}

TEST(clean_runs_complete)
{
    size_t i;
    for (i = 0; i < NSESSIONS; i++) {
        knobs k = plain();
        CHECK(clean_ok(&sessions[i], &k));
        k.clock = 0;
        CHECK(clean_ok(&sessions[i], &k));
    }
}

TEST(one_byte_reads_and_writes)
{
    size_t i;
    for (i = 0; i < NSESSIONS; i++) {
        knobs k = plain();
        k.max_read = 1;
        k.max_write = 1;
        CHECK(clean_ok(&sessions[i], &k));
        k.clock = 0;
        CHECK(clean_ok(&sessions[i], &k));
    }
}

TEST(would_block_interleaved)
{
    size_t i, mr;
    for (i = 0; i < NSESSIONS; i++) {
        for (mr = 0; mr <= 3; mr++) {
            knobs k = plain();
            k.would_block = 1;
            k.max_read = mr;
            k.max_write = mr ? 4 - mr : 0;
            CHECK(clean_ok(&sessions[i], &k));
            k.clock = 0;
            CHECK(clean_ok(&sessions[i], &k));
        }
    }
}

/* Dropped at every offset of the server's output; then a fresh
   connection completes the session. */
TEST(disconnect_at_every_offset)
{
    size_t i, at;
    for (i = 0; i < NSESSIONS; i++) {
        const session *s = &sessions[i];
        size_t total = server_bytes(s);
        int bad = 0;
        for (at = 0; at < total && bad < 3; at++) {
            knobs k = plain();
            k.close_at = at;
            k.max_read = at % 3 == 0 ? 0 : at % 3;   /* vary the read sizes too */
            k.would_block = (int)(at & 4);
            if (!faulted_ok(s, s->steps, s->nsteps, &k, 0, "close_at", at)) bad++;
            /* dropped: read as the end (E_CLOSED) or a write failed (E_IO) */
            if (cl.error != IMAP_E_CLOSED && cl.error != IMAP_E_IO) {
                printf("    %s: close_at %zu gave %s\n", s->name, at, imap_result_name(cl.error));
                bad++;
            }
            k = plain();
            if (!clean_ok(s, &k)) bad++;
        }
        CHECK_EQ_INT(bad, 0);
    }
}

/* The server goes silent at every byte offset of its output (before
   each reply and inside it), past the client's timeout: the call in
   flight gives IMAP_E_TIMEOUT, later calls fail fast. The fake clock and
   the quiet clock (no clock set) take turns by offset. */
TEST(stall_past_the_timeout)
{
    static imap_script_step st[64];
    static char part[8192];
    size_t i, j;
    for (i = 0; i < NSESSIONS; i++) {
        const session *s = &sessions[i];
        int bad = 0;
        size_t offset = 0;
        for (j = 0; j < s->nsteps && bad < 3; j++) {
            size_t len, h;
            if (s->steps[j].kind != IMAP_SCRIPT_REPLY) continue;
            len = strlen(s->steps[j].data);
            for (h = 0; h < len && bad < 3; h++, offset++) {
                size_t n = 0, t;
                knobs k = plain();
                for (t = 0; t < j; t++) st[n++] = s->steps[t];
                if (h) {
                    /* the first h bytes of the reply, then silence */
                    memcpy(part, s->steps[j].data, h);
                    st[n].kind = IMAP_SCRIPT_REPLY;
                    st[n].data = part;
                    st[n].len = h;
                    n++;
                }
                st[n].kind = IMAP_SCRIPT_STALL;
                st[n].data = NULL;
                st[n].len = 0;
                n++;
                /* the client may still write what the script expects */
                for (t = j; t < s->nsteps; t++)
                    if (s->steps[t].kind == IMAP_SCRIPT_EXPECT) st[n++] = s->steps[t];
                k.clock = (int)(offset & 1);
                k.max_read = offset % 3 == 2 ? 1 : 0;
                if (!faulted_ok(s, st, n, &k, IMAP_E_TIMEOUT, "stall at server byte", offset)) bad++;
                /* the stall did cause a timeout: something was due */
                if (cl.error != IMAP_E_TIMEOUT) {
                    printf("    %s: stall at byte %zu gave %s\n", s->name, offset,
                           imap_result_name(cl.error));
                    bad++;
                }
            }
        }
        {
            knobs k = plain();
            if (!clean_ok(s, &k)) bad++;
        }
        CHECK_EQ_INT(bad, 0);
    }
}

/* ---- regression tests for the engine fixes (found by fuzz_engine) ----- */

static const char *sent_now(imap_client *c)
{
    static char buf[4096];
    size_t n = 0, len;
    const unsigned char *p;
    while (imap_client_output(c, &p, &len) && n + len < sizeof buf) {
        memcpy(buf + n, p, len);
        n += len;
        imap_client_output_ack(c, len);
    }
    buf[n] = 0;
    return buf;
}

static void feed_str(imap_client *c, const char *s)
{
    size_t used = 0;
    imap_client_feed(c, s, strlen(s), &used);
}

static int done_result, done_calls;
static void on_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    (void)arg;
    (void)c;
    (void)t;
    done_result = result;
    done_calls++;
}

static int auth_z(void *arg, const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    (void)arg;
    (void)ch;
    (void)len;
    if (cap < 1) return -1;
    out[0] = 'z';
    return 1;
}

static void start_sansio(const char *greeting, imap_call *call)
{
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, 0);
    imap_client_start(&cl);
    feed_str(&cl, greeting);
    memset(call, 0, sizeof *call);
    call->on_done = on_done;
    done_calls = 0;
    done_result = 99;
}

/* A tagged answer to a command whose line is only half sent: before, it
   finished the command and its other half never went (or went glued to
   the next command). It is a tag never sent: IMAP_E_PROTOCOL. */
TEST(answer_to_a_half_sent_command_is_a_protocol_error)
{
    imap_call call;
    const unsigned char *p;
    size_t len;
    start_sansio("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n", &call);
    CHECK_EQ_INT(imap_noop(&cl, &call), IMAP_OK);
    CHECK(imap_client_output(&cl, &p, &len) == 1 && len == 12);
    imap_client_output_ack(&cl, 5);             /* "BAAA0" went, " NOOP\r\n" not */
    feed_str(&cl, "BAAA0 OK done\r\n");
    CHECK_EQ_INT(done_calls, 1);
    CHECK_EQ_INT(done_result, IMAP_E_PROTOCOL);
    CHECK_EQ_INT(cl.error, IMAP_E_PROTOCOL);
    CHECK_EQ_INT(cl.state, IMAP_STATE_LOGOUT);
    /* an answer before any of it went: the same */
    start_sansio("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n", &call);
    CHECK_EQ_INT(imap_noop(&cl, &call), IMAP_OK);
    feed_str(&cl, "BAAA0 OK done\r\n");
    CHECK_EQ_INT(done_result, IMAP_E_PROTOCOL);
    /* but refusing a synchronizing literal instead of "+" is allowed, and
       the literal is then never sent */
    start_sansio("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n", &call);
    CHECK_EQ_INT(imap_append(&cl, "INBOX", NULL, NULL, "hello", 5, &call), IMAP_OK);
    CHECK(strcmp(sent_now(&cl), "BAAA0 APPEND INBOX {5}\r\n") == 0);
    feed_str(&cl, "BAAA0 NO [TOOBIG] too big\r\n");
    CHECK_EQ_INT(done_result, IMAP_E_NO);
    CHECK_EQ_INT(cl.error, 0);
    CHECK_EQ_INT(imap_noop(&cl, &call), IMAP_OK);
    CHECK(strcmp(sent_now(&cl), "BAAA1 NOOP\r\n") == 0);
}

/* A SASL answer queued for an AUTHENTICATE that the server then finished
   at once was still sent, as a stray line before the next command. */
TEST(no_sasl_answer_after_authenticate_finished)
{
    imap_call call;
    start_sansio("* OK [CAPABILITY IMAP4rev1 AUTH=X] x\r\n", &call);
    CHECK_EQ_INT(imap_authenticate(&cl, "X", auth_z, NULL, &call), IMAP_OK);
    CHECK(strcmp(sent_now(&cl), "BAAA0 AUTHENTICATE X\r\n") == 0);
    feed_str(&cl, "+ \r\nBAAA0 NO go away\r\n");
    CHECK_EQ_INT(done_result, IMAP_E_NO);
    CHECK_EQ_INT(imap_noop(&cl, &call), IMAP_OK);
    CHECK(strcmp(sent_now(&cl), "BAAA1 NOOP\r\n") == 0);
    /* the ordinary exchange still answers */
    start_sansio("* OK [CAPABILITY IMAP4rev1 AUTH=X] x\r\n", &call);
    CHECK_EQ_INT(imap_authenticate(&cl, "X", auth_z, NULL, &call), IMAP_OK);
    CHECK(strcmp(sent_now(&cl), "BAAA0 AUTHENTICATE X\r\n") == 0);
    feed_str(&cl, "+ \r\n");
    CHECK(strcmp(sent_now(&cl), "eg==\r\n") == 0);
}

/* After STARTTLS's OK the queued commands went out at once, in
   plaintext, before the TLS layer could take over. */
TEST(nothing_sent_after_starttls_ok)
{
    imap_call call;
    imap_cmd cmd;
    imap__pending *p = NULL;
    unsigned i;
    start_sansio("* OK [CAPABILITY IMAP4rev1 STARTTLS] x\r\n", &call);
    /* STARTTLS as the TLS layer queues it (no public call yet here) */
    {
        char tag[16];
        CHECK_EQ_INT(imap__begin(&cl, &cmd, tag), IMAP_OK);
        CHECK_EQ_INT(imap_cmd_starttls(&cmd, tag), IMAP_OK);
        CHECK_EQ_INT(imap__submit(&cl, &cmd, tag, IMAP__K_STARTTLS, NULL, &call, NULL, NULL), IMAP_OK);
    }
    CHECK_EQ_INT(imap_login(&cl, "u", "secret", &call), IMAP_OK);
    CHECK(strcmp(sent_now(&cl), "BAAA0 STARTTLS\r\n") == 0);
    feed_str(&cl, "BAAA0 OK Begin TLS negotiation now.\r\n");
    CHECK_EQ_INT(done_result, IMAP_OK);
    CHECK(strcmp(sent_now(&cl), "") == 0);     /* LOGIN waits for TLS */
    for (i = 0; i < IMAP_MAX_PENDING; i++)
        if (cl._q[i].seq) p = &cl._q[i];
    CHECK(p != NULL && p->cur_seg == 0);
}

int main(int argc, char **argv)
{
    alarm(120);     /* a hang anywhere fails the program (runs take ~1 s) */
    setvbuf(stdout, NULL, _IOLBF, 0);
    count_wants();
    if (argc > 1) {
        /* debug: one clean run of session argv[1] with knobs mr mw wb clock */
        knobs k = plain();
        k.max_read = (size_t)atoi(argv[2]);
        k.max_write = (size_t)atoi(argv[3]);
        k.would_block = atoi(argv[4]);
        k.clock = atoi(argv[5]);
        imap_client_set_debug(&cl, IMAP_DEBUG_PROTOCOL, NULL, NULL);
        return !clean_ok(&sessions[atoi(argv[1])], &k);
    }
#define RUN_COUNTED(t) do { unsigned long r0 = runs; RUN(t); \
        printf("    %s: %lu runs\n", #t, runs - r0); } while (0)
    RUN_COUNTED(clean_runs_complete);
    RUN_COUNTED(one_byte_reads_and_writes);
    RUN_COUNTED(would_block_interleaved);
    RUN_COUNTED(disconnect_at_every_offset);
    RUN_COUNTED(stall_past_the_timeout);
    RUN(answer_to_a_half_sent_command_is_a_protocol_error);
    RUN(no_sasl_answer_after_authenticate_finished);
    RUN(nothing_sent_after_starttls_ok);
    printf("fault-injection runs: %lu\n", runs);
    return test_summary();
}
