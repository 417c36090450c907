/* The engine under real use (issue 12): commands from callbacks,
   deadlines that bound time, timers in an event loop, misuse. Against
   tests/fakesrv.h, a reactive server on a fake clock. */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"
#include "fakesrv.h"

static unsigned char mem[1 << 16];
static imap_client cl;
static fsrv srv;
static imap_transport tr;

static int open_srv(const char *greeting, long timeout)
{
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, 0);
    fs_init(&srv, &tr, greeting);
    imap_client_set_clock(&cl, fs_clock, &srv);
    imap_client_set_timeout(&cl, timeout);
    return imap_client_open(&cl, &tr);
}

/* ---- misuse ------------------------------------------------------------ */

static int fetch_with_dying_set(void)
{
    char set[8] = "1:5";
    imap_call call;
    memset(&call, 0, sizeof call);
    /* a part list with CRLF is refused while building */
    return imap_fetch(&cl, set, "(FLAGS)\r\nX", &call);
}

static void nop_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    (void)c;
    (void)t;
    if (arg) {
        ((int *)arg)[0]++;
        ((int *)arg)[1] = result;
    }
}

TEST(misuse_is_an_error_not_a_crash)
{
    static unsigned char small[100];
    imap_call call;
    size_t used;
    unsigned i;
    int n = 0;
    CHECK_EQ_INT(open_srv(NULL, 0), IMAP_OK);
    imap_client_close(&cl);
    imap_client_init(&cl, mem, sizeof mem);
    CHECK_EQ_INT(imap_client_open(&cl, NULL), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_client_open(NULL, &tr), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_noop(NULL, NULL), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_select(NULL, "INBOX", 0, NULL), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_idle(NULL, 10, NULL), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_client_feed(&cl, NULL, 5, &used), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_client_set_queue(&cl, NULL, 4), IMAP_E_ARGS);
    imap_client_init(&cl, NULL, 0);
    fs_init(&srv, &tr, NULL);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_E_ARGS);
    imap_client_init(&cl, small, sizeof small);
    fs_init(&srv, &tr, NULL);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_E_NOMEM);
    /* a greeting larger than the parser's share: NOMEM, not PROTOCOL */
    {
        static char big[4096];
        memcpy(big, "* OK [CAPABILITY IMAP4rev1", 26);
        memset(big + 26, 'A', 2000);
        strcpy(big + 2026, "] hi\r\n");
        imap_client_init(&cl, mem, 1100);
        fs_init(&srv, &tr, big);
        CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_E_NOMEM);
    }
    /* the routing set of a FETCH that failed to build reaches no one */
    CHECK_EQ_INT(open_srv(NULL, 0), IMAP_OK);
    srv.silent = 1;
    CHECK(fetch_with_dying_set() < 0);
    memset(&call, 0, sizeof call);
    call.on_done = nop_done;
    CHECK_EQ_INT(imap_fetch(&cl, "7", "(FLAGS)", &call), IMAP_OK);
    for (i = 0; i < cl._q_hi; i++)
        if (cl._q[i].seq) {
            CHECK(strcmp(cl._q[i].set, "7") == 0);
            n++;
        }
    CHECK_EQ_INT(n, 1);
}

/* ---- commands from callbacks ------------------------------------------- */

typedef int (*call_fn)(imap_client *c, const imap_call *call);
static int c_noop(imap_client *c, const imap_call *k) { return imap_noop(c, k); }
static int c_capability(imap_client *c, const imap_call *k) { return imap_capability(c, k); }
static int c_select(imap_client *c, const imap_call *k) { return imap_select(c, "INBOX", 0, k); }
static int c_examine(imap_client *c, const imap_call *k) { return imap_examine(c, "INBOX", k); }
static int c_fetch(imap_client *c, const imap_call *k) { return imap_fetch(c, "1:2", "(BODY[])", k); }
static int c_store(imap_client *c, const imap_call *k) { return imap_store(c, "1", "+FLAGS", "(\\Seen)", k); }
static int c_search(imap_client *c, const imap_call *k)
{
    const char *crit[] = { "ALL" };
    return imap_search(c, NULL, crit, 1, k);
}
static int c_uidfetch(imap_client *c, const imap_call *k)
{
    const char *args[] = { "1:3", "(FLAGS)" };
    return imap_uid(c, "FETCH", args, 2, k);
}
static int c_append(imap_client *c, const imap_call *k)
{
    static const char msg[] = "Subject: x\r\n\r\nbody\r\n";
    return imap_append(c, "INBOX", NULL, NULL, msg, sizeof msg - 1, k);
}
static int c_list(imap_client *c, const imap_call *k) { return imap_list(c, NULL, NULL, k); }
static int c_status(imap_client *c, const imap_call *k) { return imap_status(c, "INBOX", "(MESSAGES)", k); }
static int c_create(imap_client *c, const imap_call *k) { return imap_create(c, "X", k); }
static int c_copy(imap_client *c, const imap_call *k) { return imap_copy(c, "1", "X", k); }
static int c_expunge(imap_client *c, const imap_call *k) { return imap_expunge(c, k); }
static int c_idle(imap_client *c, const imap_call *k) { return imap_idle(c, 200, k); }
static int c_xatom(imap_client *c, const imap_call *k) { return imap_xatom(c, "XFOO", NULL, 0, k); }
static int plain(void *arg, const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    (void)arg;
    (void)ch;
    (void)len;
    if (!out || cap < 6) return 0;
    memcpy(out, "\0u\0pw", 5);
    return 5;
}
static int c_auth(imap_client *c, const imap_call *k) { return imap_authenticate(c, "PLAIN", plain, NULL, k); }
static int c_login(imap_client *c, const imap_call *k) { return imap_login(c, "u", "p", k); }
static int c_logout(imap_client *c, const imap_call *k) { return imap_logout(c, k); }

static const struct { const char *name; call_fn fn; } calls[] = {
    { "NOOP", c_noop }, { "CAPABILITY", c_capability }, { "SELECT", c_select },
    { "EXAMINE", c_examine }, { "FETCH", c_fetch }, { "STORE", c_store },
    { "SEARCH", c_search }, { "UID FETCH", c_uidfetch }, { "APPEND", c_append },
    { "LIST", c_list }, { "STATUS", c_status }, { "CREATE", c_create }, { "COPY", c_copy },
    { "EXPUNGE", c_expunge }, { "IDLE", c_idle }, { "XFOO", c_xatom },
    { "AUTHENTICATE", c_auth }, { "LOGIN", c_login }, { "LOGOUT", c_logout }
};
#define NCALLS (sizeof calls / sizeof calls[0])

typedef struct nest {
    call_fn fn;
    int fired;                /* the nested calls were made */
    int blocking_rc, async_rc;
    unsigned pending_before, pending_after;
    unsigned long seq_before, seq_after;
    int inner[2];             /* on_done calls, last result */
    int outer[2];
    int close_it;             /* close instead */
} nest;

static void nest_now(nest *n, imap_client *c)
{
    imap_call in;
    if (n->fired++) return;
    if (n->close_it) {
        imap_client_close(c);
        return;
    }
    n->pending_before = imap_client_pending(c);
    n->seq_before = c->_seq;
    n->blocking_rc = n->fn(c, NULL);
    n->pending_after = imap_client_pending(c);
    n->seq_after = c->_seq;
    memset(&in, 0, sizeof in);
    in.on_done = nop_done;
    in.arg = n->inner;
    n->async_rc = n->fn(c, &in);
}

static nest *cur;
static void on_data_nest(void *arg, imap_client *c, const imap_response *r)
{
    (void)r;
    nest_now((nest *)arg, c);
}
static void on_done_nest(void *arg, imap_client *c, int result, const imap_response *t)
{
    nest *n = (nest *)arg;
    (void)t;
    n->outer[0]++;
    n->outer[1] = result;
    nest_now(n, c);
}
static void on_untagged_nest(void *arg, imap_client *c, const imap_response *r)
{
    (void)r;
    nest_now((nest *)arg, c);
}

/* kind 0: from on_data (of a SEARCH), 1: from on_done (of a NOOP),
   2: from the unsolicited callback (an ALERT during a NOOP) */
static int nest_once(int kind, size_t which, nest *n)
{
    imap_call outer;
    int rc, ok = 1;
    memset(n, 0, sizeof *n);
    n->fn = calls[which].fn;
    if (open_srv(NULL, 5000) != IMAP_OK) return 0;
    imap_client_on_untagged(&cl, on_untagged_nest, n);
    cur = n;
    memset(&outer, 0, sizeof outer);
    outer.arg = n;
    if (kind == 0) {
        outer.on_data = on_data_nest;
        rc = c_search(&cl, &outer);          /* blocking, nested from on_data */
    } else if (kind == 1) {
        outer.on_done = on_done_nest;
        rc = c_noop(&cl, &outer);
    } else {
        imap_call none;
        memset(&none, 0, sizeof none);
        fs_say(&srv, "* OK [ALERT] note%s%s\r\n", "", "");
        rc = c_noop(&cl, &none);
    }
    if (rc != IMAP_OK) ok = 0;
    if (imap_client_wait_all(&cl) != IMAP_OK) ok = 0;
    if (n->fired != 1 && kind != 0) ok = 0;
    if (!n->fired) ok = 0;
    if (n->blocking_rc != IMAP_E_STATE || n->pending_before != n->pending_after ||
        n->seq_before != n->seq_after) ok = 0;
    if (n->async_rc != IMAP_OK || n->inner[0] != 1 || n->inner[1] != IMAP_OK) ok = 0;
    if (kind == 1 && (n->outer[0] != 1 || n->outer[1] != IMAP_OK)) ok = 0;
    if (srv.unexpected) ok = 0;
    if (!ok)
        printf("    %s from %s: rc %s blocking %s async %s inner %d/%s pending %u->%u unexpected %d\n",
               calls[which].name, kind == 0 ? "on_data" : kind == 1 ? "on_done" : "on_untagged",
               imap_result_name(rc), imap_result_name(n->blocking_rc),
               imap_result_name(n->async_rc), n->inner[0], imap_result_name(n->inner[1]),
               n->pending_before, n->pending_after, srv.unexpected);
    imap_client_close(&cl);
    return ok;
}

TEST(every_call_from_every_callback)
{
    int kind;
    size_t i;
    nest n;
    for (kind = 0; kind < 3; kind++)
        for (i = 0; i < NCALLS; i++) CHECK(nest_once(kind, i, &n));
}

TEST(close_from_a_callback)
{
    nest n;
    imap_call outer;
    int kind;
    for (kind = 0; kind < 2; kind++) {
        memset(&n, 0, sizeof n);
        n.close_it = 1;
        CHECK_EQ_INT(open_srv(NULL, 5000), IMAP_OK);
        memset(&outer, 0, sizeof outer);
        outer.arg = &n;
        if (kind == 0) {
            int other[2] = { 0, 0 };
            imap_call o2;
            memset(&o2, 0, sizeof o2);
            o2.on_done = nop_done;
            o2.arg = other;
            CHECK_EQ_INT(c_noop(&cl, &o2), IMAP_OK);   /* pipelined, outstanding */
            outer.on_data = on_data_nest;
            CHECK_EQ_INT(c_search(&cl, &outer), IMAP_E_CLOSED);
            CHECK_EQ_INT(other[0], 1);
        } else {
            outer.on_done = on_done_nest;
            CHECK_EQ_INT(c_noop(&cl, &outer), IMAP_OK);
            CHECK_EQ_INT(imap_client_wait_all(&cl), IMAP_E_STATE);  /* closed */
            CHECK_EQ_INT(n.outer[0], 1);
        }
        CHECK_EQ_INT(n.fired, 1);
        CHECK_EQ_INT(srv.client_closed, 1);
        CHECK_EQ_INT(imap_client_pending(&cl), 0);
        CHECK_EQ_INT(cl.state, IMAP_STATE_LOGOUT);
        CHECK(imap_noop(&cl, NULL) < 0);
    }
}

/* imaplib2's pattern: FETCH each number from the SEARCH callback, LOGOUT
   from the last FETCH's on_done. */
typedef struct chain {
    int fetched, fetch_done, logout[2], uids;
    unsigned long last_uid;
} chain;

static void chain_logout(void *arg, imap_client *c, int result, const imap_response *t)
{
    chain *ch = (chain *)arg;
    imap_call k;
    (void)t;
    if (result == IMAP_OK) ch->fetch_done++;
    if (ch->fetch_done != ch->fetched) return;
    memset(&k, 0, sizeof k);
    k.on_done = nop_done;
    k.arg = ch->logout;
    imap_logout(c, &k);
}

static void chain_body(void *arg, imap_client *c, const imap_response *r)
{
    chain *ch = (chain *)arg;
    imap_u64 u = 0;
    (void)c;
    if (imap_value_u64(imap_fetch_get(r, "UID"), &u) == 0 && u > ch->last_uid) {
        ch->last_uid = (unsigned long)u;
        ch->uids++;
    }
}

static void chain_search(void *arg, imap_client *c, const imap_response *r)
{
    chain *ch = (chain *)arg;
    const imap_value *v;
    imap_call k;
    memset(&k, 0, sizeof k);
    k.on_data = chain_body;
    k.on_done = chain_logout;
    k.arg = ch;
    for (v = r->args; v; v = v->next) {
        char num[24];
        if (!v->str || v->len >= sizeof num) continue;
        memcpy(num, v->str, v->len);
        num[v->len] = 0;
        if (imap_fetch(c, num, "(UID BODY[])", &k) == IMAP_OK) ch->fetched++;
    }
}

TEST(imaplib2_search_fetch_logout_chain)
{
    chain ch;
    imap_call k;
    memset(&ch, 0, sizeof ch);
    CHECK_EQ_INT(open_srv(NULL, 5000), IMAP_OK);
    srv.max_read = 7;
    memset(&k, 0, sizeof k);
    k.on_data = chain_search;
    k.arg = &ch;
    CHECK_EQ_INT(c_search(&cl, &k), IMAP_OK);
    CHECK_EQ_INT(imap_client_wait_all(&cl), IMAP_OK);
    CHECK_EQ_INT(ch.fetched, 3);
    CHECK_EQ_INT(ch.fetch_done, 3);
    CHECK_EQ_INT(ch.uids, 3);
    CHECK_EQ_INT(ch.logout[0], 1);
    CHECK_EQ_INT(ch.logout[1], IMAP_OK);
    CHECK_EQ_INT(cl.state, IMAP_STATE_LOGOUT);
    CHECK_EQ_INT(srv.unexpected, 0);
}

/* ---- deadlines bound time -------------------------------------------- */

/* The call returns E_TIMEOUT no later than timeout + one read's time. */
static void check_bounded(const char *what, int rc, long long t0, long timeout, long step)
{
    long long took = srv.now - t0;
    if (rc != IMAP_E_TIMEOUT || took > timeout + step + 1 || took < timeout) {
        printf("    %s: %s after %lld ms\n", what, imap_result_name(rc), took);
        CHECK(0);
    }
}

TEST(response_timeout_bounds_the_whole_wait)
{
    long long t0;
    int rc;
    /* a greeting trickled at a byte a second */
    imap_client_init(&cl, mem, sizeof mem);
    fs_init(&srv, &tr, "");
    srv.endless = "* OK [CAPABILITY IMAP4rev1] a slow hello\r\n";
    srv.endless_ms = 1000;
    srv.max_read = 1;
    imap_client_set_clock(&cl, fs_clock, &srv);
    imap_client_set_timeout(&cl, 5000);
    t0 = srv.now;
    rc = imap_client_open(&cl, &tr);
    check_bounded("trickled greeting", rc, t0, 5000, 1000);
    /* an endless line, endless continuations, endless untagged junk */
    {
        static const char *const endless[] = { "xxxxxxxxxxxxxxxx", "+ more\r\n", "* OK junk\r\n",
                                               "* 1 EXISTS\r\n" };
        size_t i;
        for (i = 0; i < sizeof endless / sizeof endless[0]; i++) {
            CHECK_EQ_INT(open_srv(NULL, 5000), IMAP_OK);
            srv.endless = endless[i];
            srv.silent = 1;
            srv.endless_ms = 10;
            t0 = srv.now;
            rc = imap_noop(&cl, NULL);
            check_bounded(endless[i], rc, t0, 5000, 10);
            imap_client_close(&cl);
        }
    }
    /* a literal over max_literal, skipped while it trickles in */
    CHECK_EQ_INT(open_srv(NULL, 5000), IMAP_OK);
    imap_client_parser(&cl)->max_literal = 1000;
    srv.silent = 1;
    fs_say(&srv, "* 1 FETCH (BODY[] {4000000000}\r\n%s%s", "", "");
    srv.endless = "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy";
    srv.endless_ms = 10;
    t0 = srv.now;
    rc = imap_fetch(&cl, "1", "(BODY[])", NULL);
    check_bounded("skipped literal", rc, t0, 5000, 10);
}

TEST(per_call_timeout)
{
    imap_call k;
    long long t0;
    int d[2] = { 0, 0 };
    CHECK_EQ_INT(open_srv(NULL, 0), IMAP_OK);       /* no client timeout */
    srv.silent = 1;
    memset(&k, 0, sizeof k);
    k.timeout_ms = 2000;                            /* blocking, its own */
    t0 = srv.now;
    CHECK_EQ_INT(imap_noop(&cl, &k), IMAP_E_TIMEOUT);
    CHECK_EQ_INT(srv.now - t0, 2000);
    CHECK_EQ_INT(open_srv(NULL, 60000), IMAP_OK);
    srv.silent = 1;
    k.on_done = nop_done;                           /* async, shorter than the client's */
    k.arg = d;
    k.timeout_ms = 700;
    t0 = srv.now;
    CHECK_EQ_INT(imap_noop(&cl, &k), IMAP_OK);
    CHECK_EQ_INT(imap_client_wait_all(&cl), IMAP_E_TIMEOUT);
    CHECK_EQ_INT(srv.now - t0, 700);
    CHECK_EQ_INT(d[0], 1);
    CHECK_EQ_INT(d[1], IMAP_E_TIMEOUT);
}

TEST(refused_literal_keeps_its_tagged_ok)
{
    CHECK_EQ_INT(open_srv(NULL, 5000), IMAP_OK);
    imap_client_parser(&cl)->max_literal = 10;
    srv.lit_bytes = 400;
    CHECK_EQ_INT(imap_fetch(&cl, "1", "(BODY[])", NULL), IMAP_E_LIMIT);
    CHECK_EQ_INT(cl.error, 0);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_OK);
}

TEST(idle_ends_by_its_own_timeout)
{
    long long t0;
    /* longer than the response timeout: DONE, then a clean OK */
    CHECK_EQ_INT(open_srv(NULL, 3000), IMAP_OK);
    t0 = srv.now;
    CHECK_EQ_INT(imap_idle(&cl, 5000, NULL), IMAP_OK);
    CHECK(srv.now - t0 >= 5000 && srv.now - t0 <= 5010);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_OK);
    /* millisecond resolution */
    t0 = srv.now;
    CHECK_EQ_INT(imap_idle(&cl, 300, NULL), IMAP_OK);
    CHECK(srv.now - t0 >= 300 && srv.now - t0 <= 310);
    /* the server's answer to DONE is still bounded by the response timeout */
    srv.silent = 1;
    srv.idling = 0;
    t0 = srv.now;
    CHECK_EQ_INT(imap_idle(&cl, 300, NULL), IMAP_E_TIMEOUT);
    CHECK(srv.now - t0 <= 300 + 3000 + 10);
}

TEST(idle_reissued_every_29_minutes)
{
    long long t0;
    CHECK_EQ_INT(open_srv(NULL, 3000), IMAP_OK);
    /* 0: 29 minutes, against a server that says nothing */
    t0 = srv.now;
    CHECK_EQ_INT(imap_idle(&cl, 0, NULL), IMAP_OK);
    CHECK_EQ_INT(srv.now - t0, 29L * 60 * 1000);
    /* two hours: IDLE again at 29, 58, 87, 116 minutes */
    srv.ncmds = 0;
    t0 = srv.now;
    CHECK_EQ_INT(imap_idle(&cl, 2L * 60 * 60 * 1000, NULL), IMAP_OK);
    CHECK_EQ_INT(srv.now - t0, 2L * 60 * 60 * 1000);
    CHECK_EQ_INT(srv.ncmds, 5);
    CHECK_EQ_INT(srv.unexpected, 0);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_OK);
}

/* ---- timers in the sans-I/O mode ------------------------------------- */

static const char *drain(imap_client *c)
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

static void feed_s(const char *s)
{
    size_t used;
    imap_client_feed(&cl, s, strlen(s), &used);
}

TEST(sans_io_timers_fire_on_tick)
{
    int d[2] = { 0, 0 };
    imap_call k;
    char tag[16], line[64];
    memset(&k, 0, sizeof k);
    k.on_done = nop_done;
    k.arg = d;
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_set_timeout(&cl, 3000);
    CHECK_EQ_INT(imap_client_tick(&cl, 0), -1);     /* nothing runs yet */
    imap_client_start(&cl);
    CHECK_EQ_INT(imap_client_tick(&cl, 100), 3000);  /* the greeting's, from this tick */
    feed_s("* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n");
    CHECK_EQ_INT(imap_client_tick(&cl, 200), -1);
    /* the loop slept 10 s; a command issued now counts from the next tick */
    CHECK_EQ_INT(imap_idle(&cl, 2000, &k), IMAP_OK);
    CHECK_EQ_INT(imap_client_tick(&cl, 10000), 3000);
    CHECK(sscanf(drain(&cl), "%15s IDLE", tag) == 1);
    feed_s("+ idling\r\n");
    CHECK_EQ_INT(imap_client_tick(&cl, 10500), 2000);
    CHECK_EQ_INT(imap_client_tick(&cl, 12000), 500);
    CHECK(strcmp(drain(&cl), "") == 0);
    CHECK_EQ_INT(imap_client_tick(&cl, 12500), 3000);   /* DONE; its answer due */
    CHECK(strcmp(drain(&cl), "DONE\r\n") == 0);
    snprintf(line, sizeof line, "%s OK idle done\r\n", tag);
    feed_s(line);
    CHECK_EQ_INT(d[0], 1);
    CHECK_EQ_INT(d[1], IMAP_OK);
    /* a response timeout fires on tick, with on_done called once */
    CHECK_EQ_INT(imap_noop(&cl, &k), IMAP_OK);
    CHECK_EQ_INT(imap_client_tick(&cl, 20000), 3000);
    drain(&cl);
    CHECK_EQ_INT(imap_client_tick(&cl, 22999), 1);
    CHECK_EQ_INT(imap_client_tick(&cl, 23000), -1);
    CHECK_EQ_INT(cl.error, IMAP_E_TIMEOUT);
    CHECK_EQ_INT(d[0], 2);
    CHECK_EQ_INT(d[1], IMAP_E_TIMEOUT);
}

/* ---- no clock ------------------------------------------------------------ */

TEST(timeouts_without_a_clock_are_refused)
{
    imap_client_init(&cl, mem, sizeof mem);
    fs_init(&srv, &tr, NULL);
    tr.wait = NULL;
    imap_client_set_timeout(&cl, 5000);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_E_ARGS);
    imap_client_init(&cl, mem, sizeof mem);
    fs_init(&srv, &tr, NULL);
    tr.wait = NULL;
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);   /* no timeout: fine */
    CHECK_EQ_INT(imap_idle(&cl, 5000, NULL), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_OK);
    imap_client_set_timeout(&cl, 5000);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_client_pending(&cl), 0);
    /* with wait() the time spent waiting is measured */
    imap_client_init(&cl, mem, sizeof mem);
    fs_init(&srv, &tr, NULL);
    imap_client_set_timeout(&cl, 5000);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
    srv.silent = 1;
    {
        long long t0 = srv.now;
        CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_E_TIMEOUT);
        CHECK_EQ_INT(srv.now - t0, 5000);
    }
}

/* ---- more commands than slots ----------------------------------------- */

TEST(more_commands_than_slots)
{
    static imap_queue_slot slots[64];
    int d[2] = { 0, 0 };
    imap_call k;
    int i, rc = IMAP_OK;
    memset(&k, 0, sizeof k);
    k.on_done = nop_done;
    k.arg = d;
    /* sans-I/O: a distinct code, nothing queued */
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_start(&cl);
    feed_s("* OK [CAPABILITY IMAP4rev1] hi\r\n");
    for (i = 0; i < IMAP_MAX_PENDING && rc == IMAP_OK; i++) rc = imap_noop(&cl, &k);
    CHECK_EQ_INT(rc, IMAP_OK);
    CHECK_EQ_INT(imap_noop(&cl, &k), IMAP_E_BUSY);
    CHECK_EQ_INT(imap_client_pending(&cl), IMAP_MAX_PENDING);
    /* over a transport: 1,000 FETCHes queue without a retry */
    CHECK_EQ_INT(open_srv(NULL, 5000), IMAP_OK);
    CHECK_EQ_INT(imap_client_set_queue(&cl, slots, 64), IMAP_OK);
    srv.lit_bytes = 5;
    for (i = 0; i < 1000; i++) {
        char set[16];
        snprintf(set, sizeof set, "%d", i + 1);
        if (imap_fetch(&cl, set, "(BODY[])", &k) != IMAP_OK) break;
    }
    CHECK_EQ_INT(i, 1000);
    CHECK_EQ_INT(imap_client_wait_all(&cl), IMAP_OK);
    CHECK_EQ_INT(d[0], 1000);
    CHECK(cl._q_hi <= 64);
}

int main(void)
{
    RUN(misuse_is_an_error_not_a_crash);
    RUN(every_call_from_every_callback);
    RUN(close_from_a_callback);
    RUN(imaplib2_search_fetch_logout_chain);
    RUN(response_timeout_bounds_the_whole_wait);
    RUN(per_call_timeout);
    RUN(refused_literal_keeps_its_tagged_ok);
    RUN(idle_ends_by_its_own_timeout);
    RUN(idle_reissued_every_29_minutes);
    RUN(sans_io_timers_fire_on_tick);
    RUN(timeouts_without_a_clock_are_refused);
    RUN(more_commands_than_slots);
    return test_summary();
}
