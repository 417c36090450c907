/* Credentials never reach the debug output or the error ring, at any
   debug level: LOGIN (password as an atom, quoted, and as a synchronizing
   literal), AUTHENTICATE PLAIN with SASL-IR and without, a bearer token
   through a two-step exchange, a refused login. Each session ends with
   the connection dropped, so the ring is dumped (levels below
   IMAP_DEBUG_PROTOCOL); above, every line goes out live. Everything the
   debug sink got, and the ring itself, is searched for each secret, for
   the base64 of each SASL message, and for the base64 of each secret at
   the three alignments it can take inside a longer base64 string. */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <stdlib.h>

static char logbuf[1 << 16];
static size_t loglen;
static unsigned long sink_lines;

static void debug_sink(void *arg, const char *line, size_t len)
{
    (void)arg;
    sink_lines++;
    if (loglen + len + 1 < sizeof logbuf) {
        memcpy(logbuf + loglen, line, len);
        loglen += len;
        logbuf[loglen++] = '\n';
    }
}

static int contains(const char *hay, size_t n, const char *needle, size_t m)
{
    size_t i;
    if (m == 0 || m > n) return 0;
    for (i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return 1;
    return 0;
}

/* The forbidden strings for a secret: itself and the parts of its base64
   that only its own bytes decide, at offsets 0, 1 and 2 mod 3. */
static int leaks(const char *hay, size_t n, const char *secret, size_t slen, char *which)
{
    int a;
    if (contains(hay, n, secret, slen)) {
        strcpy(which, "plain");
        return 1;
    }
    for (a = 0; a < 3; a++) {
        unsigned char buf[300];
        char enc[420];
        size_t k, first = 0, last = 0, blen = (size_t)a + slen + 3;
        long elen;
        memset(buf, 0, sizeof buf);
        memcpy(buf + a, secret, slen);
        elen = imap_base64_encode(buf, blen, enc, sizeof enc);
        if (elen < 0) return 1;
        /* base64 character k covers bits 6k..6k+5 */
        for (k = 0; k < (size_t)elen; k++) {
            size_t b0 = 6 * k / 8, b1 = (6 * k + 5) / 8;
            if (b0 >= (size_t)a && b1 < (size_t)a + slen) {
                if (!last) first = k;
                last = k + 1;
            }
        }
        if (last > first + 4 && contains(hay, n, enc + first, last - first)) {
            sprintf(which, "base64 at alignment %d", a);
            return 1;
        }
    }
    return 0;
}

/* ---- sessions ---------------------------------------------------------- */

static const char user[] = "alice";
static const char *secrets[] = {
    "S3cr3tPa55w0rd",         /* an atom */
    "S3cr3t Pa55 \"w0rd\"",   /* quoted */
    "S3cr3t-P\xc3\xa4\x35\x35", /* 8-bit: a literal */
    "ya29.T0ken-S3cret-Value",  /* a bearer token */
};

static int plain_auth(void *arg, const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    const char *pw = (const char *)arg;
    size_t ul = strlen(user), pl = strlen(pw);
    (void)ch;
    if (len != 0 || cap < ul + pl + 2) return -1;
    out[0] = 0;
    memcpy(out + 1, user, ul);
    out[1 + ul] = 0;
    memcpy(out + 2 + ul, pw, pl);
    return (int)(ul + pl + 2);
}

/* Two steps: a first message naming the user, then the token. */
static int token_auth(void *arg, const unsigned char *ch, size_t len, unsigned char *out, size_t cap)
{
    const char *tok = (const char *)arg;
    size_t tl = strlen(tok);
    if (len == 0) {
        if (cap < 6) return -1;
        memcpy(out, "user=a", 6);
        return 6;
    }
    (void)ch;
    if (cap < tl + 7) return -1;
    memcpy(out, "Bearer ", 7);
    memcpy(out + 7, tok, tl);
    return (int)(tl + 7);
}

static unsigned char mem[1 << 16];
static imap_client cl;
static imap_script_step steps[32];
static size_t nsteps;
static char expect_buf[8][512];
static int nexp;

static void step(int kind, const char *data, size_t len)
{
    steps[nsteps].kind = kind;
    steps[nsteps].data = data;
    steps[nsteps].len = len;
    nsteps++;
}

/* The LOGIN the client will send, from the builder itself, as EXPECT
   steps with a "+" after each synchronizing literal. */
static void expect_login(const char *pw)
{
    imap_cmd cmd;
    unsigned char buf[512];
    unsigned i;
    imap_cmd_init(&cmd, buf, sizeof buf);
    if (imap_cmd_login(&cmd, "BAAA0", user, pw) != IMAP_OK) return;
    for (i = 0; i < cmd.nseg; i++) {
        char *e = expect_buf[nexp++];
        memcpy(e, cmd.seg[i].ptr, cmd.seg[i].len);
        step(IMAP_SCRIPT_EXPECT, e, cmd.seg[i].len);
        if (cmd.seg[i].wait) step(IMAP_SCRIPT_REPLY, "+ OK\r\n", 0);
    }
}

static char b64[8][600];

/* run one session at one debug level; returns the result of the auth */
static int session(int kind, int level, const char *secret)
{
    imap_transport tr;
    imap_script sc;
    int rc = 0;
    char *b;
    nsteps = 0;
    nexp = 0;
    loglen = 0;
    switch (kind) {
    case 0: /* LOGIN, accepted */
    case 1: /* LOGIN, refused */
        step(IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n", 0);
        expect_login(secret);
        step(IMAP_SCRIPT_REPLY, kind == 0 ? "BAAA0 OK [CAPABILITY IMAP4rev1] Logged in\r\n"
                                          : "BAAA0 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", 0);
        break;
    case 2: /* AUTHENTICATE PLAIN with SASL-IR */
    case 3: /* and without */
        step(IMAP_SCRIPT_REPLY, kind == 2 ? "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n"
                                          : "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n", 0);
        {
            unsigned char raw[300];
            int n = plain_auth((void *)secret, NULL, 0, raw, sizeof raw);
            char enc[500];
            imap_base64_encode(raw, (size_t)n, enc, sizeof enc);
            b = b64[0];
            if (kind == 2) {
                sprintf(b, "BAAA0 AUTHENTICATE PLAIN %s\r\n", enc);
                step(IMAP_SCRIPT_EXPECT, b, 0);
            } else {
                step(IMAP_SCRIPT_EXPECT, "BAAA0 AUTHENTICATE PLAIN\r\n", 0);
                step(IMAP_SCRIPT_REPLY, "+ \r\n", 0);
                sprintf(b, "%s\r\n", enc);
                step(IMAP_SCRIPT_EXPECT, b, 0);
            }
        }
        step(IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1] Logged in\r\n", 0);
        break;
    case 4: /* a token in the second step, after a server challenge */
        step(IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XBEARER] ready\r\n", 0);
        step(IMAP_SCRIPT_EXPECT, "BAAA0 AUTHENTICATE XBEARER dXNlcj1h\r\n", 0);
        step(IMAP_SCRIPT_REPLY, "+ c2VuZCB0aGUgdG9rZW4=\r\n", 0);
        {
            char raw[300];
            char enc[500];
            size_t tl = strlen(secret);
            memcpy(raw, "Bearer ", 7);
            memcpy(raw + 7, secret, tl);
            imap_base64_encode(raw, tl + 7, enc, sizeof enc);
            b = b64[1];
            sprintf(b, "%s\r\n", enc);
            step(IMAP_SCRIPT_EXPECT, b, 0);
        }
        step(IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1] Logged in\r\n", 0);
        break;
    default:
        break;
    }
    step(IMAP_SCRIPT_CLOSE, NULL, 0);
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, 0);
    imap_client_set_timeout(&cl, 1000);
    imap_client_set_debug(&cl, level, debug_sink, NULL);
    imap_script_init(&sc, steps, nsteps, &tr);
    if (imap_client_open(&cl, &tr) != IMAP_OK) return -1000;
    switch (kind) {
    case 0:
    case 1: rc = imap_login(&cl, user, secret, NULL); break;
    case 2:
    case 3: rc = imap_authenticate(&cl, "PLAIN", plain_auth, (void *)secret, NULL); break;
    case 4: rc = imap_authenticate(&cl, "XBEARER", token_auth, (void *)secret, NULL); break;
    default: break;
    }
    /* the drop: the next command aborts and the ring is dumped */
    (void)imap_noop(&cl, NULL);
    if (sc.mismatch)
        printf("    session %d: mismatch at step %zu: \"%.*s\"\n", kind, sc.mismatch_step,
               (int)sc.mismatch_got_len, (const char *)sc.mismatch_got);
    if (!cl.error) rc = -2000;
    return sc.mismatch ? -3000 : rc;
}

TEST(no_credential_in_debug_output_or_ring)
{
    static const int levels[] = { 0, 1, 2, 3, 4, 5, 9 };
    static const int want[] = { IMAP_OK, IMAP_E_NO, IMAP_OK, IMAP_OK, IMAP_OK };
    int kind, li;
    size_t si;
    unsigned long runs = 0;
    for (kind = 0; kind < 5; kind++) {
        for (si = 0; si < sizeof secrets / sizeof secrets[0]; si++) {
            const char *secret = secrets[si];
            /* PLAIN and the token carry their secret in base64 anyway */
            if (kind >= 2 && si == 2) continue;
            for (li = 0; li < (int)(sizeof levels / sizeof levels[0]); li++) {
                char which[64];
                int rc = session(kind, levels[li], secret);
                runs++;
                if (rc != want[kind]) printf("    session %d secret %zu level %d: %s\n", kind, si,
                                             levels[li], imap_result_name(rc));
                CHECK_EQ_INT(rc, want[kind]);
                /* the log is there (so the search means something) */
                CHECK(contains(logbuf, loglen, "BAAA0", 5));
                if (leaks(logbuf, loglen, secret, strlen(secret), which)) {
                    printf("    session %d level %d: secret %zu in the debug output (%s)\n",
                           kind, levels[li], si, which);
                    CHECK(0);
                }
                if (leaks((const char *)cl._ring, sizeof cl._ring, secret, strlen(secret), which)) {
                    printf("    session %d level %d: secret %zu in the ring (%s)\n", kind,
                           levels[li], si, which);
                    CHECK(0);
                }
                /* and the whole SASL messages, as sent */
                if (kind == 2 || kind == 3) {
                    const char *m = b64[0] + (kind == 2 ? strlen("BAAA0 AUTHENTICATE PLAIN ") : 0);
                    CHECK(!contains(logbuf, loglen, m, strlen(m) - 2));
                }
                if (kind == 4) CHECK(!contains(logbuf, loglen, b64[1], strlen(b64[1]) - 2));
            }
        }
    }
    printf("    %lu sessions\n", runs);
}

/* The searching itself finds a leak when there is one. */
TEST(the_search_finds_planted_secrets)
{
    char hay[400], which[64], enc[200];
    const char *s = secrets[0];
    unsigned char raw[100];
    size_t n = strlen(s);
    int a;
    sprintf(hay, "C: BAAA0 LOGIN alice %s", s);
    CHECK(leaks(hay, strlen(hay), s, n, which));
    for (a = 0; a < 3; a++) {
        memset(raw, 'x', sizeof raw);
        memcpy(raw + 5 + a, s, n);
        imap_base64_encode(raw, 5 + (size_t)a + n + 4, enc, sizeof enc);
        sprintf(hay, "C: %s", enc);
        CHECK(leaks(hay, strlen(hay), s, n, which));
    }
    CHECK(!leaks("C: BAAA0 LOGIN [credentials hidden]", 36, s, n, which));
}

int main(void)
{
    RUN(the_search_finds_planted_secrets);
    RUN(no_credential_in_debug_output_or_ring);
    return test_summary();
}
