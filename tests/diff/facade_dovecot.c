/* Issue 13 against the private Dovecot (tests/facade.sh fills user 2's
   INBOX with 3,000 messages first): a blocking FETCH larger than the
   per-name store is IMAP_E_DROPPED with the size it needed, and OK with
   all of it in that much memory; a per-call sink saves a message of any
   size. Environment: tests/server/dovecot.sh's env file. */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "../../imap.h"
#include "../test.h"

#include <stdlib.h>

static const char *host, *user, *pass;
static unsigned port;

typedef struct conn {
    imap_client c;
    imap_tcp tcp;
    imap_transport t;
    unsigned char *mem;
} conn;

static int conn_open(conn *k, size_t cap)
{
    int rc;
    k->mem = (unsigned char *)malloc(cap);
    imap_client_init(&k->c, k->mem, cap);
    imap_client_set_timeout(&k->c, 30000);
    rc = imap_tcp_connect(&k->tcp, host, port, 10000, &k->t);
    if (rc == IMAP_OK) rc = imap_client_open(&k->c, &k->t);
    if (rc == IMAP_OK) rc = imap_login(&k->c, user, pass, NULL);
    if (rc == IMAP_OK) rc = imap_select(&k->c, "INBOX", 1, NULL);
    return rc;
}

static void conn_close(conn *k)
{
    imap_logout(&k->c, NULL);
    imap_client_close(&k->c);
    free(k->mem);
}

TEST(fetch_301_envelopes)
{
    conn k;
    size_t need, n, len;
    static char data[4096];
    CHECK_EQ_INT(conn_open(&k, 64 * 1024), IMAP_OK);
    CHECK(k.c.exists >= 301);
    CHECK_EQ_INT(imap_fetch(&k.c, "1:301", "(ENVELOPE)", NULL), IMAP_E_DROPPED);
    need = k.c.store_needed;
    printf("    FETCH 1:301 (ENVELOPE): store needed %lu bytes (64 KiB client: 8 KiB)\n",
           (unsigned long)need);
    CHECK(need > 8 * 1024);
    conn_close(&k);
    /* eight times that (the store is 1/8), and every response is there */
    CHECK_EQ_INT(conn_open(&k, need * 8 + 64 * 1024), IMAP_OK);
    CHECK_EQ_INT(imap_fetch(&k.c, "1:301", "(ENVELOPE)", NULL), IMAP_OK);
    n = 0;
    while (imap_client_response(&k.c, "FETCH", data, sizeof data, &len) == 1) {
        if (n == 0) CHECK(strncmp(data, "1 (ENVELOPE (", 13) == 0);
        n++;
    }
    CHECK_EQ_INT(n, 301);
    conn_close(&k);
}

typedef struct saved {
    FILE *f;
    size_t len;
} saved;

static int to_file(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    saved *s = (saved *)ctx;
    (void)info;
    s->len += len;
    return fwrite(data, 1, len, s->f) == len ? 0 : 1;
}

TEST(per_call_sink_saves_any_size)
{
    conn k;
    imap_call call;
    saved s;
    const char *args[] = { "3000", "BODY.PEEK[]" };
    CHECK_EQ_INT(conn_open(&k, 16 * 1024), IMAP_OK);
    s.f = tmpfile();
    s.len = 0;
    memset(&call, 0, sizeof call);
    call.sink = to_file;
    call.sink_arg = &s;
    /* message 3000 is ~2.8 KB: under any threshold, still sunk */
    CHECK_EQ_INT(imap_fetch(&k.c, args[0], args[1], &call), IMAP_OK);
    CHECK(s.len > 2000);
    printf("    FETCH 3000 BODY.PEEK[] through the call's sink: %lu bytes\n", (unsigned long)s.len);
    fclose(s.f);
    conn_close(&k);
}

TEST(fetch_all_of_3000_envelopes)
{
    conn k;
    size_t need;
    CHECK_EQ_INT(conn_open(&k, 64 * 1024), IMAP_OK);
    CHECK_EQ_INT(imap_fetch(&k.c, "1:*", "(ENVELOPE)", NULL), IMAP_E_DROPPED);
    need = k.c.store_needed;
    printf("    FETCH 1:* (ENVELOPE) of %llu: store needed %lu bytes\n",
           (unsigned long long)k.c.exists, (unsigned long)need);
    CHECK(need > 3000 * 200);
    /* the session goes on */
    CHECK_EQ_INT(imap_noop(&k.c, NULL), IMAP_OK);
    conn_close(&k);
}

typedef struct names {
    char list[256];
} names;

static void on_name(void *arg, imap_client *c, const imap_response *r)
{
    names *k = (names *)arg;
    size_t l = strlen(k->list);
    (void)c;
    /* each name once, in order of arrival */
    if (l + r->name.len + 2 < sizeof k->list) {
        char w[32];
        sprintf(w, "%.*s", (int)(r->name.len < 30 ? r->name.len : 30), r->name.ptr);
        if (!strstr(k->list, w)) sprintf(k->list + l, "%s%s", l ? " " : "", w);
    }
}

TEST(built_commands_against_dovecot)
{
    conn k;
    imap_cmd cmd;
    char tag[16];
    names got;
    imap_call call;
    imap_append_msg m[2];
    const char *pat[] = { "INBOX" };
    static const char a[] = "Subject: multi 1\r\n\r\none\r\n", b[] = "Subject: multi 2\r\n\r\ntwo\r\n";
    CHECK_EQ_INT(conn_open(&k, 256 * 1024), IMAP_OK);
    CHECK_EQ_INT(imap_close(&k.c, NULL), IMAP_OK);
    memset(&call, 0, sizeof call);
    call.on_data = on_name;
    call.arg = &got;
    /* SELECT (CONDSTORE), built, through the client: SELECTED */
    memset(&got, 0, sizeof got);
    CHECK_EQ_INT(imap_client_cmd(&k.c, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_select(&cmd, tag, "INBOX", 1, 1, NULL), IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&k.c, &cmd, tag, &call), IMAP_OK);
    CHECK_EQ_INT(k.c.state, IMAP_STATE_SELECTED);
    CHECK_EQ_INT(k.c.readonly, 1);
    CHECK(k.c.exists >= 3000);
    CHECK(strstr(got.list, "EXISTS") != NULL);
    /* FETCH ... (CHANGEDSINCE 1): the FETCH with MODSEQ go to the call */
    memset(&got, 0, sizeof got);
    CHECK_EQ_INT(imap_client_cmd(&k.c, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_fetch_changedsince(&cmd, tag, 0, "1:3", "(FLAGS)", 1, 0), IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&k.c, &cmd, tag, &call), IMAP_OK);
    CHECK(strcmp(got.list, "FETCH") == 0);
    /* LIST-EXTENDED with LIST-STATUS: LIST and STATUS to the call */
    memset(&got, 0, sizeof got);
    CHECK_EQ_INT(imap_client_cmd(&k.c, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_list_extended(&cmd, tag, NULL, "", pat, 1, "(STATUS (MESSAGES))"),
                 IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&k.c, &cmd, tag, &call), IMAP_OK);
    CHECK(strcmp(got.list, "LIST STATUS") == 0);
    if (strcmp(got.list, "LIST STATUS") != 0) printf("    LIST-STATUS gave: %s\n", got.list);
    /* MULTIAPPEND to another mailbox */
    imap_create(&k.c, "multi13", NULL);
    memset(m, 0, sizeof m);
    m[0].data = a;
    m[0].len = sizeof a - 1;
    m[1].data = b;
    m[1].len = sizeof b - 1;
    CHECK_EQ_INT(imap_client_cmd(&k.c, &cmd, tag), IMAP_OK);
    CHECK_EQ_INT(imap_cmd_multiappend(&cmd, tag, "multi13", m, 2), IMAP_OK);
    CHECK_EQ_INT(imap_client_send(&k.c, &cmd, tag, NULL), IMAP_OK);
    CHECK(strncmp(k.c.last_text, "[APPENDUID ", 11) == 0);
    printf("    MULTIAPPEND: %s\n", k.c.last_text);
    imap_delete(&k.c, "multi13", NULL);
    conn_close(&k);
}

int main(void)
{
    host = getenv("IMAP_TEST_HOST");
    user = getenv("IMAP_TEST_USER2");
    pass = getenv("IMAP_TEST_PASS2");
    if (!host || !user || !pass || !getenv("IMAP_TEST_PORT")) {
        printf("IMAP_TEST_* not set\n0 passed, 1 failed\n");
        return 1;
    }
    port = (unsigned)atoi(getenv("IMAP_TEST_PORT"));
    RUN(fetch_301_envelopes);
    RUN(per_call_sink_saves_any_size);
    RUN(fetch_all_of_3000_envelopes);
    RUN(built_commands_against_dovecot);
    return test_summary();
}
