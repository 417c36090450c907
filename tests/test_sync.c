/* Unit tests of CONDSTORE/QRESYNC in the client and of the sync helpers
   (imap.h 9d), over the scripted transport: the three sync paths, a
   UIDVALIDITY change, NOMODSEQ, a drop at every offset of each sync
   session (the next sync must end in the same local state as a clean
   one), reconnect with backoff, and the RFC 7162 typed views. */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <stdarg.h>

static unsigned char mem[1 << 16];
static imap_client cl;

/* ---- a local copy: what a caller of imap_sync_mailbox keeps ---------- */

typedef struct msg {
    imap_u64 uid;
    char flags[64];
} msg;

typedef struct model {
    msg m[64];
    int n;
    imap_sync_state st;
    int resets, news;
} model;

static int find(const model *m, imap_u64 uid)
{
    int i;
    for (i = 0; i < m->n; i++)
        if (m->m[i].uid == uid) return i;
    return -1;
}

static void on_message(void *arg, imap_u64 uid, const imap_value *flags, int is_new)
{
    model *m = (model *)arg;
    const imap_value *f;
    int i = find(m, uid);
    size_t k = 0;
    if (is_new) m->news++;
    if (i < 0) {
        /* insert in UID order */
        if (m->n == 64) return;
        for (i = m->n; i > 0 && m->m[i - 1].uid > uid; i--) m->m[i] = m->m[i - 1];
        m->m[i].uid = uid;
        m->n++;
    }
    for (f = flags->child; f; f = f->next) {
        if (k && k < sizeof m->m[i].flags - 1) m->m[i].flags[k++] = ' ';
        if (k + f->len < sizeof m->m[i].flags) {
            memcpy(m->m[i].flags + k, f->str, f->len);
            k += f->len;
        }
    }
    m->m[i].flags[k] = 0;
}

static void on_vanished(void *arg, imap_u64 lo, imap_u64 hi)
{
    model *m = (model *)arg;
    int i, j = 0;
    for (i = 0; i < m->n; i++)
        if (m->m[i].uid < lo || m->m[i].uid > hi) m->m[j++] = m->m[i];
    m->n = j;
}

static void on_reset(void *arg, imap_u64 uidvalidity)
{
    model *m = (model *)arg;
    (void)uidvalidity;
    m->n = 0;
    m->resets++;
}

static const char *known(const model *m)
{
    static char buf[512];
    imap_u64 uids[64];
    imap_seqset s;
    int i;
    for (i = 0; i < m->n; i++) uids[i] = m->m[i].uid;
    imap_seqset_init(&s, buf, sizeof buf);
    imap_seqset_compress(&s, uids, (size_t)m->n);
    return buf;
}

static int same(const model *a, const model *b)
{
    int i;
    if (a->n != b->n || memcmp(&a->st, &b->st, sizeof a->st) != 0) return 0;
    for (i = 0; i < a->n; i++)
        if (a->m[i].uid != b->m[i].uid || strcmp(a->m[i].flags, b->m[i].flags) != 0) return 0;
    return 1;
}

/* ---- scripts: a server conversation, built for the model's state ------- */

#define SEED 77
static imap_script_step steps[32];
static size_t nsteps;
static char pool[8192];
static size_t pool_len;
static imap_tagger tagger;
static char tag[16];

static void script_reset(const char *greeting)
{
    nsteps = 0;
    pool_len = 0;
    imap_tagger_init(&tagger, SEED);
    steps[nsteps].kind = IMAP_SCRIPT_REPLY;
    steps[nsteps].data = greeting;
    steps[nsteps++].len = 0;
}

static void step(int kind, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(pool + pool_len, sizeof pool - pool_len, fmt, ap);
    va_end(ap);
    steps[nsteps].kind = kind;
    steps[nsteps].data = pool + pool_len;
    steps[nsteps++].len = (size_t)n;
    pool_len += (size_t)n + 1;
}

/* the next command's tag */
static const char *next_tag(void)
{
    imap_tagger_next(&tagger, tag);
    return tag;
}

#define C(...) step(IMAP_SCRIPT_EXPECT, __VA_ARGS__)
#define S(...) step(IMAP_SCRIPT_REPLY, __VA_ARGS__)

/* Run one sync over the script; the state is committed only on success,
   as a real caller does. */
static int run_sync(model *m, int max_method, size_t close_at, imap_script *sc)
{
    imap_transport t;
    imap_sync s;
    imap_sync_state st = m->st;
    int rc;
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, SEED);
    imap_client_set_timeout(&cl, 1000);
    imap_script_init(sc, steps, nsteps, &t);
    sc->close_at = close_at;
    rc = imap_client_open(&cl, &t);
    if (rc == IMAP_OK) {
        memset(&s, 0, sizeof s);
        s.mailbox = "INBOX";
        s.max_method = max_method;
        s.known_uids = known(m);
        s.on_message = on_message;
        s.on_vanished = on_vanished;
        s.on_reset = on_reset;
        s.arg = m;
        rc = imap_sync_mailbox(&cl, &s, &st);
    }
    if (rc == IMAP_OK) m->st = st;
    imap_client_close(&cl);
    return rc;
}

/* The mailbox on the server, for every script: UIDVALIDITY 7; at first
   UIDs 1, 2, 4 (HIGHESTMODSEQ 20, UIDNEXT 5); later 2 is expunged, 4 is
   seen and 5 arrives (HIGHESTMODSEQ 26, UIDNEXT 6). */
static const char *G_QRESYNC = "* PREAUTH [CAPABILITY IMAP4rev1 CONDSTORE QRESYNC ENABLE] hi\r\n";
static const char *G_CONDSTORE = "* PREAUTH [CAPABILITY IMAP4rev1 CONDSTORE] hi\r\n";
static const char *G_PLAIN = "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n";

static void select_reply(const char *t, unsigned long exists, unsigned long uidnext,
                         const char *modseq_code)
{
    S("* %lu EXISTS\r\n* OK [UIDVALIDITY 7] UIDs valid\r\n* OK [UIDNEXT %lu] next\r\n"
      "* OK [%s] mod\r\n* FLAGS (\\Seen \\Deleted)\r\n%s OK [READ-WRITE] done\r\n",
      exists, uidnext, modseq_code, t);
}

static void script_first_qresync(void)
{
    const char *t;
    script_reset(G_QRESYNC);
    t = next_tag();
    C("%s ENABLE QRESYNC\r\n", t);
    S("* ENABLED QRESYNC\r\n%s OK enabled\r\n", t);
    t = next_tag();
    C("%s SELECT INBOX (CONDSTORE)\r\n", t);
    select_reply(t, 3, 5, "HIGHESTMODSEQ 20");
    t = next_tag();
    C("%s UID FETCH 1:* (UID FLAGS)\r\n", t);
    S("* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (3))\r\n* 2 FETCH (UID 2 FLAGS ())\r\n"
      "* 3 FETCH (UID 4 FLAGS (\\Flagged))\r\n%s OK fetched\r\n", t);
}

static void script_incr_qresync(const model *m)
{
    const char *t;
    script_reset(G_QRESYNC);
    t = next_tag();
    C("%s ENABLE QRESYNC\r\n", t);
    S("* ENABLED QRESYNC\r\n%s OK enabled\r\n", t);
    t = next_tag();
    C("%s SELECT INBOX (QRESYNC (7 %llu %s))\r\n", t, (unsigned long long)m->st.highestmodseq,
      known(m));
    S("* 3 EXISTS\r\n* OK [UIDVALIDITY 7] UIDs valid\r\n* OK [UIDNEXT 6] next\r\n"
      "* OK [HIGHESTMODSEQ 26] mod\r\n* VANISHED (EARLIER) 2\r\n"
      "* 2 FETCH (UID 4 FLAGS (\\Flagged \\Seen) MODSEQ (25))\r\n"
      "%s OK [READ-WRITE] done\r\n", t);
    /* the new message is not among the known UIDs: asked for by UID */
    t = next_tag();
    C("%s UID FETCH 5:* (UID FLAGS)\r\n", t);
    S("* 3 FETCH (UID 5 FLAGS () MODSEQ (26))\r\n%s OK fetched\r\n", t);
}

static void script_incr_condstore(const model *m)
{
    const char *t;
    script_reset(G_CONDSTORE);
    t = next_tag();
    C("%s SELECT INBOX (CONDSTORE)\r\n", t);
    select_reply(t, 3, 6, "HIGHESTMODSEQ 26");
    if (m->n) {
        t = next_tag();
        C("%s UID SEARCH ALL\r\n", t);
        S("* SEARCH 1 4 5\r\n%s OK searched\r\n", t);
    }
    t = next_tag();
    C("%s UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE %llu)\r\n", t,
      (unsigned long long)m->st.highestmodseq);
    S("* 2 FETCH (UID 4 FLAGS (\\Flagged \\Seen) MODSEQ (25))\r\n"
      "* 3 FETCH (UID 5 FLAGS () MODSEQ (26))\r\n%s OK fetched\r\n", t);
}

static void script_incr_plain(const model *m, const char *greeting, const char *code)
{
    const char *t;
    script_reset(greeting);
    t = next_tag();
    if (strcmp(greeting, G_PLAIN) == 0) C("%s SELECT INBOX\r\n", t);
    else C("%s SELECT INBOX (CONDSTORE)\r\n", t);
    select_reply(t, 3, 6, code);
    if (m->n) {
        t = next_tag();
        C("%s UID SEARCH ALL\r\n", t);
        S("* SEARCH 1 4 5\r\n%s OK searched\r\n", t);
    }
    t = next_tag();
    C("%s UID FETCH 1:* (UID FLAGS)\r\n", t);
    S("* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n* 2 FETCH (UID 4 FLAGS (\\Flagged \\Seen))\r\n"
      "* 3 FETCH (UID 5 FLAGS ())\r\n%s OK fetched\r\n", t);
}

/* the local copy after the first sync, and after the second */
static void first_state(model *m)
{
    imap_script sc;
    memset(m, 0, sizeof *m);
    script_first_qresync();
    CHECK_EQ_INT(run_sync(m, 0, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    CHECK(imap_script_done(&sc));
}

static void check_second(const model *m)
{
    CHECK_EQ_INT(m->n, 3);
    CHECK_EQ_INT(m->m[0].uid, 1);
    CHECK(strcmp(m->m[0].flags, "\\Seen") == 0);
    CHECK_EQ_INT(m->m[1].uid, 4);
    CHECK(strcmp(m->m[1].flags, "\\Flagged \\Seen") == 0);
    CHECK_EQ_INT(m->m[2].uid, 5);
    CHECK(strcmp(m->m[2].flags, "") == 0);
    CHECK_EQ_INT(m->st.uidvalidity, 7);
    CHECK_EQ_INT(m->st.uidnext, 6);
}

TEST(first_sync_takes_every_message)
{
    model m;
    first_state(&m);
    CHECK_EQ_INT(m.n, 3);
    CHECK_EQ_INT(m.news, 3);
    CHECK_EQ_INT(m.st.uidvalidity, 7);
    CHECK_EQ_INT(m.st.highestmodseq, 20);
    CHECK_EQ_INT(m.st.uidnext, 5);
    CHECK(strcmp(known(&m), "1:2,4") == 0);
    CHECK_EQ_INT(cl.state, IMAP_STATE_LOGOUT);
}

TEST(qresync_incremental)
{
    model m;
    imap_script sc;
    first_state(&m);
    m.news = 0;
    script_incr_qresync(&m);
    CHECK_EQ_INT(run_sync(&m, 0, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    CHECK(imap_script_done(&sc));
    if (!imap_script_done(&sc)) printf("    mismatch at step %u: got %.*s\n", (unsigned)sc.mismatch_step,
                                        (int)sc.mismatch_got_len, sc.mismatch_got);
    check_second(&m);
    CHECK_EQ_INT(m.st.highestmodseq, 26);
    CHECK_EQ_INT(m.news, 1);                    /* UID 5 only */
}

TEST(condstore_incremental)
{
    model m;
    imap_script sc;
    first_state(&m);
    m.news = 0;
    script_incr_condstore(&m);
    CHECK_EQ_INT(run_sync(&m, 0, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    CHECK(imap_script_done(&sc));
    check_second(&m);
    CHECK_EQ_INT(m.st.highestmodseq, 26);
    CHECK_EQ_INT(m.news, 1);
}

TEST(plain_incremental)
{
    model m;
    imap_script sc;
    first_state(&m);
    m.news = 0;
    script_incr_plain(&m, G_PLAIN, "X-NONE");
    CHECK_EQ_INT(run_sync(&m, 0, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    CHECK(imap_script_done(&sc));
    check_second(&m);
    CHECK_EQ_INT(m.st.highestmodseq, 0);
    CHECK_EQ_INT(m.news, 1);
}

TEST(forced_plain_on_a_qresync_server)
{
    model m;
    imap_script sc;
    first_state(&m);
    /* max_method PLAIN: no ENABLE, no CHANGEDSINCE */
    script_incr_plain(&m, G_PLAIN, "X-NONE");
    steps[0].data = G_QRESYNC;
    CHECK_EQ_INT(run_sync(&m, IMAP_SYNC_PLAIN, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    CHECK(imap_script_done(&sc));
    check_second(&m);
}

TEST(nomodseq_falls_back_to_plain)
{
    model m;
    imap_script sc;
    first_state(&m);
    script_incr_plain(&m, G_CONDSTORE, "NOMODSEQ");
    CHECK_EQ_INT(run_sync(&m, IMAP_SYNC_CONDSTORE, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    CHECK(imap_script_done(&sc));
    check_second(&m);
    CHECK_EQ_INT(m.st.highestmodseq, 0);
}

TEST(uidvalidity_change_starts_over)
{
    model m;
    imap_script sc;
    const char *t;
    first_state(&m);
    script_reset(G_QRESYNC);
    t = next_tag();
    C("%s ENABLE QRESYNC\r\n", t);
    S("* ENABLED QRESYNC\r\n%s OK enabled\r\n", t);
    t = next_tag();
    C("%s SELECT INBOX (QRESYNC (7 20 1:2,4))\r\n", t);
    /* RFC 7162 §3.2.5.2: another UIDVALIDITY, so no VANISHED, no FETCH */
    S("* 1 EXISTS\r\n* OK [UIDVALIDITY 9] new\r\n* OK [UIDNEXT 2] next\r\n"
      "* OK [HIGHESTMODSEQ 4] mod\r\n%s OK [READ-WRITE] done\r\n", t);
    t = next_tag();
    C("%s UID FETCH 1:* (UID FLAGS)\r\n", t);
    S("* 1 FETCH (UID 1 FLAGS (\\Answered))\r\n%s OK fetched\r\n", t);
    CHECK_EQ_INT(run_sync(&m, 0, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    CHECK(imap_script_done(&sc));
    CHECK_EQ_INT(m.resets, 1);
    CHECK_EQ_INT(m.n, 1);
    CHECK(strcmp(m.m[0].flags, "\\Answered") == 0);
    CHECK_EQ_INT(m.st.uidvalidity, 9);
    CHECK_EQ_INT(m.st.uidnext, 2);
}

TEST(search_out_of_order_is_refused)
{
    model m;
    imap_script sc;
    const char *t;
    first_state(&m);
    script_reset(G_PLAIN);
    t = next_tag();
    C("%s SELECT INBOX\r\n", t);
    select_reply(t, 3, 6, "X-NONE");
    t = next_tag();
    C("%s UID SEARCH ALL\r\n", t);
    S("* SEARCH 4 1 5\r\n%s OK searched\r\n", t);
    CHECK_EQ_INT(run_sync(&m, 0, IMAP_SCRIPT_NEVER, &sc), IMAP_E_UNSUPPORTED);
    CHECK_EQ_INT(m.st.uidnext, 5);              /* nothing committed */
}

TEST(esearch_answer_counts_as_search)
{
    model m;
    imap_script sc;
    const char *t;
    first_state(&m);
    script_reset(G_PLAIN);
    t = next_tag();
    C("%s SELECT INBOX\r\n", t);
    select_reply(t, 3, 6, "X-NONE");
    t = next_tag();
    C("%s UID SEARCH ALL\r\n", t);
    /* IMAP4rev2 (RFC 9051 §7.3.4) answers with ESEARCH */
    S("* ESEARCH (TAG \"%s\") UID ALL 1,4:5\r\n%s OK searched\r\n", t, t);
    t = next_tag();
    C("%s UID FETCH 1:* (UID FLAGS)\r\n", t);
    S("* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n* 2 FETCH (UID 4 FLAGS (\\Flagged \\Seen))\r\n"
      "* 3 FETCH (UID 5 FLAGS ())\r\n%s OK fetched\r\n", t);
    CHECK_EQ_INT(run_sync(&m, 0, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    CHECK(imap_script_done(&sc));
    check_second(&m);
}

/* A drop after every byte of the server's answers, at every point of the
   session: the sync fails with an abort and commits nothing, and the next
   (clean) sync from there gives the state of an uninterrupted run. */
static void drop_everywhere(int which)
{
    model base, clean, m;
    imap_script sc;
    size_t total, k;
    int bad = 0, dropped = 0;
    first_state(&base);
    clean = base;
    if (which == 0) script_incr_qresync(&clean);
    else if (which == 1) script_incr_condstore(&clean);
    else script_incr_plain(&clean, G_PLAIN, "X-NONE");
    CHECK_EQ_INT(run_sync(&clean, 0, IMAP_SCRIPT_NEVER, &sc), IMAP_OK);
    total = sc.bytes_read;
    for (k = 0; k < total; k++) {
        int rc;
        m = base;
        if (which == 0) script_incr_qresync(&m);
        else if (which == 1) script_incr_condstore(&m);
        else script_incr_plain(&m, G_PLAIN, "X-NONE");
        rc = run_sync(&m, 0, k, &sc);
        if (rc == IMAP_OK) continue;            /* the drop came after the end */
        dropped++;
        if (imap_result_class_of(rc) != IMAP_CLASS_ABORT || m.st.uidnext != base.st.uidnext) bad++;
        /* the resumed sync: a new connection, the script built from what
           the local copy holds now */
        if (which == 0) script_incr_qresync(&m);
        else if (which == 1) script_incr_condstore(&m);
        else script_incr_plain(&m, G_PLAIN, "X-NONE");
        rc = run_sync(&m, 0, IMAP_SCRIPT_NEVER, &sc);
        m.news = clean.news;
        m.resets = clean.resets;
        if (rc != IMAP_OK || !same(&m, &clean)) {
            if (bad++ < 3) printf("    drop at %u: resumed sync rc %d\n", (unsigned)k, rc);
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(dropped > 100);
}

TEST(drop_at_every_offset_qresync) { drop_everywhere(0); }
TEST(drop_at_every_offset_condstore) { drop_everywhere(1); }
TEST(drop_at_every_offset_plain) { drop_everywhere(2); }

/* ---- the client calls and the views ------------------------------------ */

static void on_data_count(void *arg, imap_client *c, const imap_response *r)
{
    int *n = (int *)arg;
    (void)c;
    if (imap_response_is(r, "VANISHED")) n[0]++;
    if (imap_response_is(r, "FETCH")) n[1]++;
}

static void sans_io(const char *greeting)
{
    size_t used;
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, SEED);
    imap_client_start(&cl);
    imap_client_feed(&cl, greeting, strlen(greeting), &used);
    imap_tagger_init(&tagger, SEED);
}

static const char *sent(void)
{
    static char buf[1024];
    size_t n = 0, len;
    const unsigned char *p;
    while (imap_client_output(&cl, &p, &len) && n + len < sizeof buf) {
        memcpy(buf + n, p, len);
        n += len;
        imap_client_output_ack(&cl, len);
    }
    buf[n] = 0;
    return buf;
}

static void feedf(const char *fmt, ...)
{
    char buf[1024];
    size_t used;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    imap_client_feed(&cl, buf, (size_t)n, &used);
}

TEST(select_ext_routes_qresync_answers)
{
    imap_qresync q;
    imap_call call;
    int n[2] = { 0, 0 };
    char want[128], buf[64];
    size_t len;
    sans_io(G_QRESYNC);
    memset(&q, 0, sizeof q);
    q.uidvalidity = 7;
    q.modseq = 20;
    q.known_uids = "1:4";
    memset(&call, 0, sizeof call);
    call.on_data = on_data_count;
    call.arg = n;
    CHECK_EQ_INT(imap_select_ext(&cl, "INBOX", 1, 0, &q, &call), IMAP_MORE);
    snprintf(want, sizeof want, "%s EXAMINE INBOX (QRESYNC (7 20 1:4))\r\n", next_tag());
    CHECK(strcmp(sent(), want) == 0);
    feedf("* OK [HIGHESTMODSEQ 26] x\r\n* VANISHED (EARLIER) 2\r\n* 3 FETCH (UID 4 FLAGS () MODSEQ (25))\r\n"
          "%s OK [READ-ONLY] done\r\n", tag);
    CHECK_EQ_INT(cl.state, IMAP_STATE_SELECTED);
    CHECK_EQ_INT(cl.readonly, 1);
    CHECK_EQ_INT(n[0], 1);
    CHECK_EQ_INT(n[1], 1);
    CHECK_EQ_INT(imap_client_response(&cl, "HIGHESTMODSEQ", buf, sizeof buf, &len), 1);
    CHECK(strcmp(buf, "26") == 0);
}

TEST(fetch_changedsince_vanished_and_store_unchangedsince)
{
    imap_call call;
    int n[2] = { 0, 0 };
    char want[128], buf[64];
    size_t len;
    sans_io(G_QRESYNC);
    feedf("");
    cl.state = IMAP_STATE_SELECTED;
    memset(&call, 0, sizeof call);
    call.on_data = on_data_count;
    call.arg = n;
    CHECK_EQ_INT(imap_fetch_changedsince(&cl, 1, "1:*", "(FLAGS)", 12, 1, &call), IMAP_MORE);
    snprintf(want, sizeof want, "%s UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12 VANISHED)\r\n", next_tag());
    CHECK(strcmp(sent(), want) == 0);
    feedf("* VANISHED (EARLIER) 3:5\r\n* 1 FETCH (UID 1 FLAGS () MODSEQ (13))\r\n%s OK done\r\n", tag);
    CHECK_EQ_INT(n[0], 1);                      /* VANISHED went to the call */
    CHECK_EQ_INT(n[1], 1);
    /* without VANISHED a FETCH does not take an EXPUNGE-class answer */
    CHECK_EQ_INT(imap_fetch_changedsince(&cl, 0, "1:2", "(FLAGS)", 12, 0, &call), IMAP_MORE);
    snprintf(want, sizeof want, "%s FETCH 1:2 (FLAGS) (CHANGEDSINCE 12)\r\n", next_tag());
    CHECK(strcmp(sent(), want) == 0);
    cl.exists = 5;
    feedf("* VANISHED 9\r\n%s OK done\r\n", tag);
    CHECK_EQ_INT(n[0], 1);
    CHECK_EQ_INT(cl.exists, 4);                 /* VANISHED lowers EXISTS */
    CHECK_EQ_INT(imap_store_unchangedsince(&cl, 1, "7,9", 20, "+FLAGS", "(\\Seen)", NULL), IMAP_MORE);
    snprintf(want, sizeof want, "%s UID STORE 7,9 (UNCHANGEDSINCE 20) +FLAGS (\\Seen)\r\n", next_tag());
    CHECK(strcmp(sent(), want) == 0);
    feedf("* 5 FETCH (UID 7 FLAGS (\\Seen) MODSEQ (21))\r\n%s OK [MODIFIED 9] partly\r\n", tag);
    CHECK_EQ_INT(imap_client_response(&cl, "MODIFIED", buf, sizeof buf, &len), 1);
    CHECK(strcmp(buf, "9") == 0);
    /* ENABLED QRESYNC is remembered */
    feedf("* ENABLED QRESYNC\r\n");
    CHECK_EQ_INT(cl._enabled, 3);
}

static imap_response *parse(imap_parser *p, const char *s)
{
    static unsigned char buf[4096];
    imap_response *r = NULL;
    size_t used;
    imap_parser_init(p, buf, sizeof buf);
    if (imap_parser_feed(p, s, strlen(s), &used, &r) != IMAP_OK) return NULL;
    return r;
}

TEST(views)
{
    imap_parser p;
    imap_response *r;
    imap_vanished v;
    imap_u64 n = 0;
    imap_str set = { NULL, 0 };
    r = parse(&p, "* VANISHED (EARLIER) 41,43:116\r\n");
    CHECK(r && imap_vanished_decode(r, &v) == 0);
    CHECK_EQ_INT(v.earlier, 1);
    CHECK_STR(v.uids, "41,43:116");
    r = parse(&p, "* VANISHED 7\r\n");
    CHECK(r && imap_vanished_decode(r, &v) == 0);
    CHECK_EQ_INT(v.earlier, 0);
    CHECK_STR(v.uids, "7");
    r = parse(&p, "* VANISHED (LATER) 7\r\n");
    CHECK(r && imap_vanished_decode(r, &v) == IMAP_E_SYNTAX);
    r = parse(&p, "* 5 FETCH (UID 9 MODSEQ (624140003) FLAGS ())\r\n");
    CHECK(r && imap_fetch_modseq(r, &n) == 0);
    CHECK_EQ_INT(n, 624140003);
    r = parse(&p, "* 5 FETCH (UID 9 FLAGS ())\r\n");
    CHECK(r && imap_fetch_modseq(r, &n) == IMAP_E_SYNTAX);
    r = parse(&p, "* 5 FETCH (MODSEQ 4)\r\n");
    CHECK(r && imap_fetch_modseq(r, &n) == IMAP_E_SYNTAX);
    r = parse(&p, "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n");
    CHECK(r && imap_response_code_u64(r, "HIGHESTMODSEQ", &n) == 1);
    CHECK(n == 715194045007ull);
    CHECK(r && imap_response_code_u64(r, "UIDNEXT", &n) == 0);
    r = parse(&p, "* OK [HIGHESTMODSEQ x] Highest\r\n");
    CHECK(r && imap_response_code_u64(r, "HIGHESTMODSEQ", &n) == IMAP_E_SYNTAX);
    r = parse(&p, "* OK [NOMODSEQ] none\r\n");
    CHECK(r && imap_str_is(imap_response_code_name(r), "NOMODSEQ"));
    r = parse(&p, "A1 OK [MODIFIED 7,9] Conditional STORE failed\r\n");
    CHECK(r && imap_response_code_set(r, "MODIFIED", &set) == 1);
    CHECK_STR(set, "7,9");
}

/* ---- reconnect ------------------------------------------------------- */

typedef struct conn_log {
    int attempts, fail_first;
    imap_script sc;
    imap_script_step st[2];
    long waits[8];
    int nwaits;
} conn_log;

static int connect_fn(void *arg, imap_client *c)
{
    conn_log *l = (conn_log *)arg;
    imap_transport t;
    l->attempts++;
    l->st[0].kind = l->attempts <= l->fail_first ? IMAP_SCRIPT_CLOSE : IMAP_SCRIPT_REPLY;
    l->st[0].data = l->attempts <= l->fail_first ? NULL : G_QRESYNC;
    l->st[0].len = 0;
    imap_script_init(&l->sc, l->st, 1, &t);
    return imap_client_open(c, &t);
}

static void sleep_fn(void *arg, long ms)
{
    conn_log *l = (conn_log *)arg;
    if (l->nwaits < 8) l->waits[l->nwaits++] = ms;
}

TEST(reconnect_backs_off_and_keeps_settings)
{
    imap_reconnect r;
    conn_log l;
    memset(&l, 0, sizeof l);
    memset(&r, 0, sizeof r);
    l.fail_first = 4;
    r.connect = connect_fn;
    r.sleep_ms = sleep_fn;
    r.arg = &l;
    r.min_ms = 100;
    r.max_ms = 300;
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_set_timeout(&cl, 4321);
    CHECK_EQ_INT(imap_client_reconnect(&cl, mem, sizeof mem, &r), IMAP_OK);
    CHECK_EQ_INT(r.tries, 5);
    CHECK_EQ_INT(l.nwaits, 4);
    CHECK_EQ_INT(l.waits[0], 100);
    CHECK_EQ_INT(l.waits[1], 200);
    CHECK_EQ_INT(l.waits[2], 300);
    CHECK_EQ_INT(l.waits[3], 300);
    CHECK_EQ_INT(cl.timeout_ms, 4321);
    CHECK_EQ_INT(cl.state, IMAP_STATE_AUTH);
    CHECK(imap_client_has_cap(&cl, "QRESYNC"));
    /* max_tries: the last failure comes back */
    memset(&l, 0, sizeof l);
    l.fail_first = 10;
    r.max_tries = 3;
    CHECK_EQ_INT(imap_client_reconnect(&cl, mem, sizeof mem, &r), IMAP_E_CLOSED);
    CHECK_EQ_INT(l.attempts, 3);
    imap_client_close(&cl);
}

/* ---- imap_watch_step: sync, IDLE, a drop, reconnect, catch up --------- */

typedef struct watch_ctx {
    int attempts;
    size_t a_first, a_n, b_first, b_n;
    imap_script sc;
    model *m;
    int stop_after, rounds;
} watch_ctx;

static int watch_connect(void *arg, imap_client *c)
{
    watch_ctx *w = (watch_ctx *)arg;
    imap_transport t;
    w->attempts++;
    if (w->attempts == 1) imap_script_init(&w->sc, steps + w->a_first, w->a_n, &t);
    else imap_script_init(&w->sc, steps + w->b_first, w->b_n, &t);
    return imap_client_open(c, &t);
}

static int watch_synced(void *arg, const imap_sync_state *st)
{
    model *m = (model *)arg;
    m->st = *st;                            /* "stored" */
    return m->resets == 99;                 /* never: the test stops by rounds */
}

static watch_ctx *g_watch;
static long long fake_now;

static long long fake_clock(void *arg)
{
    (void)arg;
    return fake_now += 100;                 /* time passes as the engine looks */
}

static int watch_synced_stop(void *arg, const imap_sync_state *st)
{
    watch_synced(arg, st);
    return ++g_watch->rounds >= g_watch->stop_after;
}

TEST(watch_step_idles_survives_a_drop_and_catches_up)
{
    static model m;
    watch_ctx w;
    imap_reconnect r;
    imap_sync s;
    imap_sync_state st;
    const char *t;
    memset(&m, 0, sizeof m);
    memset(&w, 0, sizeof w);
    /* connection A */
    script_reset("* PREAUTH [CAPABILITY IMAP4rev1 CONDSTORE QRESYNC ENABLE IDLE] hi\r\n");
    t = next_tag();
    C("%s ENABLE QRESYNC\r\n", t);
    S("* ENABLED QRESYNC\r\n%s OK enabled\r\n", t);
    t = next_tag();
    C("%s EXAMINE INBOX (QRESYNC (7 20))\r\n", t);
    select_reply(t, 3, 5, "HIGHESTMODSEQ 20");
    t = next_tag();
    C("%s IDLE\r\n", t);
    /* the change comes before the "+": IDLE must still end at once */
    S("* 4 EXISTS\r\n+ idling\r\n");
    C("DONE\r\n");
    S("%s OK idle done\r\n", t);
    t = next_tag();
    C("%s EXAMINE INBOX (QRESYNC (7 20))\r\n", t);
    S("* 4 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 6] n\r\n* OK [HIGHESTMODSEQ 21] m\r\n"
      "* 4 FETCH (UID 5 FLAGS () MODSEQ (21))\r\n%s OK [READ-ONLY] done\r\n", t);
    t = next_tag();
    C("%s UID FETCH 5:* (UID FLAGS)\r\n", t);
    S("* 4 FETCH (UID 5 FLAGS () MODSEQ (21))\r\n%s OK fetched\r\n", t);
    t = next_tag();
    C("%s IDLE\r\n", t);
    S("+ idling\r\n");
    step(IMAP_SCRIPT_CLOSE, "%s", "");
    w.a_first = 0;
    w.a_n = nsteps;
    /* connection B: the tags go on */
    w.b_first = nsteps;
    steps[nsteps].kind = IMAP_SCRIPT_REPLY;
    steps[nsteps].data = G_QRESYNC;
    steps[nsteps++].len = 0;
    t = next_tag();
    C("%s ENABLE QRESYNC\r\n", t);
    S("* ENABLED QRESYNC\r\n%s OK enabled\r\n", t);
    t = next_tag();
    C("%s EXAMINE INBOX (QRESYNC (7 21))\r\n", t);
    select_reply(t, 5, 7, "HIGHESTMODSEQ 22");
    t = next_tag();
    C("%s UID FETCH 6:* (UID FLAGS)\r\n", t);
    S("* 5 FETCH (UID 6 FLAGS (\\Seen))\r\n%s OK fetched\r\n", t);
    w.b_n = nsteps - w.b_first;

    memset(&r, 0, sizeof r);
    r.connect = watch_connect;
    r.sleep_ms = sleep_fn;
    r.arg = &w;
    memset(&s, 0, sizeof s);
    s.mailbox = "INBOX";
    s.readonly = 1;
    s.on_message = on_message;
    s.on_vanished = on_vanished;
    s.on_reset = on_reset;
    s.arg = &m;
    memset(&st, 0, sizeof st);
    st.uidvalidity = 7;
    st.highestmodseq = 20;
    st.uidnext = 5;
    g_watch = &w;
    w.stop_after = 3;
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, SEED);
    imap_client_set_clock(&cl, fake_clock, NULL);
    fake_now = 0;
    /* round 1: connect, sync (nothing new), IDLE ends on EXISTS */
    CHECK_EQ_INT(imap_watch_step(&cl, mem, sizeof mem, &r, &s, &st, 60000, watch_synced_stop), IMAP_OK);
    CHECK_EQ_INT(m.n, 0);
    CHECK(fake_now < 20000);                /* DONE at once, not at the 60 s IDLE timeout */
    if (w.sc.mismatch) printf("    mismatch at step %u: got '%.*s'\n", (unsigned)w.sc.mismatch_step,
                              (int)w.sc.mismatch_got_len, w.sc.mismatch_got);
    /* round 2: the new message, then the connection drops in IDLE */
    CHECK(imap_result_class_of(imap_watch_step(&cl, mem, sizeof mem, &r, &s, &st, 60000,
                                               watch_synced_stop)) == IMAP_CLASS_ABORT);
    CHECK_EQ_INT(m.n, 1);
    CHECK_EQ_INT(m.st.highestmodseq, 21);
    /* round 3: reconnect, catch up from the stored state, stop */
    CHECK_EQ_INT(imap_watch_step(&cl, mem, sizeof mem, &r, &s, &st, 60000, watch_synced_stop), IMAP_OK);
    CHECK(imap_script_done(&w.sc));
    CHECK_EQ_INT(w.attempts, 2);
    CHECK_EQ_INT(m.n, 2);
    CHECK_EQ_INT(m.m[1].uid, 6);
    CHECK_EQ_INT(st.uidnext, 7);
    CHECK_EQ_INT(st.highestmodseq, 22);
    imap_client_close(&cl);
}

int main(void)
{
    RUN(first_sync_takes_every_message);
    RUN(qresync_incremental);
    RUN(condstore_incremental);
    RUN(plain_incremental);
    RUN(forced_plain_on_a_qresync_server);
    RUN(nomodseq_falls_back_to_plain);
    RUN(uidvalidity_change_starts_over);
    RUN(search_out_of_order_is_refused);
    RUN(esearch_answer_counts_as_search);
    RUN(drop_at_every_offset_qresync);
    RUN(drop_at_every_offset_condstore);
    RUN(drop_at_every_offset_plain);
    RUN(select_ext_routes_qresync_answers);
    RUN(fetch_changedsince_vanished_and_store_unchangedsince);
    RUN(views);
    RUN(reconnect_backs_off_and_keeps_settings);
    RUN(watch_step_idles_survives_a_drop_and_catches_up);
    return test_summary();
}
