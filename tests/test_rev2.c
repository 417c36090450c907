/* IMAP4rev2 (RFC 9051) in the client, scripted sans-I/O: the "in effect"
   flags, SEARCH's CHARSET, the LIST in SELECT, change notices during a
   LIST, the LIST name accessor and the SEARCH/ESEARCH reader. The same
   paths run against Cyrus 3.10 in tests/it_dovecot.c (IMAP_TEST_REV2=1). */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

static unsigned char mem[1 << 16];
static imap_client cl;

static const char *sent(imap_client *c)
{
    static char buf[8192];
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

static void feed(imap_client *c, const char *s)
{
    size_t used = 0;
    imap_client_feed(c, s, strlen(s), &used);
}

/* The tag of the command just sent, and its text after the tag. */
static char tag[16];
static const char *send_line(void)
{
    const char *out = sent(&cl);
    size_t n = strcspn(out, " ");
    if (n >= sizeof tag) n = sizeof tag - 1;
    memcpy(tag, out, n);
    tag[n] = 0;
    return out[n] ? out + n + 1 : out + n;
}

static void ok(void)
{
    char line[64];
    sprintf(line, "%s OK done\r\n", tag);
    feed(&cl, line);
}

/* Logged in to a rev2 server; enable: also ENABLE caps. */
static void login(const char *caps, const char *enable, const char *enabled)
{
    char line[200];
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, 0);
    imap_client_start(&cl);
    sprintf(line, "* OK [CAPABILITY IMAP4rev1 %s ENABLE] hi\r\n", caps);
    feed(&cl, line);
    imap_login(&cl, "u", "p", NULL);
    send_line();
    ok();
    if (enable) {
        imap_enable(&cl, enable, NULL);
        send_line();
        sprintf(line, "* ENABLED %s\r\n", enabled);
        feed(&cl, line);
        ok();
    }
}

typedef struct seen {
    int lists, others;
    char names[256];        /* the LIST names, each followed by ';' */
} seen;

static void on_data(void *arg, imap_client *c, const imap_response *r)
{
    seen *s = (seen *)arg;
    imap_list_info li;
    char name[64];
    if (imap_list_decode(r, &li) != 0) {
        s->others++;
        return;
    }
    s->lists++;
    if (imap_list_name(&li, c->utf8, name, sizeof name) >= 0 &&
        strlen(s->names) + strlen(name) + 2 < sizeof s->names) {
        strcat(s->names, name);
        strcat(s->names, ";");
    }
}

static void on_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    (void)arg;
    (void)c;
    (void)result;
    (void)t;
}

static imap_call calling(seen *s)
{
    imap_call call;
    memset(&call, 0, sizeof call);
    memset(s, 0, sizeof *s);
    call.on_data = on_data;
    call.on_done = on_done;
    call.arg = s;
    return call;
}

TEST(in_effect_flags_are_not_the_announcement)
{
    login("IMAP4rev2", NULL, NULL);
    CHECK_EQ_INT(cl.protocol, 2);           /* announced */
    CHECK_EQ_INT(cl.rev2, 0);               /* not in effect before ENABLE */
    CHECK_EQ_INT(cl.utf8, 0);
    login("IMAP4rev2", "IMAP4rev2", "IMAP4rev2");
    CHECK_EQ_INT(cl.rev2, 1);
    CHECK_EQ_INT(cl.utf8, 1);
    /* ENABLE answered without it (Dovecot 2.4): still rev1 */
    login("IMAP4rev2", "IMAP4rev2", "");
    CHECK_EQ_INT(cl.rev2, 0);
    CHECK_EQ_INT(cl.utf8, 0);
    login("UTF8=ACCEPT", "UTF8=ACCEPT", "UTF8=ACCEPT");
    CHECK_EQ_INT(cl.rev2, 0);
    CHECK_EQ_INT(cl.utf8, 1);
}

TEST(search_keeps_charset_under_rev2)
{
    const char *crit[] = { "BODY", "w\xc3\xb6rld" };
    login("IMAP4rev2", "IMAP4rev2", "IMAP4rev2");
    imap_search(&cl, "UTF-8", crit, 2, NULL);
    CHECK(strcmp(send_line(), "SEARCH CHARSET UTF-8 BODY {6}\r\n") == 0);
    /* RFC 6855 §3: none once UTF8=ACCEPT alone is enabled */
    login("UTF8=ACCEPT", "UTF8=ACCEPT", "UTF8=ACCEPT");
    imap_search(&cl, "UTF-8", crit, 2, NULL);
    CHECK(strcmp(send_line(), "SEARCH BODY {6}\r\n") == 0);
    login("", NULL, NULL);
    imap_search(&cl, "UTF-8", crit, 2, NULL);
    CHECK(strcmp(send_line(), "SEARCH CHARSET UTF-8 BODY {6}\r\n") == 0);
}

TEST(the_list_in_select_goes_to_the_select)
{
    seen s;
    imap_call call = calling(&s);
    char line[64];
    login("IMAP4rev2", "IMAP4rev2", "IMAP4rev2");
    imap_select(&cl, "Entw\xc3\xbcrfe", 0, &call);
    send_line();
    /* a notice about another mailbox first (Cyrus), then the answer */
    feed(&cl, "* LIST () \"/\" old\r\n* 3 EXISTS\r\n* FLAGS (\\Seen)\r\n"
              "* LIST (\\HasNoChildren) \"/\" \"Entw\xc3\xbcrfe\"\r\n");
    sprintf(line, "%s OK [READ-WRITE] in\r\n", tag);
    feed(&cl, line);
    CHECK_EQ_INT(cl.state, IMAP_STATE_SELECTED);
    CHECK_EQ_INT(s.lists, 1);
    CHECK(strcmp(s.names, "Entw\xc3\xbcrfe;") == 0);
    CHECK_EQ_INT(s.others, 2);                       /* EXISTS, FLAGS */
    /* the notice went unsolicited, to the store */
    CHECK_EQ_INT(imap_client_response(&cl, "LIST", line, sizeof line, NULL), 1);
    CHECK(strcmp(line, "() \"/\" old") == 0);
    CHECK_EQ_INT(imap_client_response(&cl, "LIST", line, sizeof line, NULL), 0);
    /* INBOX in any case */
    call = calling(&s);
    imap_select(&cl, "inbox", 1, &call);
    send_line();
    feed(&cl, "* OK [CLOSED] x\r\n* 0 EXISTS\r\n* LIST () \"/\" INBOX\r\n");
    ok();
    CHECK_EQ_INT(s.lists, 1);
}

TEST(change_notices_are_not_a_lists_data)
{
    seen s;
    imap_call call = calling(&s);
    char line[96];
    login("IMAP4rev2", "IMAP4rev2", "IMAP4rev2");
    imap_list(&cl, NULL, NULL, &call);
    CHECK(strcmp(send_line(), "LIST \"\" \"*\" RETURN (CHILDREN)\r\n") == 0);
    /* Cyrus 3.10: notices of this session's CREATE/RENAME/DELETE first */
    feed(&cl, "* LIST () \"/\" a\r\n* LIST (\\NonExistent) \"/\" gone\r\n"
              "* LIST () \"/\" b (\"OLDNAME\" (\"a\"))\r\n"
              "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
              "* LIST (\\HasChildren) \"/\" b (\"OLDNAME\" (\"a\"))\r\n"
              "* LIST (\\NoInferiors) \"/\" c\r\n");
    ok();
    CHECK_EQ_INT(s.lists, 3);
    CHECK(strcmp(s.names, "INBOX;b;c;") == 0);
    CHECK_EQ_INT(imap_client_response(&cl, "LIST", line, sizeof line, NULL), 1);
    CHECK(strcmp(line, "() \"/\" a") == 0);
    /* rev1: the LIST as before, every LIST response its own */
    login("IMAP4rev2", NULL, NULL);
    call = calling(&s);
    imap_list(&cl, NULL, "%", &call);
    CHECK(strcmp(send_line(), "LIST \"\" \"%\"\r\n") == 0);
    feed(&cl, "* LIST () \"/\" a\r\n");
    ok();
    CHECK_EQ_INT(s.lists, 1);
}

TEST(list_name_is_the_real_name_in_both_modes)
{
    imap_parser p;
    static unsigned char pm[4096];
    imap_response *r;
    imap_list_info li;
    size_t used;
    char out[32];
    static const char resp[] = "* LIST () \"/\" Entw&APw-rfe/&AOQ-\r\n";
    imap_parser_init(&p, pm, sizeof pm);
    CHECK_EQ_INT(imap_parser_feed(&p, resp, sizeof resp - 1, &used, &r), IMAP_OK);
    CHECK_EQ_INT(imap_list_decode(r, &li), 0);
    /* rev1: modified UTF-7 decoded */
    CHECK_EQ_INT(imap_list_name(&li, 0, out, sizeof out), 12);
    CHECK(strcmp(out, "Entw\xc3\xbcrfe/\xc3\xa4") == 0);
    /* rev2: the name is UTF-8 already; "&AOQ-" is a name of its own */
    CHECK_EQ_INT(imap_list_name(&li, 1, out, sizeof out), 18);
    CHECK(strcmp(out, "Entw&APw-rfe/&AOQ-") == 0);
    CHECK_EQ_INT(imap_list_name(&li, 1, NULL, 0), 18);          /* measures */
    CHECK_EQ_INT(imap_list_name(&li, 1, out, 18), IMAP_E_NOMEM); /* no room for NUL */
    CHECK_EQ_INT(imap_list_name(&li, 0, out, 12), IMAP_E_NOMEM);
    {
        static const char bad[] = "* LIST () \"/\" \"a&b\"\r\n";
        CHECK_EQ_INT(imap_parser_feed(&p, bad, sizeof bad - 1, &used, &r), IMAP_OK);
        CHECK_EQ_INT(imap_list_decode(r, &li), 0);
        CHECK_EQ_INT(imap_list_name(&li, 0, out, sizeof out), IMAP_E_SYNTAX);
        CHECK_EQ_INT(imap_list_name(&li, 1, out, sizeof out), 3);
    }
}

TEST(one_reader_for_search_and_esearch)
{
    char out[64];
    size_t n = 0;
    const char *all[] = { "ALL" };
    char line[96];
    login("IMAP4rev2", NULL, NULL);
    imap_search(&cl, NULL, all, 1, NULL);
    send_line();
    feed(&cl, "* SEARCH 2 5 7\r\n");
    ok();
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 1);
    CHECK(strcmp(out, "2 5 7") == 0);
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 0);
    feed(&cl, "* SEARCH\r\n");
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 1);
    CHECK(strcmp(out, "") == 0);
    /* rev2: ESEARCH, the set spelled out */
    login("IMAP4rev2", "IMAP4rev2", "IMAP4rev2");
    imap_search(&cl, NULL, all, 1, NULL);
    send_line();
    sprintf(line, "* ESEARCH (TAG \"%s\") ALL 2,5:7,10\r\n", tag);
    feed(&cl, line);
    ok();
    CHECK_EQ_INT(imap_client_search_result(&cl, out, 5, &n), IMAP_E_NOMEM);
    CHECK_EQ_INT(n, 10);
    CHECK_EQ_INT(imap_client_search_result(&cl, out, 11, &n), 1);   /* kept meanwhile */
    CHECK(strcmp(out, "2 5 6 7 10") == 0);
    /* UID, other items, and none found */
    feed(&cl, "* ESEARCH (TAG \"x\") UID COUNT 2 ALL 99:100 MODSEQ 7\r\n"
              "* ESEARCH (TAG \"y\") UID COUNT 0\r\n* ESEARCH\r\n"
              "* ESEARCH (TAG \"z\") ALL\r\n* ESEARCH (TAG \"z\") ALL 1:*\r\n");
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 1);
    CHECK(strcmp(out, "99 100") == 0);
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 1);
    CHECK(strcmp(out, "") == 0);
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 1);
    CHECK(strcmp(out, "") == 0);
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), IMAP_E_SYNTAX);
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), IMAP_E_SYNTAX);
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 0);
    /* the oldest of either name first */
    feed(&cl, "* ESEARCH ALL 3\r\n* SEARCH 4\r\n");
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 1);
    CHECK(strcmp(out, "3") == 0);
    CHECK_EQ_INT(imap_client_search_result(&cl, out, sizeof out, &n), 1);
    CHECK(strcmp(out, "4") == 0);
}

int main(void)
{
    RUN(in_effect_flags_are_not_the_announcement);
    RUN(search_keeps_charset_under_rev2);
    RUN(the_list_in_select_goes_to_the_select);
    RUN(change_notices_are_not_a_lists_data);
    RUN(list_name_is_the_real_name_in_both_modes);
    RUN(one_reader_for_search_and_esearch);
    return test_summary();
}
