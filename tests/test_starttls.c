/* test_starttls.c - capability lists are kept whole or distrusted, and
   the two-step STARTTLS (imap_starttls_begin / _finish) that any TLS
   library can use: plaintext a server slips in after its OK is dropped.
   Scripted servers only: these are hostile bytes no real server sends. */
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include "test.h"
#include <stdlib.h>

static unsigned char mem[64 * 1024];
static imap_client cl;
static imap_script sc;
static imap_transport tr;
static char tags[8][16];

/* The tags the client will use (seed 0), so steps can name them. */
static void make_tags(void)
{
    imap_tagger t;
    int i;
    imap_tagger_init(&t, 0);
    for (i = 0; i < 8; i++) imap_tagger_next(&t, tags[i]);
}

static void open_script(const imap_script_step *steps, size_t n)
{
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, 0);
    imap_script_init(&sc, steps, n, &tr);
    make_tags();
}

/* A capability list of about `bytes` bytes: IMAP4rev1 and STARTTLS,
   filler atoms, and `last` at the very end (past any cut). */
static char *caps_list(size_t bytes, const char *last)
{
    static char buf[8192];
    size_t n;
    int i = 0;
    n = (size_t)sprintf(buf, "IMAP4rev1 STARTTLS AUTH=PLAIN");
    while (n + 20 + strlen(last) < bytes) n += (size_t)sprintf(buf + n, " X-FILLER-%04d", i++);
    n += (size_t)sprintf(buf + n, " %s", last);
    return buf;
}

static char greeting[9000];
static const char *greet(size_t bytes, const char *last)
{
    sprintf(greeting, "* OK [CAPABILITY %s] ready\r\n", caps_list(bytes, last));
    return greeting;
}

/* 262, 975 and 1,067-byte lists (the sizes seen in the report) are kept
   whole, LOGINDISABLED at their end is seen, and LOGIN is refused
   without a byte sent (the script has no EXPECT: any write mismatches). */
TEST(caps_real_sizes_kept_whole)
{
    static const size_t sizes[] = { 262, 975, 1067, 1900 };
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        imap_script_step st[1];
        st[0].kind = IMAP_SCRIPT_REPLY;
        st[0].data = greet(sizes[i], "LOGINDISABLED");
        st[0].len = 0;
        open_script(st, 1);
        CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
        CHECK_EQ_INT(imap_client_caps_cut(&cl), 0);
        CHECK(imap_client_capabilities(&cl).len + 1 >= sizes[i] - 24);
        CHECK(imap_client_has_cap(&cl, "LOGINDISABLED"));
        CHECK(imap_client_has_cap(&cl, "X-FILLER-0003"));
        CHECK_EQ_INT(imap_login(&cl, "u", "secret", NULL), IMAP_E_PLAINTEXT);
        CHECK(!sc.mismatch);
        CHECK_EQ_INT(sc.bytes_written, 0);
    }
}

/* A list larger than IMAP_CAPS_BYTES: LOGINDISABLED past the cut is
   assumed, and no credential goes out at all (E_CAPS_CUT), with the size
   that would have held it and words that say so. */
TEST(caps_cut_sends_no_credentials)
{
    imap_script_step st[1];
    char text[512];
    const char *list;
    st[0].kind = IMAP_SCRIPT_REPLY;
    st[0].data = greet(IMAP_CAPS_BYTES + 500, "LOGINDISABLED");
    st[0].len = 0;
    list = caps_list(IMAP_CAPS_BYTES + 500, "LOGINDISABLED");
    open_script(st, 1);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
    CHECK_EQ_INT(imap_client_caps_cut(&cl), strlen(list) + 1);
    CHECK(imap_client_capabilities(&cl).len < IMAP_CAPS_BYTES);
    CHECK(imap_client_has_cap(&cl, "LOGINDISABLED"));   /* assumed */
    CHECK(imap_client_has_cap(&cl, "STARTTLS"));        /* seen */
    CHECK(!imap_client_has_cap(&cl, "X-FILLER-9999"));
    CHECK_EQ_INT(imap_login(&cl, "u", "secret", NULL), IMAP_E_CAPS_CUT);
    CHECK_EQ_INT(imap_login_sasl(&cl, NULL, "u", "secret", NULL), IMAP_E_CAPS_CUT);
    CHECK_EQ_INT(imap_login_sasl(&cl, "PLAIN", "u", "secret", NULL), IMAP_E_CAPS_CUT);
    CHECK_EQ_INT(imap_authenticate(&cl, "PLAIN", NULL, NULL, NULL), IMAP_E_CAPS_CUT);
    CHECK(!sc.mismatch);
    CHECK_EQ_INT(sc.bytes_written, 0);
    imap_error_text(text, sizeof text, IMAP_E_CAPS_CUT, &cl, NULL, NULL);
    CHECK(strstr(text, "IMAP_CAPS_BYTES") != NULL);
    {
        char need[32];
        sprintf(need, "%lu", (unsigned long)(strlen(list) + 1));
        CHECK(strstr(text, need) != NULL);
    }
}

/* STARTTLS past the cut: has_cap says yes (so a caller does not skip
   TLS on a guess) and imap_starttls_begin sends it. */
TEST(caps_cut_still_tries_starttls)
{
    static char g[6000], ok[64];
    imap_script_step st[2];
    sprintf(g, "* OK [CAPABILITY %s] ready\r\n", caps_list(IMAP_CAPS_BYTES + 300, "LOGINDISABLED"));
    /* STARTTLS moved to the end, past the cut */
    {
        char *p = strstr(g, " STARTTLS");
        if (p) memmove(p, p + 9, strlen(p + 9) + 1);
        p = strstr(g, "LOGINDISABLED");
        if (p) {
            memmove(p + 9, p, strlen(p) + 1);
            memcpy(p, "STARTTLS ", 9);
        }
    }
    st[0].kind = IMAP_SCRIPT_REPLY; st[0].data = g; st[0].len = 0;
    open_script(st, 1);
    st[1].kind = IMAP_SCRIPT_EXPECT;
    sprintf(ok, "%s STARTTLS\r\n", tags[0]);
    st[1].data = ok; st[1].len = 0;
    imap_script_init(&sc, st, 2, &tr);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
    CHECK(imap_client_caps_cut(&cl) > 0);
    CHECK(strstr(imap_client_capabilities(&cl).ptr, "STARTTLS") == NULL);
    CHECK(imap_client_has_cap(&cl, "STARTTLS"));
    imap_client_set_timeout(&cl, 50);
    imap_starttls_begin(&cl, NULL);            /* the script ends after it */
    CHECK(!sc.mismatch);
    CHECK(sc.bytes_written == strlen(ok));
}

/* The injection: the server (or someone in the middle) sends plaintext
   after its STARTTLS OK. None of it may be learnt: not the EXISTS, not
   the forged capabilities. The new transport (here a second script,
   standing for the caller's TLS) is asked CAPABILITY again. */
TEST(starttls_two_step_drops_injection)
{
    static char e1[64], r1[256], e2[64], r2[128], e3[64], r3[64];
    imap_script_step st[2], ts[6];
    imap_script tsc;
    imap_transport ttr;
    char data[64];
    size_t len;
    make_tags();
    st[0].kind = IMAP_SCRIPT_REPLY;
    st[0].data = "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] plain\r\n";
    st[0].len = 0;
    sprintf(e1, "%s STARTTLS\r\n", tags[0]);
    sprintf(r1, "%s OK Begin TLS now\r\n* 777 EXISTS\r\n"
                "* CAPABILITY IMAP4rev1 LOGINDISABLED\r\n* OK [ALERT] forged\r\n", tags[0]);
    {
        imap_script_step all[3];
        all[0] = st[0];
        all[1].kind = IMAP_SCRIPT_EXPECT; all[1].data = e1; all[1].len = 0;
        all[2].kind = IMAP_SCRIPT_REPLY; all[2].data = r1; all[2].len = 0;
        open_script(all, 3);
        CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
        CHECK_EQ_INT(imap_starttls_finish(&cl, &tr), IMAP_E_STATE);     /* no begin */
        CHECK_EQ_INT(imap_starttls_begin(&cl, NULL), IMAP_OK);
        CHECK(imap_script_done(&sc));
        /* nothing goes between the steps */
        CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_E_STATE);
        CHECK_EQ_INT(imap_starttls_begin(&cl, NULL), IMAP_E_STATE);
        CHECK_EQ_INT(cl.exists, 0);
        CHECK(!imap_client_has_cap(&cl, "LOGINDISABLED"));   /* plaintext ones forgotten */
        /* "TLS": the caller's transport */
        sprintf(e2, "%s CAPABILITY\r\n", tags[1]);
        sprintf(r2, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s OK done\r\n", tags[1]);
        sprintf(e3, "%s NOOP\r\n", tags[2]);
        sprintf(r3, "%s OK noop\r\n", tags[2]);
        ts[0].kind = IMAP_SCRIPT_EXPECT; ts[0].data = e2; ts[0].len = 0;
        ts[1].kind = IMAP_SCRIPT_REPLY; ts[1].data = r2; ts[1].len = 0;
        ts[2].kind = IMAP_SCRIPT_EXPECT; ts[2].data = e3; ts[2].len = 0;
        ts[3].kind = IMAP_SCRIPT_REPLY; ts[3].data = r3; ts[3].len = 0;
        imap_script_init(&tsc, ts, 4, &ttr);
        CHECK_EQ_INT(imap_starttls_finish(&cl, &ttr), IMAP_OK);
        CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_OK);
        CHECK(imap_script_done(&tsc));
        CHECK_EQ_INT(cl.exists, 0);
        CHECK(!imap_client_has_cap(&cl, "LOGINDISABLED"));
        CHECK(imap_client_has_cap(&cl, "AUTH=PLAIN"));
        CHECK_EQ_INT(imap_client_response(&cl, "EXISTS", data, sizeof data, &len), 0);
        CHECK_EQ_INT(imap_client_response(&cl, "ALERT", data, sizeof data, &len), 0);
        CHECK_EQ_INT(imap_starttls_begin(&cl, NULL), IMAP_E_STATE);   /* TLS already */
    }
    (void)st;
}

/* Without STARTTLS offered, nothing is sent and the code says so; a NO
   leaves the session in plaintext, usable, and not marked TLS. */
TEST(starttls_begin_refusals)
{
    static char e1[64], r1[64];
    imap_script_step st[3];
    st[0].kind = IMAP_SCRIPT_REPLY;
    st[0].data = "* OK [CAPABILITY IMAP4rev1] plain\r\n";
    st[0].len = 0;
    open_script(st, 1);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
    CHECK_EQ_INT(imap_starttls_begin(&cl, NULL), IMAP_E_CAPABILITY);
    CHECK_EQ_INT(sc.bytes_written, 0);
    st[0].data = "* OK [CAPABILITY IMAP4rev1 STARTTLS] plain\r\n";
    sprintf(e1, "%s STARTTLS\r\n", tags[0]);
    sprintf(r1, "%s NO not today\r\n", tags[0]);
    st[1].kind = IMAP_SCRIPT_EXPECT; st[1].data = e1; st[1].len = 0;
    st[2].kind = IMAP_SCRIPT_REPLY; st[2].data = r1; st[2].len = 0;
    open_script(st, 3);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
    CHECK_EQ_INT(imap_starttls_begin(&cl, NULL), IMAP_E_NO);
    CHECK_EQ_INT(imap_starttls_finish(&cl, &tr), IMAP_E_STATE);
    CHECK(imap_client_has_cap(&cl, "STARTTLS"));
    CHECK_EQ_INT(cl.error, 0);
}

/* PREAUTH in plaintext: refused at the greeting when TLS is required,
   and STARTTLS cannot follow it otherwise. */
TEST(starttls_plain_preauth)
{
    imap_script_step st[1];
    char text[256];
    st[0].kind = IMAP_SCRIPT_REPLY;
    st[0].data = "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n";
    st[0].len = 0;
    open_script(st, 1);
    imap_client_require_tls(&cl, 1);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_E_PLAINTEXT);
    imap_error_text(text, sizeof text, IMAP_E_PLAINTEXT, &cl, NULL, NULL);
    CHECK(strstr(text, "PREAUTH") != NULL);
    open_script(st, 1);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
    CHECK_EQ_INT(imap_starttls_begin(&cl, NULL), IMAP_E_PLAINTEXT);
    CHECK_EQ_INT(sc.bytes_written, 0);
}

/* The server's words come back with their response code. */
TEST(error_text_server)
{
    static char e1[64], r1[96];
    imap_script_step st[3];
    char text[256];
    st[0].kind = IMAP_SCRIPT_REPLY;
    st[0].data = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n";
    st[0].len = 0;
    open_script(st, 1);
    sprintf(e1, "%s LOGIN u \"p\"\r\n", tags[0]);
    sprintf(r1, "%s NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", tags[0]);
    st[1].kind = IMAP_SCRIPT_EXPECT; st[1].data = e1; st[1].len = 0;
    st[2].kind = IMAP_SCRIPT_REPLY; st[2].data = r1; st[2].len = 0;
    imap_script_init(&sc, st, 3, &tr);
    CHECK_EQ_INT(imap_client_open(&cl, &tr), IMAP_OK);
    CHECK_EQ_INT(imap_login(&cl, "u", "p", NULL), IMAP_E_NO);
    imap_error_text(text, sizeof text, IMAP_E_NO, &cl, NULL, NULL);
    CHECK(strstr(text, "[AUTHENTICATIONFAILED] Authentication failed.") != NULL);
}

int main(void)
{
    RUN(caps_real_sizes_kept_whole);
    RUN(caps_cut_sends_no_credentials);
    RUN(caps_cut_still_tries_starttls);
    RUN(starttls_two_step_drops_injection);
    RUN(starttls_begin_refusals);
    RUN(starttls_plain_preauth);
    RUN(error_text_server);
    return test_summary();
}
