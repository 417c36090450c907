/* The seed methods through imap.h in the order of tests/diff/seq.py, one
   line per call: STEP <TAB> TYPE <TAB> DATA, where (TYPE, DATA) is what
   imaplib would return made from imap.h's result, c->last_text and the
   per-name store, encoded as seq.py encodes Python values.
   Usage: seq HOST PORT USER PASSWORD MAILBOX */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "../../imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static imap_client c;
static unsigned char mem[1 << 20];
static char data[1 << 17];

static void esc(const char *s, size_t n)
{
    size_t i;
    putchar('\'');
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\' || ch == '\'' || ch < 0x20 || ch > 0x7e) printf("\\x%02x", ch);
        else putchar(ch);
    }
    putchar('\'');
}

static void begin(const char *step, const char *type)
{
    printf("%s\t%s\t", step, type);
}

/* imaplib's type for a result; 0 when it raises (type printed) */
static const char *type_of(int rc)
{
    if (rc == IMAP_OK) return "OK";
    if (rc == IMAP_E_NO) return "NO";
    switch (imap_result_class_of(rc)) {
    case IMAP_CLASS_ABORT: return "abort";
    case IMAP_CLASS_READONLY: return "readonly";
    default: return "error";
    }
}

/* The entries named `name` as imaplib's list: strings, and (head,
   literal) tuples where a literal is. */
static void entries(const char *name)
{
    size_t n;
    int first = 1, any = 0;
    putchar('[');
    while (imap_client_response(&c, name, data, sizeof data, &n) == 1) {
        const char *cur = data;
        imap_str t, l;
        any = 1;
        while (imap_data_next(&cur, data + n, &t, &l) == 1) {
            if (!first) putchar(',');
            first = 0;
            if (l.ptr) {
                putchar('(');
                esc(t.ptr, t.len);
                putchar(',');
                esc(l.ptr, l.len);
                putchar(')');
            } else {
                esc(t.ptr, t.len);
            }
        }
        if (n == 0) {
            if (!first) putchar(',');
            first = 0;
            esc("", 0);
        }
    }
    if (!any) printf("None");
    putchar(']');
}

/* A call whose data is its tagged text (imaplib's _simple_command). */
static void text_call(const char *step, int rc)
{
    const char *t = type_of(rc);
    begin(step, t);
    if (rc == IMAP_OK || rc == IMAP_E_NO) {
        putchar('[');
        esc(c.last_text, strlen(c.last_text));
        putchar(']');
    } else {
        printf("[]");
    }
    putchar('\n');
}

/* A call whose data is the untagged `name` responses (imaplib's
   _untagged_response: the text on NO). */
static void data_call(const char *step, int rc, const char *name)
{
    if (rc != IMAP_OK) {
        text_call(step, rc);
        return;
    }
    begin(step, "OK");
    entries(name);
    putchar('\n');
}

static void value_str(const char *step, const char *v)
{
    begin(step, "value");
    esc(v, strlen(v));
    putchar('\n');
}

static const char *state_name(int s)
{
    static const char *const names[] = { "NONAUTH", "AUTH", "SELECTED", "LOGOUT" };
    return s >= 0 && s < 4 ? names[s] : "?";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* imaplib2's callback: ((typ, data), cb_arg, error); data at hand here */
static void on_fetched(void *arg, imap_client *cl, int result, const imap_response *tagged)
{
    (void)arg;
    (void)tagged;
    if (result != IMAP_OK) {
        text_call("fetch-callback", result);
        return;
    }
    begin("fetch-callback", "OK");
    (void)cl;
    entries("FETCH");
    putchar('\n');
}

static const char MSG1[] =
    "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n"
    "Subject: first\r\nMessage-ID: <d1@example.org>\r\n"
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\nHello Bob.\r\n";
static const char MSG2[] =
    "From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n"
    "Subject: Re: first\r\nMessage-ID: <d2@example.org>\r\n"
    "In-Reply-To: <d1@example.org>\r\nDate: Tue, 8 Feb 1994 09:00:00 +0000\r\n\r\nHi.\r\n";
#define DATE "\"07-Feb-1994 21:52:25 -0800\""

static int connect_to(const char *host, unsigned port, imap_tcp *tcp)
{
    imap_transport t;
    int rc;
    imap_client_init(&c, mem, sizeof mem);
    imap_client_set_timeout(&c, 30000);
    rc = imap_tcp_connect(tcp, host, port, 10000, &t);
    if (rc == IMAP_OK) rc = imap_client_open(&c, &t);
    return rc;
}

int main(int argc, char **argv)
{
    const char *host, *user, *pass, *mbox;
    unsigned port;
    imap_tcp tcp;
    char m2[256], m3[256], pat[256];
    int rc;
    if (argc != 6) {
        fprintf(stderr, "usage: seq HOST PORT USER PASSWORD MAILBOX\n");
        return 2;
    }
    host = argv[1];
    port = (unsigned)atoi(argv[2]);
    user = argv[3];
    pass = argv[4];
    mbox = argv[5];
    snprintf(m2, sizeof m2, "%s-missing", mbox);
    snprintf(m3, sizeof m3, "%s-renamed", mbox);
    snprintf(pat, sizeof pat, "%s*", mbox);
    if ((rc = connect_to(host, port, &tcp)) != IMAP_OK) {
        fprintf(stderr, "seq: connect: %s\n", imap_result_str(rc));
        return 1;
    }
    value_str("state-greeted", state_name(c.state));
    {
        /* imaplib: tuple(dat.upper().split()), here sorted */
        static char caps[IMAP_CAPS_BYTES];
        const char *v[128];
        size_t n = 0, i;
        imap_str s = imap_client_capabilities(&c);
        char *p;
        memcpy(caps, s.ptr, s.len);
        caps[s.len] = 0;
        for (p = caps; *p; p++)
            if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
        for (p = strtok(caps, " "); p && n < 128; p = strtok(NULL, " ")) v[n++] = p;
        qsort(v, n, sizeof v[0], cmp_str);
        begin("capabilities-greeted", "value");
        putchar('(');
        for (i = 0; i < n; i++) {
            if (i) putchar(',');
            esc(v[i], strlen(v[i]));
        }
        printf(")\n");
    }
    value_str("PROTOCOL_VERSION", c.protocol == 2 ? "IMAP4REV2" : "IMAP4REV1");
    text_call("login", imap_login(&c, user, pass, NULL));
    value_str("state-login", state_name(c.state));
    data_call("capability", imap_capability(&c, NULL), "CAPABILITY");
    text_call("enable", imap_enable(&c, "CONDSTORE", NULL));
    imap_delete(&c, mbox, NULL);                /* from a run that broke off */
    imap_delete(&c, m3, NULL);
    text_call("create", imap_create(&c, mbox, NULL));
    data_call("select-empty", imap_select(&c, mbox, 0, NULL), "EXISTS");
    value_str("state-select", state_name(c.state));
    text_call("append-1", imap_append(&c, mbox, "(\\Seen)", DATE, MSG1, strlen(MSG1), NULL));
    text_call("append-2", imap_append(&c, mbox, NULL, DATE, MSG2, strlen(MSG2), NULL));
    text_call("noop", imap_noop(&c, NULL));
    text_call("check", imap_check(&c, NULL));
    {
        const char *all[] = { "ALL" }, *subj[] = { "SUBJECT", "first" };
        data_call("search", imap_search(&c, NULL, all, 1, NULL), "SEARCH");
        data_call("search-subject", imap_search(&c, NULL, subj, 2, NULL), "SEARCH");
    }
    {
        /* imaplib2's id, idle and callback= */
        const char *id[] = { "name", "imaph-diff" };
        imap_call call;
        data_call("id", imap_id(&c, id, 2, NULL), "ID");
        text_call("idle", imap_idle(&c, 1000, NULL));
        memset(&call, 0, sizeof call);
        call.on_done = on_fetched;
        if (imap_fetch(&c, "1", "(RFC822.SIZE FLAGS)", &call) == IMAP_OK)
            imap_client_wait_all(&c);
    }
    data_call("fetch-flags", imap_fetch(&c, "1:*", "(FLAGS INTERNALDATE)", NULL), "FETCH");
    data_call("fetch-rfc822", imap_fetch(&c, "1", "(RFC822)", NULL), "FETCH");
    data_call("fetch-header", imap_fetch(&c, "2", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])", NULL),
              "FETCH");
    data_call("store", imap_store(&c, "1", "+FLAGS", "(\\Flagged)", NULL), "FETCH");
    text_call("copy", imap_copy(&c, "1", mbox, NULL));
    {
        const char *a1[] = { "ALL" }, *a2[] = { "1:*", "(FLAGS)" };
        const char *a3[] = { "2", "+FLAGS", "(\\Seen)" };
        data_call("uid-search", imap_uid(&c, "SEARCH", a1, 1, NULL), "SEARCH");
        data_call("uid-fetch", imap_uid(&c, "FETCH", a2, 2, NULL), "FETCH");
        data_call("uid-store", imap_uid(&c, "STORE", a3, 3, NULL), "FETCH");
    }
    data_call("status", imap_status(&c, mbox, "(MESSAGES UIDNEXT)", NULL), "STATUS");
    data_call("list", imap_list(&c, "\"\"", pat, NULL), "LIST");
    text_call("subscribe", imap_subscribe(&c, mbox, NULL));
    data_call("lsub", imap_lsub(&c, "\"\"", pat, NULL), "LSUB");
    text_call("unsubscribe", imap_unsubscribe(&c, mbox, NULL));
    data_call("namespace", imap_namespace(&c, NULL), "NAMESPACE");
    data_call("getacl", imap_getacl(&c, mbox, NULL), "ACL");
    data_call("myrights", imap_myrights(&c, mbox, NULL), "MYRIGHTS");
    text_call("setacl", imap_setacl(&c, mbox, "bob", "lr", NULL));
    text_call("deleteacl", imap_deleteacl(&c, mbox, "bob", NULL));
    rc = imap_getquotaroot(&c, mbox, NULL);
    if (rc != IMAP_OK) {
        text_call("getquotaroot", rc);
    } else {
        /* imaplib: [quotaroot, quota] */
        begin("getquotaroot", "OK");
        putchar('[');
        entries("QUOTAROOT");
        putchar(',');
        entries("QUOTA");
        printf("]\n");
    }
    data_call("getquota", imap_getquota(&c, "\"User quota\"", NULL), "QUOTA");
    data_call("setquota", imap_setquota(&c, "\"User quota\"", "(STORAGE 1000)", NULL), "QUOTA");
    data_call("getannotation", imap_getannotation(&c, mbox, "\"/comment\"", "\"value.priv\"", NULL),
              "ANNOTATION");
    {
        const char *an[] = { "\"/comment\"", "(\"value.priv\" \"diff\")" };
        data_call("setannotation", imap_setannotation(&c, mbox, an, 2, NULL), "ANNOTATION");
    }
    {
        const char *all[] = { "ALL" };
        data_call("sort", imap_sort(&c, "(DATE)", "UTF-8", all, 1, NULL), "SORT");
        data_call("thread", imap_thread(&c, "REFERENCES", "UTF-8", all, 1, NULL), "THREAD");
    }
    {
        imap_u64 n = 0;
        char v[32];
        rc = imap_recent(&c, &n);
        begin("recent", rc >= 0 ? "OK" : type_of(rc));
        if (rc == 1) {
            sprintf(v, "%llu", (unsigned long long)n);
            putchar('[');
            esc(v, strlen(v));
            printf("]\n");
        } else {
            printf(rc == 0 ? "[None]\n" : "[]\n");
        }
    }
    begin("response-flags", "FLAGS");
    entries("FLAGS");
    putchar('\n');
    begin("response-none", "NOSUCHCODE");
    entries("NOSUCHCODE");
    putchar('\n');
    data_call("store-deleted", imap_store(&c, "1", "+FLAGS", "(\\Deleted)", NULL), "FETCH");
    data_call("expunge", imap_expunge(&c, NULL), "EXPUNGE");
    data_call("xatom", imap_xatom(&c, "XNOSUCHCOMMAND", NULL, 0, NULL), "XNOSUCHCOMMAND");
    data_call("partial", imap_partial(&c, "1", "RFC822", "0", "10", NULL), "FETCH");
    text_call("proxyauth", imap_proxyauth(&c, "bob", NULL));
    data_call("select-missing", imap_select(&c, m2, 0, NULL), "EXISTS");
    value_str("state-select-missing", state_name(c.state));
    data_call("examine", imap_select(&c, mbox, 1, NULL), "EXISTS");
    text_call("close", imap_close(&c, NULL));
    value_str("state-close", state_name(c.state));
    data_call("select-again", imap_select(&c, mbox, 0, NULL), "EXISTS");
    text_call("unselect", imap_unselect(&c, NULL));
    text_call("rename", imap_rename(&c, mbox, m3, NULL));
    text_call("delete", imap_delete(&c, m3, NULL));
    rc = imap_logout(&c, NULL);
    /* imaplib: ('BYE', the BYE data) */
    if (rc == IMAP_OK) {
        begin("logout", "BYE");
        entries("BYE");
        putchar('\n');
    } else {
        text_call("logout", rc);
    }
    value_str("state-logout", state_name(c.state));
    imap_client_close(&c);

    if (connect_to(host, port, &tcp) == IMAP_OK) {
        imap_sasl s;
        imap_sasl_init(&s, user, pass);
        text_call("authenticate-plain", imap_authenticate(&c, "PLAIN", imap_sasl_plain, &s, NULL));
        imap_sasl_wipe(&s);
        rc = imap_logout(&c, NULL);
        begin("logout-2", rc == IMAP_OK ? "BYE" : type_of(rc));
        entries("BYE");
        putchar('\n');
        imap_client_close(&c);
    }
    if (connect_to(host, port, &tcp) == IMAP_OK) {
        text_call("login-cram-md5", imap_login_cram_md5(&c, user, pass, NULL));
        rc = imap_logout(&c, NULL);
        begin("logout-3", rc == IMAP_OK ? "BYE" : type_of(rc));
        entries("BYE");
        putchar('\n');
        imap_client_close(&c);
    }

    {
        imap_tm feb30 = { 2020, 2, 30, 12, 0, 0, 0 };
        char out[29];
        if (imap_internaldate_format_tm(&feb30, out) == IMAP_OK) value_str("Time2Internaldate-30feb", out);
        else value_str("Time2Internaldate-30feb", "IMAP_E_ARGS");
    }
    {
        char ap[17], out[29];
        static const char fl[] = "1 (FLAGS (\\Seen \\Answered) UID 4)";
        imap_flags_iter it;
        imap_str f;
        long long t;
        int first = 1;
        imap_int2ap(4096 + 12345, ap, sizeof ap);
        value_str("Int2AP", ap);
        begin("ParseFlags", "value");
        putchar('(');
        if (imap_parse_flags_str(fl, sizeof fl - 1, &it) == IMAP_OK)
            while (imap_flags_next(&it, &f) == 1) {
                if (!first) putchar(',');
                first = 0;
                esc(f.ptr, f.len);
            }
        printf(")\n");
        imap_internaldate_format(760686745, 0, out);
        value_str("Time2Internaldate", out);
        if (imap_internaldate_parse("\"07-Feb-1994 21:52:25 -0800\"", 28, NULL, &t) == IMAP_OK) {
            time_t tt = (time_t)t;
            struct tm *g = gmtime(&tt);
            begin("Internaldate2tuple", "value");
            printf("(%d,%d,%d,%d,%d,%d)\n", g->tm_year + 1900, g->tm_mon + 1, g->tm_mday,
                   g->tm_hour, g->tm_min, g->tm_sec);
        }
    }
    return 0;
}
