/* The imaplib-shaped facade (section 9) against scripted servers: nothing
   a call gathers is lost without a code saying so; imaplib's data
   shapes; the per-call literal sink; on_done's data; built commands sent
   through the client with state and routing (issue 13). */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <stdlib.h>

static imap_client cl;
static imap_script sc;
static imap_transport tr;

/* Open cl over the steps with mem[0..cap); tags are BAAA0, BAAA1, ... */
static int open_script(const imap_script_step *steps, size_t n, void *mem, size_t cap)
{
    imap_client_init(&cl, mem, cap);
    imap_client_seed_tags(&cl, 0);
    imap_script_init(&sc, steps, n, &tr);
    return imap_client_open(&cl, &tr);
}

/* On a mismatch, say what the client wrote instead. */
static void script_report(void)
{
    if (sc.mismatch)
        printf("    script step %u: got \"%.*s\"\n", (unsigned)sc.mismatch_step,
               (int)sc.mismatch_got_len, (const char *)sc.mismatch_got);
}

#define GREET "* OK [CAPABILITY IMAP4rev1 LITERAL+ CONDSTORE QRESYNC] hi\r\n"

/* n FETCH ENVELOPE responses of about 300 bytes, then the tagged OK. */
static size_t env_need;     /* store bytes they take: imaplib's shape */
static char *envelopes(unsigned n, const char *tag)
{
    size_t cap = (size_t)n * 400 + 64, len = 0;
    char *s = (char *)malloc(cap);
    unsigned i;
    env_need = 0;
    for (i = 1; i <= n; i++) {
        size_t was = len;
        len += (size_t)sprintf(s + len, "* %u FETCH (ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" "
            "\"Subject number %u of many, long enough to matter\" ((\"Fred Foobar\" NIL \"foobar\" "
            "\"example.org\")) NIL NIL ((NIL NIL \"alice\" \"example.org\")) NIL NIL NIL "
            "\"<B27397-0100000%u@example.org>\"))\r\n", i, i, i);
        /* "* 1 FETCH (...)" CRLF is kept as FETCH -> "1 (...)" */
        env_need += 9 + 5 + (len - was) - 2 - 6 - 2;
    }
    sprintf(s + len, "%s OK Fetch completed.\r\n", tag);
    return s;
}

TEST(blocking_fetch_over_the_store_is_not_ok)
{
    /* 16 KiB of memory: a 2 KiB store, far less than 100 envelopes */
    static unsigned char mem[16384];
    char *big = envelopes(100, "BAAA0");
    size_t need100 = env_need;
    imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, GREET, 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 FETCH 1:* (ENVELOPE)\r\n", 0 },
        { IMAP_SCRIPT_REPLY, NULL, 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 FETCH 1 (ENVELOPE)\r\n", 0 },
        { IMAP_SCRIPT_REPLY, NULL, 0 },
    };
    char *one = envelopes(1, "BAAA1");
    char data[1024];
    size_t n, kept = 0;
    steps[2].data = big;
    steps[4].data = one;
    CHECK_EQ_INT(open_script(steps, 5, mem, sizeof mem), IMAP_OK);
    CHECK_EQ_INT(imap_fetch(&cl, "1:*", "(ENVELOPE)", NULL), IMAP_E_DROPPED);
    /* the size that would have held all 100: 9 + 5 + data bytes each */
    CHECK_EQ_INT(cl.store_needed, need100);
    CHECK(imap_result_class_of(IMAP_E_DROPPED) == IMAP_CLASS_ERROR);
    CHECK(strcmp(imap_result_name(IMAP_E_DROPPED), "E_DROPPED") == 0);
    /* what fitted is kept, oldest first */
    while (imap_client_response(&cl, "FETCH", data, sizeof data, &n) == 1) {
        if (kept == 0) CHECK(strncmp(data, "1 (ENVELOPE (", 13) == 0);
        kept++;
    }
    CHECK(kept > 0 && kept < 100);
    /* the session goes on; a call whose data fits is OK, with all of it */
    CHECK_EQ_INT(imap_fetch(&cl, "1", "(ENVELOPE)", NULL), IMAP_OK);
    CHECK_EQ_INT(imap_client_response(&cl, "FETCH", data, sizeof data, &n), 1);
    CHECK(strncmp(data, "1 (ENVELOPE (", 13) == 0);
    script_report();
    CHECK(imap_script_done(&sc));
    free(big);
    free(one);
}

TEST(one_response_larger_than_the_store)
{
    static unsigned char mem[8192];             /* 1 KiB store */
    static char reply[4096], body[1500];
    imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, GREET, 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 FETCH 1 BODY[]\r\n", 0 },
        { IMAP_SCRIPT_REPLY, reply, 0 },
    };
    memset(body, 'b', sizeof body - 1);
    sprintf(reply, "* 1 FETCH (BODY[] {%u}\r\n%s)\r\nBAAA0 OK done\r\n",
            (unsigned)strlen(body), body);
    CHECK_EQ_INT(open_script(steps, 3, mem, sizeof mem), IMAP_OK);
    CHECK_EQ_INT(imap_fetch(&cl, "1", "BODY[]", NULL), IMAP_E_DROPPED);
    /* 9 header bytes, "FETCH", "1 (BODY[] {1499}" CRLF, the body, ")" */
    CHECK_EQ_INT(cl.store_needed, 9 + 5 + 16 + 2 + 1499 + 1);
}

TEST(imaplib_shapes)
{
    static unsigned char mem[65536];
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n", 0 },
        /* LOGIN answered with an untagged CAPABILITY: no second round trip */
        { IMAP_SCRIPT_EXPECT, "BAAA0 LOGIN alice \"secret\"\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* CAPABILITY IMAP4rev1 LITERAL+ MOVE\r\nBAAA0 OK Logged in\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 SELECT INBOX\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* 2 EXISTS\r\nBAAA1 OK [READ-WRITE] Select completed\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA2 STORE 1 +FLAGS (\\Seen)\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* 1 FETCH (FLAGS (\\Seen))\r\nBAAA2 OK Store completed.\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA3 APPEND INBOX {5+}\r\nhello\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA3 OK [APPENDUID 38505 3955] Append completed.\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA4 SELECT nope\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA4 NO [NONEXISTENT] Mailbox doesn't exist: nope\r\n", 0 },
    };
    char v[256];
    size_t n;
    CHECK_EQ_INT(open_script(steps, sizeof steps / sizeof steps[0], mem, sizeof mem), IMAP_OK);
    CHECK_EQ_INT(imap_login(&cl, "alice", "secret", NULL), IMAP_OK);
    CHECK(strcmp(cl.last_text, "Logged in") == 0);
    CHECK(imap_client_has_cap(&cl, "MOVE"));
    CHECK_EQ_INT(imap_select(&cl, "INBOX", 0, NULL), IMAP_OK);
    CHECK(strcmp(cl.last_text, "[READ-WRITE] Select completed") == 0);
    CHECK_EQ_INT(imap_client_response(&cl, "EXISTS", v, sizeof v, &n), 1);
    CHECK(strcmp(v, "2") == 0);
    CHECK_EQ_INT(imap_store(&cl, "1", "+FLAGS", "(\\Seen)", NULL), IMAP_OK);
    CHECK_EQ_INT(imap_client_response(&cl, "FETCH", v, sizeof v, &n), 1);
    CHECK(strcmp(v, "1 (FLAGS (\\Seen))") == 0);
    CHECK_EQ_INT(imap_append(&cl, "INBOX", NULL, NULL, "hello", 5, NULL), IMAP_OK);
    CHECK(strcmp(cl.last_text, "[APPENDUID 38505 3955] Append completed.") == 0);
    CHECK_EQ_INT(imap_client_response(&cl, "APPENDUID", v, sizeof v, &n), 1);
    CHECK(strcmp(v, "38505 3955") == 0);
    CHECK_EQ_INT(imap_select(&cl, "nope", 0, NULL), IMAP_E_NO);
    CHECK(strcmp(cl.last_text, "[NONEXISTENT] Mailbox doesn't exist: nope") == 0);
    script_report();
    CHECK(imap_script_done(&sc));
}

TEST(login_without_capabilities_asks_once_and_keeps_its_text)
{
    static unsigned char mem[65536];
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 LOGIN alice \"secret\"\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA0 OK Logged in\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 CAPABILITY\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* CAPABILITY IMAP4rev1 MOVE\r\nBAAA1 OK Capability completed.\r\n", 0 },
    };
    CHECK_EQ_INT(open_script(steps, sizeof steps / sizeof steps[0], mem, sizeof mem), IMAP_OK);
    CHECK_EQ_INT(imap_login(&cl, "alice", "secret", NULL), IMAP_OK);
    CHECK(strcmp(cl.last_text, "Logged in") == 0);
    CHECK(imap_client_has_cap(&cl, "MOVE"));
    script_report();
    CHECK(imap_script_done(&sc));
}

static int done_rc;
static void on_done_rc(void *arg, imap_client *c, int result, const imap_response *tagged)
{
    (void)c;
    (void)tagged;
    *(int *)arg = result;
}

static int refuse(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    (void)ctx;
    (void)info;
    (void)data;
    (void)len;
    return 1;
}

/* A literal sink that keeps what it gets. */
typedef struct collected {
    char buf[16384];
    size_t len;
    unsigned literals;      /* completed */
    imap_u64 msgno;
} collected;

static int collect(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    collected *k = (collected *)ctx;
    if (k->len + len > sizeof k->buf) return 1;
    memcpy(k->buf + k->len, data, len);
    k->len += len;
    if (info->offset + len == info->total) k->literals++;
    k->msgno = info->msgno;
    return 0;
}

TEST(a_long_tagged_text_is_cut_and_says_its_length)
{
    static unsigned char mem[65536];
    static char reply[1024];
    imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, GREET, 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 NOOP\r\n", 0 },
        { IMAP_SCRIPT_REPLY, reply, 0 },
    };
    size_t i, n = sprintf(reply, "BAAA0 OK [ALERT] ");
    for (i = 0; i < 600; i++) reply[n++] = (char)('a' + i % 26);
    strcpy(reply + n, "\r\n");
    CHECK_EQ_INT(open_script(steps, sizeof steps / sizeof steps[0], mem, sizeof mem), IMAP_OK);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_OK);
    /* "[ALERT] " and 600 letters: 608 bytes, 255 kept, the length said */
    CHECK_EQ_INT((long)cl.last_text_len, 608);
    CHECK_EQ_INT((long)strlen(cl.last_text), (long)sizeof cl.last_text - 1);
    CHECK(memcmp(cl.last_text, "[ALERT] abc", 11) == 0);
    script_report();
    CHECK(imap_script_done(&sc));
}

TEST(per_call_sink_takes_every_literal_of_its_command)
{
    static unsigned char mem[16384];
    static char reply[16384];
    static const char small_msg[] = "Subject: hi\r\n\r\nsmall\r\n";
    static char big_msg[6000];
    imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, GREET, 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 UID FETCH 7 BODY.PEEK[]\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 LIST \"\" \"*\"\r\n", 0 },
        { IMAP_SCRIPT_REPLY, reply, 0 },
    };
    imap_call call;
    collected k, g;
    const char *args[] = { "7", "BODY.PEEK[]" };
    size_t len = 0, n;
    char v[256];
    memset(big_msg, 'x', sizeof big_msg - 1);
    len += (size_t)sprintf(reply, "* 3 FETCH (UID 7 BODY[] {%u}\r\n%s)\r\n",
                           (unsigned)strlen(small_msg), small_msg);
    /* a literal of another command (LIST's mailbox name) stays in the buffer */
    len += (size_t)sprintf(reply + len, "* LIST () \"/\" {4}\r\nWork\r\n");
    len += (size_t)sprintf(reply + len, "* 3 FETCH (UID 7 BODY[1] {%u}\r\n%s)\r\n",
                           (unsigned)strlen(big_msg), big_msg);
    len += (size_t)sprintf(reply + len, "* 3 FETCH (UID 7 BODY[2] {0}\r\n)\r\n");
    sprintf(reply + len, "BAAA0 OK Fetch completed.\r\nBAAA1 OK List completed.\r\n");
    CHECK_EQ_INT(open_script(steps, 4, mem, sizeof mem), IMAP_OK);
    memset(&k, 0, sizeof k);
    memset(&g, 0, sizeof g);
    /* the parser-global sink with its threshold is for the rest */
    imap_parser_set_sink(imap_client_parser(&cl), 4096, collect, &g);
    /* UID FETCH queued with its sink, then LIST blocking behind it */
    memset(&call, 0, sizeof call);
    call.sink = collect;
    call.sink_arg = &k;
    call.on_done = on_done_rc;
    call.arg = &done_rc;
    done_rc = 99;
    CHECK_EQ_INT(imap_uid(&cl, "FETCH", args, 2, &call), IMAP_OK);
    CHECK_EQ_INT(imap_list(&cl, NULL, NULL, NULL), IMAP_OK);
    CHECK_EQ_INT(done_rc, IMAP_OK);
    CHECK_EQ_INT(k.literals, 3);
    CHECK_EQ_INT(k.len, strlen(small_msg) + strlen(big_msg));
    CHECK(memcmp(k.buf, small_msg, strlen(small_msg)) == 0);
    CHECK_EQ_INT(k.msgno, 3);
    CHECK_EQ_INT(g.literals, 0);                 /* not the global sink */
    CHECK_EQ_INT(imap_client_response(&cl, "LIST", v, sizeof v, &n), 1);
    CHECK(strcmp(v, "() \"/\" {4}\r\nWork") == 0);
    /* the FETCH responses are kept without their literals' bytes */
    CHECK_EQ_INT(imap_client_response(&cl, "FETCH", v, sizeof v, &n), 1);
    CHECK(strncmp(v, "3 (UID 7 BODY[] {", 17) == 0);
    script_report();
    CHECK(imap_script_done(&sc));
    (void)args;
}

/* Two pipelined UID FETCHes, one with a sink: the other's literal must
   not go to that sink (the UID on the first line tells them apart), and
   a sink that refuses fails its own call only. */
TEST(per_call_sink_by_uid_and_refusal)
{
    static unsigned char mem[65536];
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, GREET, 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 UID FETCH 1:2 BODY.PEEK[]\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 UID FETCH 5 BODY.PEEK[]\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* 3 FETCH (UID 5 BODY[] {3}\r\nabc)\r\n"
                             "* 1 FETCH (UID 1 BODY[] {4}\r\nwxyz)\r\n"
                             "BAAA1 OK done\r\nBAAA0 OK done\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA2 FETCH 1 BODY[]\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* 1 FETCH (BODY[] {4}\r\nwxyz)\r\nBAAA2 OK done\r\n", 0 },
    };
    const char *a1[] = { "1:2", "BODY.PEEK[]" }, *a2[] = { "5", "BODY.PEEK[]" };
    imap_call call, other;
    collected k;
    int rc1 = 99, rc2 = 99;
    char v[256];
    size_t n;
    memset(&k, 0, sizeof k);
    CHECK_EQ_INT(open_script(steps, sizeof steps / sizeof steps[0], mem, sizeof mem), IMAP_OK);
    memset(&call, 0, sizeof call);
    call.sink = collect;
    call.sink_arg = &k;
    call.on_done = on_done_rc;
    call.arg = &rc1;
    other = call;
    other.sink = NULL;
    other.arg = &rc2;
    CHECK_EQ_INT(imap_uid(&cl, "FETCH", a1, 2, &call), IMAP_OK);
    CHECK_EQ_INT(imap_uid(&cl, "FETCH", a2, 2, &other), IMAP_OK);
    CHECK_EQ_INT(imap_client_wait_all(&cl), IMAP_OK);
    CHECK_EQ_INT(rc1, IMAP_OK);
    CHECK_EQ_INT(rc2, IMAP_OK);
    CHECK_EQ_INT(k.len, 4);
    CHECK(memcmp(k.buf, "wxyz", 4) == 0);
    /* UID 5's literal stayed in the buffer and reached the store */
    CHECK_EQ_INT(imap_client_response(&cl, "FETCH", v, sizeof v, &n), 1);
    CHECK(strcmp(v, "3 (UID 5 BODY[] {3}\r\nabc)") == 0);
    /* a sink that refuses: that call is IMAP_E_SINK, the session goes on */
    memset(&call, 0, sizeof call);
    call.sink = refuse;
    CHECK_EQ_INT(imap_fetch(&cl, "1", "BODY[]", &call), IMAP_E_SINK);
    CHECK_EQ_INT(cl.error, 0);
    script_report();
    CHECK(imap_script_done(&sc));
}

/* imaplib2's callback: the command's data at hand inside on_done. */
typedef struct done_data {
    int calls, result;
    char head[64];
    char literal[64];
    int others;             /* entries of another command seen */
} done_data;

static void on_done_data(void *arg, imap_client *c, int result, const imap_response *tagged)
{
    done_data *d = (done_data *)arg;
    char name[32], data[512];
    size_t n;
    (void)tagged;
    d->calls++;
    d->result = result;
    while (imap_client_pop_untagged(c, name, sizeof name, data, sizeof data, &n) == 1) {
        const char *cur = data;
        imap_str text, lit;
        if (strcmp(name, "FETCH") != 0) {
            d->others++;
            continue;
        }
        if (imap_data_next(&cur, data + n, &text, &lit) == 1 && lit.ptr) {
            sprintf(d->head, "%.*s", (int)text.len, text.ptr);
            sprintf(d->literal, "%.*s", (int)lit.len, lit.ptr);
        }
    }
}

TEST(on_done_has_its_data)
{
    static unsigned char mem[65536];
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, GREET, 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 FETCH 1 (RFC822)\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 FETCH 2 (RFC822)\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* 2 FETCH (RFC822 {5}\r\nhello)\r\n* 1 FETCH (RFC822 {3}\r\nbye)\r\n"
                             "BAAA1 OK done\r\nBAAA0 OK done\r\n", 0 },
    };
    done_data d1, d2;
    imap_call c1, c2;
    size_t n;
    char v[64];
    memset(&d1, 0, sizeof d1);
    memset(&d2, 0, sizeof d2);
    CHECK_EQ_INT(open_script(steps, 4, mem, sizeof mem), IMAP_OK);
    memset(&c1, 0, sizeof c1);
    c1.on_done = on_done_data;
    c1.arg = &d1;
    c2 = c1;
    c2.arg = &d2;
    CHECK_EQ_INT(imap_fetch(&cl, "1", "(RFC822)", &c1), IMAP_OK);
    CHECK_EQ_INT(imap_fetch(&cl, "2", "(RFC822)", &c2), IMAP_OK);
    CHECK_EQ_INT(imap_client_wait_all(&cl), IMAP_OK);
    CHECK_EQ_INT(d1.calls, 1);
    CHECK_EQ_INT(d2.calls, 1);
    /* each callback saw its own message only, in imaplib's tuple shape */
    CHECK(strcmp(d2.head, "2 (RFC822 {5}") == 0);
    CHECK(strcmp(d2.literal, "hello") == 0);
    CHECK(strcmp(d1.head, "1 (RFC822 {3}") == 0);
    CHECK(strcmp(d1.literal, "bye") == 0);
    CHECK_EQ_INT(d1.others + d2.others, 0);
    /* outside a callback the store is whole again (the greeting's code) */
    CHECK_EQ_INT(imap_client_response(&cl, "CAPABILITY", v, sizeof v, &n), 1);
    script_report();
    CHECK(imap_script_done(&sc));
}

TEST(data_next_splits_like_imaplib)
{
    static const char d[] = "1 (UID 5 BODY[1] {3}\r\nabc BODY[2] {0}\r\n FLAGS ())";
    const char *cur = d, *end = d + sizeof d - 1;
    imap_str t, l;
    CHECK_EQ_INT(imap_data_next(&cur, end, &t, &l), 1);
    CHECK_STR(t, "1 (UID 5 BODY[1] {3}");
    CHECK_STR(l, "abc");
    CHECK_EQ_INT(imap_data_next(&cur, end, &t, &l), 1);
    CHECK_STR(t, " BODY[2] {0}");
    CHECK(l.ptr != NULL && l.len == 0);
    CHECK_EQ_INT(imap_data_next(&cur, end, &t, &l), 1);
    CHECK_STR(t, " FLAGS ())");
    CHECK(l.ptr == NULL);
    CHECK_EQ_INT(imap_data_next(&cur, end, &t, &l), 0);
    /* a length past the end, or not at a line's end, is text */
    {
        static const char h[] = "1 (BODY[] {99}\r\nabc) {2} x";
        cur = h;
        CHECK_EQ_INT(imap_data_next(&cur, h + sizeof h - 1, &t, &l), 1);
        CHECK_EQ_INT(t.len, sizeof h - 1);
        CHECK(l.ptr == NULL);
    }
}

/* on_data collector: names in order */
typedef struct names {
    char list[512];
    unsigned n;
} names;

static void on_name(void *arg, imap_client *c, const imap_response *r)
{
    names *k = (names *)arg;
    size_t l = strlen(k->list);
    (void)c;
    if (l + r->name.len + 2 < sizeof k->list)
        sprintf(k->list + l, "%s%.*s", l ? " " : "", (int)r->name.len, r->name.ptr);
    k->n++;
}

TEST(built_commands_through_the_client)
{
    static unsigned char mem[65536];
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ CONDSTORE QRESYNC] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997))\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* 314 EXISTS\r\n* OK [HIGHESTMODSEQ 90060115205545359] x\r\n"
                             "* VANISHED (EARLIER) 41,43:116\r\n"
                             "* 49 FETCH (UID 117 FLAGS (\\Seen) MODSEQ (90060115194045001))\r\n"
                             "BAAA0 OK [READ-WRITE] Select completed\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 UID FETCH 300:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* VANISHED (EARLIER) 300:310\r\n"
                             "* 50 FETCH (UID 320 FLAGS () MODSEQ (12346))\r\nBAAA1 OK done\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA2 LIST (SUBSCRIBED) \"\" \"*\" RETURN (STATUS (MESSAGES))\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* LIST (\\Subscribed) \"/\" INBOX\r\n* STATUS INBOX (MESSAGES 314)\r\n"
                             "BAAA2 OK done\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA3 APPEND INBOX {1+}\r\na {1+}\r\nb\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA3 OK [APPENDUID 1 5:6] done\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA4 CLOSE\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA4 OK done\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA5 XFOO\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* ID NIL\r\n* STATUS INBOX (MESSAGES 1)\r\n* XFOO 1\r\nBAAA5 OK done\r\n", 0 },
    };
    imap_cmd cmd;
    char tag[16];
    names k;
    imap_call call;
    imap_qresync q;
    imap_append_msg m[2];
    const char *pat[] = { "*" };
    memset(&call, 0, sizeof call);
    call.on_data = on_name;
    call.arg = &k;
    CHECK_EQ_INT(open_script(steps, sizeof steps / sizeof steps[0], mem, sizeof mem), IMAP_OK);
    CHECK_EQ_INT(cl.state, IMAP_STATE_AUTH);

    memset(&k, 0, sizeof k);
    memset(&q, 0, sizeof q);
    q.uidvalidity = 67890007;
    q.modseq = 90060115194045000ull;
    q.known_uids = "1:29997";
    CHECK_EQ_INT(imap_client_cmd(&cl, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_select(&cmd, tag, "INBOX", 0, 0, &q), IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&cl, &cmd, tag, &call), IMAP_OK);
    CHECK_EQ_INT(cl.state, IMAP_STATE_SELECTED);
    CHECK(cl.exists == 314);
    CHECK(strcmp(k.list, "EXISTS VANISHED FETCH") == 0);

    memset(&k, 0, sizeof k);
    CHECK_EQ_INT(imap_client_cmd(&cl, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_fetch_changedsince(&cmd, tag, 1, "300:*", "(FLAGS)", 12345, 1), IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&cl, &cmd, tag, &call), IMAP_OK);
    CHECK(strcmp(k.list, "VANISHED FETCH") == 0);

    memset(&k, 0, sizeof k);
    CHECK_EQ_INT(imap_client_cmd(&cl, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_list_extended(&cmd, tag, "SUBSCRIBED", "", pat, 1, "STATUS (MESSAGES)"),
                 IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&cl, &cmd, tag, &call), IMAP_OK);
    CHECK(strcmp(k.list, "LIST STATUS") == 0);

    memset(m, 0, sizeof m);
    m[0].data = "a";
    m[0].len = 1;
    m[1].data = "b";
    m[1].len = 1;
    CHECK_EQ_INT(imap_client_cmd(&cl, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_multiappend(&cmd, tag, "INBOX", m, 2), IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&cl, &cmd, tag, NULL), IMAP_OK);
    CHECK(strcmp(cl.last_text, "[APPENDUID 1 5:6] done") == 0);

    CHECK_EQ_INT(imap_client_cmd(&cl, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_simple(&cmd, tag, "CLOSE"), IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&cl, &cmd, tag, NULL), IMAP_OK);
    CHECK_EQ_INT(cl.state, IMAP_STATE_AUTH);

    /* xatom: every untagged response goes to its on_data */
    memset(&k, 0, sizeof k);
    CHECK_EQ_INT(imap_xatom(&cl, "XFOO", NULL, 0, &call), IMAP_OK);
    CHECK(strcmp(k.list, "ID STATUS XFOO") == 0);

    /* a cmd not begun by imap_client_cmd, or one that carries its own
       flow, is refused */
    {
        unsigned char buf[128];
        imap_cmd own;
        imap_cmd_init(&own, buf, sizeof buf);
        CHECK_EQ_INT(imap_cmd_noop(&own, "BAAA9"), IMAP_OK);
        CHECK_EQ_INT(imap_client_send(&cl, &own, "BAAA9", NULL), IMAP_E_ARGS);
        CHECK_EQ_INT(imap_client_cmd(&cl, &cmd, tag), IMAP_OK);
        CHECK_EQ_INT(imap_cmd_starttls(&cmd, tag), IMAP_OK);
        CHECK_EQ_INT(imap_client_send(&cl, &cmd, tag, NULL), IMAP_E_ARGS);
    }
    script_report();
    CHECK(imap_script_done(&sc));
}

TEST(xatom_of_a_known_name_tracks_state)
{
    static unsigned char mem[65536];
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 SELECT INBOX\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "* 3 EXISTS\r\n* FLAGS (\\Seen)\r\nBAAA0 OK [READ-ONLY] done\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 UNSELECT\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA1 OK done\r\n", 0 },
    };
    const char *inbox[] = { "INBOX" };
    names k;
    imap_call call;
    memset(&k, 0, sizeof k);
    memset(&call, 0, sizeof call);
    call.on_data = on_name;
    call.arg = &k;
    CHECK_EQ_INT(open_script(steps, sizeof steps / sizeof steps[0], mem, sizeof mem), IMAP_OK);
    CHECK_EQ_INT(imap_xatom(&cl, "SELECT", inbox, 1, &call), IMAP_OK);
    CHECK_EQ_INT(cl.state, IMAP_STATE_SELECTED);
    CHECK_EQ_INT(cl.readonly, 1);
    CHECK(cl.exists == 3);
    CHECK(strcmp(k.list, "EXISTS FLAGS") == 0);
    CHECK_EQ_INT(imap_xatom(&cl, "UNSELECT", NULL, 0, NULL), IMAP_OK);
    CHECK_EQ_INT(cl.state, IMAP_STATE_AUTH);
    script_report();
    CHECK(imap_script_done(&sc));
}

int main(void)
{
    RUN(blocking_fetch_over_the_store_is_not_ok);
    RUN(one_response_larger_than_the_store);
    RUN(imaplib_shapes);
    RUN(a_long_tagged_text_is_cut_and_says_its_length);
    RUN(login_without_capabilities_asks_once_and_keeps_its_text);
    RUN(per_call_sink_takes_every_literal_of_its_command);
    RUN(per_call_sink_by_uid_and_refusal);
    RUN(on_done_has_its_data);
    RUN(data_next_splits_like_imaplib);
    RUN(built_commands_through_the_client);
    RUN(xatom_of_a_known_name_tracks_state);
    return test_summary();
}
