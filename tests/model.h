/* model.h - a model-based test of the engine (issue 12), shared by
   tests/test_model.c (seeded, bounded, in the test command) and
   fuzz/fuzz_model.c (the fuzzer picks every choice).

   A run: a server of tests/fakesrv.h with random chunking (one-byte
   reads, would-block), answer delays short of and past the response
   timeout, trickled bytes, literals, drops; a client on its fake clock
   with a random response timeout; then a random sequence of client calls:
   blocking and asynchronous commands (NOOP, FETCH with literals, SEARCH,
   SELECT, APPEND, IDLE with a timeout, AUTHENTICATE, LOGIN, LOGOUT,
   STARTTLS in its two steps with a pass-through "handshake"),
   commands and close issued from on_data, on_done and the unsolicited
   callback, poll, wait_all, time passing, close. After every step:
   - every call ends exactly once: a blocking call by returning, an
     asynchronous one by one on_done (never two, and all by the end);
   - no response is delivered twice (the server's FETCH UIDs only grow);
   - the pending count is the asynchronous calls not yet done; after an
     abort the state is LOGOUT and nothing is pending;
   - deadlines hold on the fake clock: a blocking call takes at most one
     response timeout per command ahead of it and its own (plus IDLE's);
     and a server that answers within the timeout is never timed out
     (IDLE's own timeout included);
   - the client wrote nothing the calls did not ask for (the server saw
     only whole, expected lines). */
#ifndef MODEL_H
#define MODEL_H
#include "fakesrv.h"

typedef struct model_rng {
    const unsigned char *data;  /* fuzz bytes first, then the generator */
    size_t len, off;
    unsigned long long x;
} model_rng;

static unsigned model_pick(model_rng *g, unsigned n)
{
    unsigned v;
    if (n <= 1) return 0;
    if (g->off < g->len) {
        v = g->data[g->off++];
    } else {
        g->x ^= g->x << 13;
        g->x ^= g->x >> 7;
        g->x ^= g->x << 17;
        v = (unsigned)(g->x >> 24);
    }
    return v % n;
}

#define MODEL_CALLS 256

typedef struct model_call {
    int async;
    int done;                   /* on_done calls */
    int result;
} model_call;

typedef struct model {
    imap_client c;
    unsigned char mem[1 << 15];
    fsrv s;
    imap_transport t;
    model_rng g;
    model_call calls[MODEL_CALLS];
    unsigned ncalls;
    unsigned long last_uid;
    long timeout;
    int depth;                  /* our own view: inside a callback */
    int closed;
    int honest;                 /* every answer comes within the timeout */
    const char *fail;           /* the first invariant broken */
    char why[160];
} model;

static void model_bad(model *m, const char *what)
{
    if (!m->fail) {
        m->fail = what;
        snprintf(m->why, sizeof m->why, "%s (t=%lld, calls %u, pending %u, error %s)", what,
                 m->s.now, m->ncalls, imap_client_pending(&m->c), imap_result_name(m->c.error));
    }
}

static unsigned model_outstanding(const model *m)
{
    unsigned i, n = 0;
    for (i = 0; i < m->ncalls; i++)
        if (m->calls[i].async && !m->calls[i].done) n++;
    return n;
}

static void model_issue(model *m, int async, int from_cb);
static model *model_cur;        /* the run the callbacks belong to */
static int model_trace;         /* print the protocol (one seed, by hand) */

static void model_log(void *arg, const char *line, size_t len)
{
    (void)arg;
    printf("%8lld %.*s\n", model_cur->s.now - 1000000, (int)len, line);
}

static void model_on_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    model_call *k = (model_call *)arg;
    model *m = model_cur;
    (void)t;
    if (++k->done > 1) model_bad(m, "on_done ran twice");
    k->result = result;
    m->depth++;
    switch (model_pick(&m->g, 8)) {
    case 0: model_issue(m, 1, 1); break;
    case 1: model_issue(m, 0, 1); break;
    case 2: if (model_pick(&m->g, 8) == 0) { imap_client_close(c); m->closed = 1; } break;
    default: break;
    }
    m->depth--;
}

static void model_on_data(void *arg, imap_client *c, const imap_response *r)
{
    model *m = model_cur;
    imap_u64 u;
    (void)arg;
    if (imap_str_is(r->name, "FETCH") && imap_value_u64(imap_fetch_get(r, "UID"), &u) == 0) {
        if (u <= m->last_uid) model_bad(m, "a FETCH response delivered twice");
        m->last_uid = (unsigned long)u;
    }
    m->depth++;
    switch (model_pick(&m->g, 10)) {
    case 0: model_issue(m, 1, 1); break;
    case 1: model_issue(m, 0, 1); break;
    case 2: if (model_pick(&m->g, 16) == 0) { imap_client_close(c); m->closed = 1; } break;
    default: break;
    }
    m->depth--;
}

static void model_on_untagged(void *arg, imap_client *c, const imap_response *r)
{
    model_on_data(arg, c, r);
}

static int model_auth(void *arg, const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    (void)arg;
    (void)ch;
    (void)len;
    if (!out) return 0;
    if (cap < 8) return -1;
    memcpy(out, "\0u\0pw", 5);
    return 5;
}

static const char model_msg[] = "Subject: model\r\n\r\nbody\r\n";

/* One client call, blocking or not; from a callback or not. */
static void model_issue(model *m, int async, int from_cb)
{
    imap_client *c = &m->c;
    imap_call k;
    model_call *mc;
    unsigned what = model_pick(&m->g, 12), before = imap_client_pending(c);
    unsigned long seq0 = c->_seq;
    long long t0 = m->s.now;
    long idle_ms = 0;
    int rc;
    if (m->ncalls >= MODEL_CALLS) return;
    mc = &m->calls[m->ncalls++];
    memset(mc, 0, sizeof *mc);
    memset(&k, 0, sizeof k);
    k.arg = m;
    if (model_pick(&m->g, 2)) k.on_data = model_on_data;
    if (async) {
        k.on_done = model_on_done;
        k.arg = mc;
        mc->async = 1;
    }
    switch (what) {
    case 0: rc = imap_noop(c, &k); break;
    case 1: rc = imap_fetch(c, "1:3", "(UID BODY[])", &k); break;
    case 2: {
        const char *crit[] = { "ALL" };
        rc = imap_search(c, NULL, crit, 1, &k);
        break;
    }
    case 3: rc = imap_select(c, "INBOX", (int)model_pick(&m->g, 2), &k); break;
    case 4: rc = imap_append(c, "INBOX", NULL, NULL, model_msg, sizeof model_msg - 1, &k); break;
    case 5:
        idle_ms = 1 + (long)model_pick(&m->g, 4) * 700;
        rc = imap_idle(c, idle_ms, &k);
        break;
    case 6: rc = imap_authenticate(c, "PLAIN", model_auth, NULL, &k); break;
    case 7: rc = imap_login(c, "u", "p", &k); break;
    case 8: rc = model_pick(&m->g, 6) == 0 ? imap_logout(c, &k) : imap_noop(c, &k); break;
    case 9: rc = imap_capability(c, &k); break;
    case 10:
        /* the caller's own TLS would handshake between the two steps;
           here the same transport carries on */
        rc = imap_starttls_begin(c, &k);
        if (rc == IMAP_OK) rc = imap_starttls_finish(c, &m->t);
        break;
    default: {
        const char *args[] = { "1:2", "(UID FLAGS BODY.PEEK[])" };
        rc = imap_uid(c, "FETCH", args, 2, &k);
        break;
    }
    }
    if (async) {
        if (rc != IMAP_OK) {
            mc->async = 0;      /* refused: no on_done may come */
            if (mc->done) model_bad(m, "a refused call ran on_done");
            if (rc == IMAP_OK || (c->_seq != seq0 && !c->error)) model_bad(m, "a refused call was queued");
        }
        return;
    }
    if (from_cb && !m->closed) {
        /* a blocking call from a callback: refused, nothing changed */
        if (rc != IMAP_E_STATE && !c->error && c->state != IMAP_STATE_LOGOUT)
            model_bad(m, "a blocking call from a callback did not say IMAP_E_STATE");
        if (rc == IMAP_E_STATE && (c->_seq != seq0 || imap_client_pending(c) != before))
            model_bad(m, "a refused blocking call changed the queue");
        return;
    }
    if (m->timeout > 0 && rc != IMAP_E_STATE && rc != IMAP_E_ARGS) {
        long long bound = (long long)(before + 2) * m->timeout + idle_ms + 50;
        if (m->s.now - t0 > bound) model_bad(m, "a blocking call outlived its deadline");
    }
}

static void model_check(model *m)
{
    imap_client *c = &m->c;
    /* a server that answers within the timeout is never timed out */
    if (m->honest && c->error == IMAP_E_TIMEOUT) model_bad(m, "a timely server timed out");
    if (m->s.unexpected) model_bad(m, "the client wrote what no call asked for");
    if (imap_client_pending(c) != model_outstanding(m))
        model_bad(m, "pending count differs from the calls not done");
    if (c->error && (c->state != IMAP_STATE_LOGOUT || imap_client_pending(c) != 0))
        model_bad(m, "an aborted client still has state or commands");
}

/* Run one model; returns 0 when every invariant held. */
static int model_run(model *m, const unsigned char *data, size_t len, unsigned long long seed,
                     int steps)
{
    static const size_t reads[] = { 0, 0, 1, 2, 3, 7, 64 };
    static const long delays[] = { 0, 0, 0, 5, 40, 600, 4000 };
    static const long timeouts[] = { 0, 500, 3000, 3000 };
    imap_client *c = &m->c;
    int i, rc;
    memset(&m->g, 0, sizeof m->g);
    m->g.data = data;
    m->g.len = len;
    m->g.x = seed * 2654435761ull + 88172645463325252ull;
    m->ncalls = 0;
    m->last_uid = 0;
    m->fail = NULL;
    m->closed = 0;
    m->depth = 0;
    fs_init(&m->s, &m->t, model_pick(&m->g, 3) ? NULL :
            "* OK [CAPABILITY IMAP4rev1 IDLE SASL-IR AUTH=PLAIN STARTTLS] ready\r\n");
    m->s.max_read = reads[model_pick(&m->g, 7)];
    m->s.would_block = model_pick(&m->g, 3) == 0;
    m->s.delay_ms = delays[model_pick(&m->g, 7)];
    m->s.read_ms = model_pick(&m->g, 4) == 0 ? 1 + (long)model_pick(&m->g, 30) : 0;
    m->s.lit_bytes = model_pick(&m->g, 3) == 0 ? 2000 : 30;
    m->timeout = timeouts[model_pick(&m->g, 4)];
    /* silence and drops only where a timeout ends them */
    if (m->timeout && model_pick(&m->g, 6) == 0) m->s.drop_after = 1 + (int)model_pick(&m->g, 12);
    m->honest = !m->s.read_ms && !m->s.drop_after && (!m->timeout || m->s.delay_ms < m->timeout);
    imap_client_init(c, m->mem, sizeof m->mem);
    imap_client_set_clock(c, fs_clock, &m->s);
    imap_client_set_timeout(c, m->timeout);
    model_cur = m;
    if (model_trace) {
        imap_client_set_debug(c, IMAP_DEBUG_PROTOCOL, model_log, NULL);
        printf("read %zu wb %d delay %ld read_ms %ld lit %zu timeout %ld drop %d\n",
               m->s.max_read, m->s.would_block, m->s.delay_ms, m->s.read_ms, m->s.lit_bytes,
               m->timeout, m->s.drop_after);
    }
    imap_client_on_untagged(c, model_on_untagged, m);
    rc = imap_client_open(c, &m->t);
    if (rc != IMAP_OK && imap_result_class_of(rc) != IMAP_CLASS_ABORT) model_bad(m, "open failed");
    for (i = 0; i < steps && !m->fail && !m->closed; i++) {
        switch (model_pick(&m->g, 9)) {
        case 0: case 1: case 2: model_issue(m, 1, 0); break;
        case 3: case 4: model_issue(m, 0, 0); break;
        case 5: imap_client_poll(c, (long)model_pick(&m->g, 50)); break;
        case 6: imap_client_wait_all(c); break;
        case 7:
            /* the caller does something else for a while: in an honest
               run not while a command is out (the client cannot tell a
               caller that does not drive it from a server that is slow) */
            if (!m->honest || imap_client_pending(c) == 0)
                m->s.now += (long long)model_pick(&m->g, 20) * 50;
            break;
        default:
            if (model_pick(&m->g, 12) == 0) {
                imap_client_close(c);
                m->closed = 1;
            }
            break;
        }
        model_check(m);
    }
    /* the end: what is left completes, or close ends it; each once */
    if (!m->fail && !m->closed) imap_client_wait_all(c);
    if (!m->closed) imap_client_close(c);
    model_check(m);
    {
        unsigned k;
        for (k = 0; k < m->ncalls; k++)
            if (m->calls[k].async && m->calls[k].done != 1) model_bad(m, "an async call never ended");
    }
    return m->fail != NULL;
}
#endif
