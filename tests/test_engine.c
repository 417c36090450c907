/* Unit tests of the protocol engine, driven sans-I/O: bytes out through
   imap_client_output, server bytes in through imap_client_feed. */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

static unsigned char mem[1 << 16];
static imap_client cl;

/* Everything the client would send now, as one string. */
static const char *sent(imap_client *c)
{
    static char buf[8192];
    size_t n = 0;
    const unsigned char *p;
    size_t len;
    while (imap_client_output(c, &p, &len) && n + len < sizeof buf) {
        memcpy(buf + n, p, len);
        n += len;
        imap_client_output_ack(c, len);
    }
    buf[n] = 0;
    return buf;
}

static void feed(imap_client *c, const char *s)
{
    size_t used = 0;
    imap_client_feed(c, s, strlen(s), &used);
}

typedef struct done_log {
    int calls;
    int result;
    int data;
    char last_name[32];
} done_log;

static void on_done(void *arg, imap_client *c, int result, const imap_response *tagged)
{
    done_log *d = (done_log *)arg;
    (void)c;
    (void)tagged;
    d->calls++;
    d->result = result;
}

static void on_data(void *arg, imap_client *c, const imap_response *r)
{
    done_log *d = (done_log *)arg;
    size_t n = r->name.len < sizeof d->last_name - 1 ? r->name.len : sizeof d->last_name - 1;
    (void)c;
    memcpy(d->last_name, r->name.ptr, n);
    d->last_name[n] = 0;
    d->data++;
}

static void start(const char *greeting)
{
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, 0);
    imap_client_start(&cl);
    feed(&cl, greeting);
}

TEST(greeting_sets_state_and_caps)
{
    start("* OK [CAPABILITY IMAP4rev1 IDLE LITERAL+ AUTH=PLAIN] hi\r\n");
    CHECK_EQ_INT(cl.state, IMAP_STATE_NONAUTH);
    CHECK(imap_client_has_cap(&cl, "idle"));
    CHECK(imap_client_has_cap(&cl, "AUTH=PLAIN"));
    CHECK(!imap_client_has_cap(&cl, "AUTH"));
    CHECK_EQ_INT(cl.protocol, 1);
    start("* PREAUTH [CAPABILITY IMAP4rev2 IMAP4rev1] ready\r\n");
    CHECK_EQ_INT(cl.state, IMAP_STATE_AUTH);
    CHECK_EQ_INT(cl.protocol, 2);
    start("* BYE go away\r\n");
    CHECK_EQ_INT(cl.error, IMAP_E_BYE);
    start("421 busy\r\n");
    CHECK_EQ_INT(cl.error, IMAP_E_PROTOCOL);
    CHECK_EQ_INT(cl.state, IMAP_STATE_LOGOUT);
}

TEST(pipelined_completions_in_any_order)
{
    done_log a, b, d;
    imap_call ca, cb;
    const char *out;
    char t1[16], t2[16], line[64];
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&d, 0, sizeof d);
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.on_data = on_data;
    ca.arg = &a;
    cb = ca;
    cb.arg = &b;
    CHECK_EQ_INT(imap_noop(&cl, &ca), IMAP_OK);
    {
        const char *crit[] = { "ALL" };
        CHECK_EQ_INT(imap_search(&cl, NULL, crit, 1, &cb), IMAP_OK);
    }
    out = sent(&cl);
    CHECK(sscanf(out, "%15s NOOP\r\n%15s SEARCH ALL\r\n", t1, t2) == 2);
    CHECK_EQ_INT(imap_client_pending(&cl), 2);
    /* the SEARCH answers first; its data goes to it, not to NOOP */
    feed(&cl, "* SEARCH 2 3 5\r\n");
    CHECK_EQ_INT(b.data, 1);
    CHECK_EQ_INT(a.data, 0);
    sprintf(line, "%s OK done\r\n", t2);
    feed(&cl, line);
    CHECK_EQ_INT(b.calls, 1);
    CHECK_EQ_INT(b.result, IMAP_OK);
    CHECK_EQ_INT(a.calls, 0);
    feed(&cl, "* 4 EXISTS\r\n");
    CHECK_EQ_INT(a.data, 1);
    CHECK(strcmp(a.last_name, "EXISTS") == 0);
    CHECK(cl.exists == 4);
    sprintf(line, "%s NO nope\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_E_NO);
    CHECK(strcmp(cl.last_text, "nope") == 0);
    CHECK_EQ_INT(imap_client_pending(&cl), 0);
}

TEST(barrier_waits_for_the_pipeline)
{
    done_log a, b;
    imap_call ca, cb;
    const char *out;
    char t1[16], t2[16], line[64];
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.arg = &a;
    cb = ca;
    cb.arg = &b;
    imap_noop(&cl, &ca);
    imap_select(&cl, "INBOX", 0, &cb);
    out = sent(&cl);
    CHECK(sscanf(out, "%15s NOOP\r\n", t1) == 1);
    CHECK(strstr(out, "SELECT") == NULL);      /* held until NOOP is done */
    sprintf(line, "%s OK\r\n", t1);
    feed(&cl, line);
    out = sent(&cl);
    CHECK(sscanf(out, "%15s SELECT INBOX\r\n", t2) == 1);
    feed(&cl, "* 172 EXISTS\r\n* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* FLAGS (\\Seen \\Answered)\r\n");
    sprintf(line, "%s OK [READ-WRITE] SELECT completed\r\n", t2);
    feed(&cl, line);
    CHECK_EQ_INT(cl.state, IMAP_STATE_SELECTED);
    CHECK(cl.exists == 172);
    CHECK_EQ_INT(cl.readonly, 0);
    {
        char v[64];
        size_t n;
        CHECK_EQ_INT(imap_client_response(&cl, "UIDVALIDITY", v, sizeof v, &n), 1);
        CHECK(strcmp(v, "3857529045") == 0);
        CHECK_EQ_INT(imap_client_response(&cl, "FLAGS", v, sizeof v, &n), 1);
        CHECK(strcmp(v, "(\\Seen \\Answered)") == 0);
        CHECK_EQ_INT(imap_client_response(&cl, "FLAGS", v, sizeof v, &n), 0);
        CHECK_EQ_INT(imap_client_response(&cl, "EXISTS", v, 2, &n), IMAP_E_NOMEM);
        CHECK_EQ_INT(imap_client_response(&cl, "EXISTS", v, sizeof v, &n), 1);
        CHECK(strcmp(v, "172") == 0);
    }
}

TEST(synchronizing_literal_waits_for_plus)
{
    done_log a;
    imap_call ca;
    const char *out;
    char t1[16], line[64];
    memset(&a, 0, sizeof a);
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");   /* no LITERAL+ */
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.arg = &a;
    imap_append(&cl, "INBOX", NULL, NULL, "Subject: hi\r\n\r\nbody\r\n", 21, &ca);
    out = sent(&cl);
    CHECK(sscanf(out, "%15s APPEND INBOX {21}\r\n", t1) == 1);
    CHECK(strstr(out, "Subject") == NULL);
    CHECK(strcmp(sent(&cl), "") == 0);        /* still waiting */
    feed(&cl, "+ go ahead\r\n");
    out = sent(&cl);
    CHECK(strcmp(out, "Subject: hi\r\n\r\nbody\r\n\r\n") == 0);
    sprintf(line, "%s OK [APPENDUID 38505 3955] APPEND completed\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_OK);
}

static int plain_auth(void *arg, const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    int *rounds = (int *)arg;
    (void)ch;
    (void)len;
    (*rounds)++;
    if (cap < 12) return -1;
    memcpy(out, "\0user\0secret", 12);
    return 12;
}

typedef struct log_buf {
    char text[4096];
    size_t len;
} log_buf;

static void log_line(void *arg, const char *line, size_t len)
{
    log_buf *b = (log_buf *)arg;
    if (b->len + len + 1 < sizeof b->text) {
        memcpy(b->text + b->len, line, len);
        b->len += len;
        b->text[b->len++] = '\n';
        b->text[b->len] = 0;
    }
}

TEST(authenticate_continuation_and_no_secrets_in_logs)
{
    done_log a;
    imap_call ca;
    log_buf lb;
    int rounds = 0;
    const char *out;
    char t1[16], line[64];
    memset(&a, 0, sizeof a);
    memset(&lb, 0, sizeof lb);
    start("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] x\r\n");
    imap_client_set_debug(&cl, IMAP_DEBUG_PROTOCOL, log_line, &lb);
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.arg = &a;
    imap_authenticate(&cl, "PLAIN", plain_auth, &rounds, &ca);
    out = sent(&cl);
    CHECK(sscanf(out, "%15s AUTHENTICATE PLAIN\r\n", t1) == 1);
    feed(&cl, "+ \r\n");
    CHECK_EQ_INT(rounds, 1);
    out = sent(&cl);
    CHECK(strcmp(out, "AHVzZXIAc2VjcmV0\r\n") == 0);
    sprintf(line, "%s OK [CAPABILITY IMAP4rev1 IDLE] logged in\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_OK);
    CHECK_EQ_INT(cl.state, IMAP_STATE_AUTH);
    CHECK(imap_client_has_cap(&cl, "IDLE"));
    CHECK(strstr(lb.text, "AHVzZXIAc2VjcmV0") == NULL);
    CHECK(strstr(lb.text, "secret") == NULL);
    /* LOGIN is masked too */
    imap_login(&cl, "joe", "hunter2", &ca);
    sent(&cl);
    CHECK(strstr(lb.text, "hunter2") == NULL);
    CHECK(strstr(lb.text, "LOGIN") != NULL);
}

TEST(login_refused_under_logindisabled)
{
    start("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] x\r\n");
    CHECK_EQ_INT(imap_login(&cl, "a", "b", NULL), IMAP_E_PLAINTEXT);
    CHECK(strcmp(sent(&cl), "") == 0);
    start("* OK [CAPABILITY IMAP4rev1] x\r\n");
    imap_client_require_tls(&cl, 1);
    CHECK_EQ_INT(imap_login(&cl, "a", "b", NULL), IMAP_E_PLAINTEXT);
}

TEST(idle_done_on_change_and_on_next_command)
{
    done_log a, b;
    imap_call ca, cb;
    const char *out;
    char t1[16], t2[16], line[64];
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    start("* PREAUTH [CAPABILITY IMAP4rev1 IDLE] x\r\n");
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.on_data = on_data;
    ca.arg = &a;
    cb = ca;
    cb.arg = &b;
    imap_idle(&cl, 0, &ca);
    out = sent(&cl);
    CHECK(sscanf(out, "%15s IDLE\r\n", t1) == 1);
    feed(&cl, "+ idling\r\n");
    CHECK(strcmp(sent(&cl), "") == 0);
    feed(&cl, "* 5 EXISTS\r\n");
    CHECK_EQ_INT(a.data, 1);
    CHECK(strcmp(sent(&cl), "DONE\r\n") == 0);
    sprintf(line, "%s OK IDLE terminated\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_OK);
    /* a command queued behind an IDLE ends it first */
    imap_idle(&cl, 0, &ca);
    out = sent(&cl);
    CHECK(sscanf(out, "%15s IDLE\r\n", t1) == 1);
    feed(&cl, "+ idling\r\n");
    imap_noop(&cl, &cb);
    out = sent(&cl);
    CHECK(strcmp(out, "DONE\r\n") == 0);
    sprintf(line, "%s OK done\r\n", t1);
    feed(&cl, line);
    out = sent(&cl);
    CHECK(sscanf(out, "%15s NOOP\r\n", t2) == 1);
}

TEST(bye_and_unknown_tag_abort)
{
    done_log a;
    imap_call ca;
    char t1[16], line[64];
    memset(&a, 0, sizeof a);
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.arg = &a;
    imap_noop(&cl, &ca);
    sent(&cl);
    feed(&cl, "* BYE shutting down\r\n");
    CHECK_EQ_INT(a.result, IMAP_E_BYE);
    CHECK_EQ_INT(cl.state, IMAP_STATE_LOGOUT);
    CHECK_EQ_INT(imap_result_class_of(cl.error), IMAP_CLASS_ABORT);
    CHECK_EQ_INT(imap_noop(&cl, &ca), IMAP_E_BYE);
    /* LOGOUT expects the BYE */
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");
    imap_logout(&cl, &ca);
    CHECK(sscanf(sent(&cl), "%15s LOGOUT", t1) == 1);
    feed(&cl, "* BYE bye\r\n");
    sprintf(line, "%s OK LOGOUT completed\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_OK);
    CHECK_EQ_INT(cl.error, 0);
    CHECK_EQ_INT(cl.state, IMAP_STATE_LOGOUT);
    /* a tag never sent is a protocol violation */
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");
    feed(&cl, "Z999 OK what\r\n");
    CHECK_EQ_INT(cl.error, IMAP_E_PROTOCOL);
}

TEST(readonly_event_and_rejected_tagged)
{
    done_log a;
    imap_call ca;
    char t1[16], line[64];
    memset(&a, 0, sizeof a);
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.arg = &a;
    imap_select(&cl, NULL, 0, &ca);
    sscanf(sent(&cl), "%15s", t1);
    sprintf(line, "%s OK [READ-WRITE] done\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(cl.state, IMAP_STATE_SELECTED);
    imap_noop(&cl, &ca);
    sscanf(sent(&cl), "%15s", t1);
    feed(&cl, "* OK [READ-ONLY] someone else has it\r\n");
    sprintf(line, "%s OK done\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_E_READONLY);
    CHECK_EQ_INT(imap_result_class_of(a.result), IMAP_CLASS_READONLY);
    /* a tagged response that does not parse still ends its command */
    imap_noop(&cl, &ca);
    sscanf(sent(&cl), "%15s", t1);
    sprintf(line, "%s OK [UNCLOSED \"x] hi\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_OK);
    imap_noop(&cl, &ca);
    sscanf(sent(&cl), "%15s", t1);
    sprintf(line, "%s OK bad\rtext\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_E_SYNTAX);
    CHECK_EQ_INT(cl.error, 0);
}

TEST(xatom_and_unsolicited)
{
    done_log a;
    imap_call ca;
    char t1[16], line[64], name[32], data[64];
    size_t n;
    memset(&a, 0, sizeof a);
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.on_data = on_data;
    ca.arg = &a;
    imap_xatom(&cl, "XFOO", NULL, 0, &ca);
    sscanf(sent(&cl), "%15s XFOO", t1);
    /* imaplib's xatom: its untagged responses, whatever their name (a
       known one like LIST too), go to the command */
    feed(&cl, "* XBAR 1\r\n* XFOO 2\r\n* LIST () \"/\" INBOX\r\n");
    CHECK_EQ_INT(a.data, 3);
    CHECK(strcmp(a.last_name, "LIST") == 0);
    sprintf(line, "%s OK\r\n", t1);
    feed(&cl, line);
    feed(&cl, "* XBAR 1\r\n");
    {
        /* in order of arrival: the greeting's code, then the XBAR that
           came with no command outstanding */
        int xbar = 0, xfoo = 0, k = 0;
        while (imap_client_pop_untagged(&cl, name, sizeof name, data, sizeof data, &n) == 1) {
            if (k++ == 0) CHECK(strcmp(name, "CAPABILITY") == 0);
            if (strcmp(name, "XBAR") == 0 && strcmp(data, "1") == 0) xbar++;
            if (strcmp(name, "XFOO") == 0) xfoo++;
        }
        CHECK_EQ_INT(xbar, 1);
        CHECK_EQ_INT(xfoo, 0);
    }
}

TEST(imap4rev2_after_enable)
{
    done_log a;
    imap_call ca;
    char t1[16], line[96];
    const char *out;
    memset(&a, 0, sizeof a);
    start("* OK [CAPABILITY IMAP4rev2 IMAP4rev1 ENABLE LITERAL+] rev2 ready\r\n");
    CHECK_EQ_INT(cl.protocol, 2);
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.on_data = on_data;
    ca.arg = &a;
    imap_login(&cl, "u", "p", &ca);
    sscanf(sent(&cl), "%15s", t1);
    sprintf(line, "%s OK [CAPABILITY IMAP4rev2 IMAP4rev1 ENABLE LITERAL+] in\r\n", t1);
    feed(&cl, line);
    imap_enable(&cl, "IMAP4rev2", &ca);
    out = sent(&cl);
    CHECK(sscanf(out, "%15s ENABLE IMAP4rev2\r\n", t1) == 1);
    feed(&cl, "* ENABLED IMAP4rev2\r\n");
    sprintf(line, "%s OK enabled\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.data, 1);
    /* RFC 9051 §6.3.1: mailbox names go as UTF-8, not modified UTF-7 */
    imap_select(&cl, "Entw\xc3\xbcrfe", 0, &ca);
    out = sent(&cl);
    CHECK(strstr(out, "&APw-") == NULL);
    CHECK(strstr(out, "Entw\xc3\xbcrfe") != NULL);
    sscanf(out, "%15s", t1);
    /* RFC 9051 SELECT: no RECENT; LIST and OK [CLOSED] may come */
    feed(&cl, "* 3 EXISTS\r\n* LIST () \"/\" \"Entw\xc3\xbcrfe\"\r\n"
              "* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 9] v\r\n");
    sprintf(line, "%s OK [READ-WRITE] selected\r\n", t1);
    feed(&cl, line);
    CHECK_EQ_INT(cl.state, IMAP_STATE_SELECTED);
    CHECK(cl.exists == 3);
    /* SEARCH answers with ESEARCH (RFC 9051 §7.3.4), routed to the SEARCH */
    a.data = 0;
    {
        const char *crit[] = { "UNSEEN" };
        imap_search(&cl, NULL, crit, 1, &ca);
    }
    sscanf(sent(&cl), "%15s", t1);
    sprintf(line, "* ESEARCH (TAG \"%s\") ALL 1:2\r\n%s OK done\r\n", t1, t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.data, 1);
    CHECK(strcmp(a.last_name, "ESEARCH") == 0);
    CHECK_EQ_INT(a.result, IMAP_OK);
}

TEST(interleaved_fetches_go_to_their_own_command)
{
    done_log a, b;
    imap_call ca, cb;
    char t1[16], t2[16], line[160];
    const char *args[] = { "300:310", "(FLAGS)" };
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    start("* PREAUTH [CAPABILITY IMAP4rev1] x\r\n");
    memset(&ca, 0, sizeof ca);
    ca.on_done = on_done;
    ca.on_data = on_data;
    ca.arg = &a;
    cb = ca;
    cb.arg = &b;
    imap_fetch(&cl, "1", "(FLAGS)", &ca);
    imap_uid(&cl, "FETCH", args, 2, &cb);
    CHECK(sscanf(sent(&cl), "%15s FETCH 1 (FLAGS)\r\n%15s UID FETCH", t1, t2) == 2);
    /* the UID FETCH is answered first, then the FETCH of message 1 */
    feed(&cl, "* 7 FETCH (FLAGS () UID 305)\r\n");
    CHECK_EQ_INT(b.data, 1);
    CHECK_EQ_INT(a.data, 0);
    feed(&cl, "* 1 FETCH (FLAGS (\\Seen))\r\n");
    CHECK_EQ_INT(a.data, 1);
    sprintf(line, "%s OK\r\n%s OK\r\n", t2, t1);
    feed(&cl, line);
    CHECK_EQ_INT(a.result, IMAP_OK);
    CHECK_EQ_INT(b.result, IMAP_OK);
}

int main(void)
{
    RUN(greeting_sets_state_and_caps);
    RUN(pipelined_completions_in_any_order);
    RUN(barrier_waits_for_the_pipeline);
    RUN(synchronizing_literal_waits_for_plus);
    RUN(authenticate_continuation_and_no_secrets_in_logs);
    RUN(login_refused_under_logindisabled);
    RUN(idle_done_on_change_and_on_next_command);
    RUN(bye_and_unknown_tag_abort);
    RUN(readonly_event_and_rejected_tagged);
    RUN(xatom_and_unsolicited);
    RUN(imap4rev2_after_enable);
    RUN(interleaved_fetches_go_to_their_own_command);
    return test_summary();
}
