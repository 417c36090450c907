/* build: -lbearssl */
/* Unit tests of the SASL mechanisms (section 9b): the RFC test vectors,
   the strict SCRAM parsers, and whole AUTHENTICATE exchanges over the
   scripted transport (with and without SASL-IR, a server whose signature
   is wrong or missing). Needs BearSSL: run.sh links -lbearssl. */
#define IMAP_WITH_BEARSSL
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <stdlib.h>

static unsigned char ans[IMAP_SASL_BYTES];

/* One call of a mechanism with a challenge of n bytes (n 0: strlen). */
static int stepn(imap_auth_fn fn, imap_sasl *s, const char *ch, size_t n)
{
    memset(ans, 0xAA, sizeof ans);
    return fn(s, (const unsigned char *)ch, n ? n : strlen(ch), ans, sizeof ans);
}
#define step(fn, s, ch) stepn((fn), (s), (ch), 0)
#define CHECK_ANS(n, lit) do { int ck_n_ = (n); CHECK_EQ_INT(ck_n_, (int)sizeof(lit) - 1); \
        CHECK(memcmp(ans, lit, sizeof(lit) - 1) == 0); } while (0)

static int b64is(const unsigned char *d, size_t n, const char *want)
{
    char b[2048];
    long k = imap_base64_encode(d, n, b, sizeof b);
    return k >= 0 && strcmp(b, want) == 0;
}

/* ---- the mechanisms alone -------------------------------------------- */

TEST(plain_rfc4616)
{
    imap_sasl s;
    unsigned char small[8];
    imap_sasl_init(&s, "tim", "tanstaaftanstaaf");
    CHECK_ANS(step(imap_sasl_plain, &s, ""), "\0tim\0tanstaaftanstaaf");
    CHECK(b64is(ans, 21, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));
    CHECK_EQ_INT(step(imap_sasl_plain, &s, "more?"), -1);    /* one round only */
    CHECK_EQ_INT(s.error, IMAP_E_SYNTAX);
    CHECK_EQ_INT(imap_sasl_plain(&s, NULL, 0, NULL, 0), 0);  /* OK accepted */
    /* RFC 4616 §4 with an authzid */
    imap_sasl_init(&s, "Kurt", "xipj3plmq");
    s.authzid = "Ursel";
    CHECK_ANS(step(imap_sasl_plain, &s, ""), "Ursel\0Kurt\0xipj3plmq");
    /* too small: refused, and the half-written password wiped */
    imap_sasl_init(&s, "tim", "tanstaaftanstaaf");
    memset(small, 0xAA, sizeof small);
    CHECK_EQ_INT(imap_sasl_plain(&s, (const unsigned char *)"", 0, small, sizeof small), -1);
    CHECK_EQ_INT(s.error, IMAP_E_NOMEM);
    CHECK(memchr(small, 't', sizeof small) == NULL);
    imap_sasl_init(&s, NULL, "x");
    CHECK_EQ_INT(step(imap_sasl_plain, &s, ""), -1);
    CHECK_EQ_INT(s.error, IMAP_E_ARGS);
}

TEST(login_waits_for_the_prompts)
{
    imap_sasl s;
    imap_sasl_init(&s, "tim", "tanstaaftanstaaf");
    CHECK_EQ_INT(step(imap_sasl_login, &s, ""), IMAP_AUTH_NO_IR);   /* no initial response */
    CHECK_ANS(step(imap_sasl_login, &s, "User Name"), "tim");
    CHECK_ANS(step(imap_sasl_login, &s, "Password"), "tanstaaftanstaaf");
    CHECK_EQ_INT(step(imap_sasl_login, &s, "again?"), -1);
    CHECK_EQ_INT(s.error, IMAP_E_SYNTAX);
}

TEST(cram_md5_rfc2195)
{
    imap_sasl s;
    imap_sasl_init(&s, "tim", "tanstaaftanstaaf");
    CHECK_EQ_INT(step(imap_sasl_cram_md5, &s, ""), IMAP_AUTH_NO_IR);
    CHECK_ANS(step(imap_sasl_cram_md5, &s, "<1896.697170952@postoffice.reston.mci.net>"),
              "tim b913a602c7eda7a495b4e6e7334d3890");
    CHECK(b64is(ans, 36, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"));
    CHECK_EQ_INT(step(imap_sasl_cram_md5, &s, "<again>"), -1);
}

#define SHA1_SF  "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
#define SHA1_CF  "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define SHA1_SV  "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
#define SHA256_SF "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define SHA256_CF "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define SHA256_SV "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

TEST(scram_sha1_rfc5802)
{
    imap_sasl s;
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = "fyko+d2lbbFgONRv9qkxdawL";
    CHECK_ANS(step(imap_sasl_scram_sha1, &s, ""), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    CHECK_ANS(step(imap_sasl_scram_sha1, &s, SHA1_SF), SHA1_CF);
    CHECK_EQ_INT(s.verified, 0);
    CHECK_EQ_INT(imap_sasl_scram_sha1(&s, NULL, 0, NULL, 0), IMAP_E_AUTH);  /* not yet */
    CHECK_EQ_INT(step(imap_sasl_scram_sha1, &s, SHA1_SV), 0);
    CHECK_EQ_INT(s.verified, 1);
    CHECK_EQ_INT(s.error, 0);
    CHECK_EQ_INT(imap_sasl_scram_sha1(&s, NULL, 0, NULL, 0), 0);
    CHECK_EQ_INT(step(imap_sasl_scram_sha1, &s, "x=1"), -1);       /* nothing after */
    imap_sasl_wipe(&s);
    CHECK_EQ_INT(s._nonce[0], 0);
}

TEST(scram_sha256_rfc7677)
{
    imap_sasl s;
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = "rOprNGfwEbeRWgbNEkqO";
    CHECK_ANS(step(imap_sasl_scram_sha256, &s, ""), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    CHECK_ANS(step(imap_sasl_scram_sha256, &s, SHA256_SF), SHA256_CF);
    CHECK_EQ_INT(step(imap_sasl_scram_sha256, &s, SHA256_SV), 0);
    CHECK_EQ_INT(s.verified, 1);
    CHECK_EQ_INT(imap_sasl_scram_sha256(&s, NULL, 0, NULL, 0), 0);
}

/* The cache gives the same answers without PBKDF2; it is used only for
   the same hash, user, password, salt and count. */
static int scram_with(imap_auth_fn fn, const char *user, const char *pw, const char *nonce,
                      const char *sf, imap_scram_cache *cache)
{
    imap_sasl s;
    imap_sasl_init(&s, user, pw);
    s.nonce = nonce;
    s.cache = cache;
    step(fn, &s, "");
    return step(fn, &s, sf);
}

TEST(scram_cache_skips_pbkdf2_only_for_the_same_inputs)
{
    imap_scram_cache cache;
    unsigned char id[32];
    memset(&cache, 0, sizeof cache);
    CHECK_ANS(scram_with(imap_sasl_scram_sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL", SHA1_SF, &cache), SHA1_CF);
    CHECK_EQ_INT(cache._valid, 1);
    memcpy(id, cache._id, 32);
    /* again from the cache: the same proof */
    CHECK_ANS(scram_with(imap_sasl_scram_sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL", SHA1_SF, &cache), SHA1_CF);
    /* the cache really is what is used: spoil it and the proof changes */
    cache._salted[0] ^= 1;
    CHECK(scram_with(imap_sasl_scram_sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL", SHA1_SF, &cache) > 0);
    CHECK(memcmp(ans, SHA1_CF, strlen(SHA1_CF)) != 0);
    /* another password, user or hash: computed afresh (and kept) */
    CHECK(scram_with(imap_sasl_scram_sha1, "user", "pencil2", "fyko+d2lbbFgONRv9qkxdawL", SHA1_SF, &cache) > 0);
    CHECK(memcmp(cache._id, id, 32) != 0);
    CHECK_ANS(scram_with(imap_sasl_scram_sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL", SHA1_SF, &cache), SHA1_CF);
    CHECK_ANS(scram_with(imap_sasl_scram_sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO", SHA256_SF, &cache), SHA256_CF);
    CHECK_ANS(scram_with(imap_sasl_scram_sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO", SHA256_SF, &cache), SHA256_CF);
    CHECK(memcmp(cache._id, id, 32) != 0);
    imap_scram_cache_wipe(&cache);
    CHECK_EQ_INT(cache._valid, 0);
    CHECK_EQ_INT(cache._salted[0] | cache._salted[31] | cache._id[0], 0);
}

/* The RFC 5802 nonce is base64 of these 18 bytes. */
static int fixed_random(void *arg, unsigned char *out, size_t len)
{
    int *calls = (int *)arg;
    (*calls)++;
    if (len != 18) return -1;
    return imap_base64_decode("fyko+d2lbbFgONRv9qkxdawL", 24, out, len) == 18 ? 0 : -1;
}

static int failing_random(void *arg, unsigned char *out, size_t len)
{
    (void)arg;
    (void)out;
    (void)len;
    return -1;
}

TEST(scram_nonce_sources)
{
    imap_sasl s, t;
    int calls = 0;
    size_t i;
    imap_sasl_init(&s, "user", "pencil");
    s.random = fixed_random;
    s.random_arg = &calls;
    CHECK_ANS(step(imap_sasl_scram_sha1, &s, ""), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    CHECK_EQ_INT(calls, 1);
    CHECK_ANS(step(imap_sasl_scram_sha1, &s, SHA1_SF), SHA1_CF);
    /* the system's source: 24 printable characters, new every time */
    imap_sasl_init(&s, "user", "pencil");
    imap_sasl_init(&t, "user", "pencil");
    CHECK(step(imap_sasl_scram_sha256, &s, "") == 12 + 24);
    CHECK(step(imap_sasl_scram_sha256, &t, "") == 12 + 24);
    CHECK_EQ_INT(s._nonce_len, 24);
    for (i = 0; i < 24; i++) CHECK(s._nonce[i] > 0x20 && s._nonce[i] < 0x7f && s._nonce[i] != ',');
    CHECK(memcmp(s._nonce, t._nonce, 24) != 0);
    /* a source that fails, a nonce that is not allowed */
    imap_sasl_init(&s, "user", "pencil");
    s.random = failing_random;
    CHECK_EQ_INT(step(imap_sasl_scram_sha1, &s, ""), -1);
    CHECK_EQ_INT(s.error, IMAP_E_UNSUPPORTED);
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = "has,comma";
    CHECK_EQ_INT(step(imap_sasl_scram_sha1, &s, ""), -1);
    CHECK_EQ_INT(s.error, IMAP_E_ARGS);
}

TEST(scram_names_are_escaped_and_authzid_in_gs2)
{
    imap_sasl s;
    imap_sasl_init(&s, "a,b=c", "pencil");
    s.authzid = "x=y";
    s.nonce = "abc";
    CHECK_ANS(step(imap_sasl_scram_sha1, &s, ""), "n,a=x=3Dy,n=a=2Cb=3Dc,r=abc");
    /* the client-final's c= is base64 of that gs2 header */
    CHECK(step(imap_sasl_scram_sha1, &s, "r=abcdef,s=QSXCR+Q6sek8bf92,i=1") > 0);
    CHECK(memcmp(ans, "c=bixhPXg9M0R5LA==,r=abcdef,p=", 30) == 0);
}

/* server-first messages, each with the error it must give; the client
   nonce is "fyko+d2lbbFgONRv9qkxdawL" */
#define CN "fyko+d2lbbFgONRv9qkxdawL"
static const struct { const char *sf; size_t len; int error; } bad_first[] = {
    { "", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc", 0, IMAP_E_SYNTAX },                      /* no s=, i= */
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=4096,", 0, IMAP_E_SYNTAX },  /* trailing "," */
    { "r=" CN "3rfc,,s=QSXCR+Q6sek8bf92,i=4096", 0, IMAP_E_SYNTAX },
    { "s=QSXCR+Q6sek8bf92,r=" CN "3rfc,i=4096", 0, IMAP_E_SYNTAX },  /* order */
    { "r=someoneelse3rfc,s=QSXCR+Q6sek8bf92,i=4096", 0, IMAP_E_AUTH },
    { "r=" CN ",s=QSXCR+Q6sek8bf92,i=4096", 0, IMAP_E_AUTH },   /* no server part */
    { "r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096", 0, IMAP_E_AUTH },
    { "m=must,r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=4096", 0, IMAP_E_AUTH },
    { "r=" CN "3 rfc,s=QSXCR+Q6sek8bf92,i=4096", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf9,i=4096", 0, IMAP_E_SYNTAX },   /* base64 */
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf9=,i=4096", 0, IMAP_E_SYNTAX },  /* spare bits */
    { "r=" CN "3rfc,s=,i=4096", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=0", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=04096", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=-1", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=4096x", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=1000001", 0, IMAP_E_LIMIT },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=99999999999999999999", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=4096,=x", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=4096,x=", 0, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=4096,xy=1", 0, IMAP_E_SYNTAX },
    { "r=" CN "3r\0c,s=QSXCR+Q6sek8bf92,i=4096", 57, IMAP_E_SYNTAX },
    { "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=40\0", 56, IMAP_E_SYNTAX },
    { "R=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=4096", 0, IMAP_E_SYNTAX },
};

TEST(scram_server_first_is_parsed_strictly)
{
    imap_sasl s;
    size_t i;
    for (i = 0; i < sizeof bad_first / sizeof bad_first[0]; i++) {
        imap_sasl_init(&s, "user", "pencil");
        s.nonce = CN;
        step(imap_sasl_scram_sha1, &s, "");
        if (stepn(imap_sasl_scram_sha1, &s, bad_first[i].sf, bad_first[i].len) != -1 ||
            s.error != bad_first[i].error) {
            printf("    case %u: error %s\n", (unsigned)i, imap_result_name(s.error));
            CHECK(0);
        }
        CHECK_EQ_INT(imap_sasl_scram_sha1(&s, NULL, 0, NULL, 0), IMAP_E_AUTH);
    }
    /* extensions after i= are allowed; the limit itself is allowed */
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = CN;
    step(imap_sasl_scram_sha1, &s, "");
    CHECK_EQ_INT(step(imap_sasl_scram_sha1, &s, SHA1_SF ",x=ext=ok"), 82);
    CHECK(memcmp(ans, SHA1_CF, 54) == 0);      /* the proof differs: so does AuthMessage */
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = CN;
    step(imap_sasl_scram_sha1, &s, "");
    CHECK_EQ_INT(step(imap_sasl_scram_sha1, &s, "r=" CN "3rfc,s=QSXCR+Q6sek8bf92,i=1000000"), 68);
    CHECK(memcmp(ans, "c=biws,r=" CN "3rfc,p=", 40) == 0);
}

TEST(scram_server_final_must_prove_the_password)
{
    static const char *const bad[] = {
        "v=rmF9pqV8S7suAoZWja4dJRkFsKA=",     /* one bit off */
        "v=rmF9pqV8S7suAoZWja4dJRkFsKQ",      /* not base64 */
        "v=rmF9pqV8S7suAoZWja4dJRkF",         /* too short */
        "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,",
        "e=invalid-proof",
        "x=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        "v=",
        "",
    };
    static const int err[] = { IMAP_E_AUTH, IMAP_E_SYNTAX, IMAP_E_AUTH, IMAP_E_SYNTAX,
                               IMAP_E_AUTH, IMAP_E_SYNTAX, IMAP_E_SYNTAX, IMAP_E_SYNTAX };
    imap_sasl s;
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        imap_sasl_init(&s, "user", "pencil");
        s.nonce = CN;
        step(imap_sasl_scram_sha1, &s, "");
        step(imap_sasl_scram_sha1, &s, SHA1_SF);
        CHECK_EQ_INT(stepn(imap_sasl_scram_sha1, &s, bad[i], bad[i][0] ? 0 : 1), -1);
        CHECK_EQ_INT(s.error, err[i]);
        CHECK_EQ_INT(s.verified, 0);
        CHECK_EQ_INT(imap_sasl_scram_sha1(&s, NULL, 0, NULL, 0), IMAP_E_AUTH);
    }
    /* extensions after v= are fine */
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = CN;
    step(imap_sasl_scram_sha1, &s, "");
    step(imap_sasl_scram_sha1, &s, SHA1_SF);
    CHECK_EQ_INT(step(imap_sasl_scram_sha1, &s, SHA1_SV ",x=1"), 0);
    CHECK_EQ_INT(s.verified, 1);
}

TEST(xoauth2_and_oauthbearer)
{
    imap_sasl s;
    imap_sasl_init(&s, "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg");
    CHECK_ANS(step(imap_sasl_xoauth2, &s, ""),
              "user=someuser@example.com\001auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg\001\001");
    /* an error challenge gets an empty answer, then the server says NO */
    CHECK_EQ_INT(step(imap_sasl_xoauth2, &s, "{\"status\":\"401\"}"), 0);
    CHECK_EQ_INT(s.error, IMAP_E_AUTH);
    CHECK_EQ_INT(step(imap_sasl_xoauth2, &s, "more"), -1);
    imap_sasl_init(&s, "u", "tok\001en");                  /* would forge a field */
    CHECK_EQ_INT(step(imap_sasl_xoauth2, &s, ""), -1);
    CHECK_EQ_INT(s.error, IMAP_E_ARGS);
    /* RFC 7628 §4.1 */
    imap_sasl_init(&s, "user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
    s.host = "server.example.com";
    s.port = 143;
    CHECK_ANS(step(imap_sasl_oauthbearer, &s, ""),
              "n,a=user@example.com,\001host=server.example.com\001port=143\001"
              "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001");
    CHECK_ANS(step(imap_sasl_oauthbearer, &s, "{\"status\":\"invalid_token\"}"), "\001");
    CHECK_EQ_INT(s.error, IMAP_E_AUTH);
    /* no user, host or port */
    imap_sasl_init(&s, NULL, "T");
    CHECK_ANS(step(imap_sasl_oauthbearer, &s, ""), "n,,\001auth=Bearer T\001\001");
}

TEST(external_and_lookup)
{
    imap_sasl s;
    imap_sasl_init(&s, NULL, NULL);
    CHECK_EQ_INT(step(imap_sasl_external, &s, ""), 0);
    imap_sasl_init(&s, NULL, NULL);
    s.authzid = "admin";
    CHECK_ANS(step(imap_sasl_external, &s, ""), "admin");
    CHECK(imap_sasl_mechanism("scram-sha-256") == imap_sasl_scram_sha256);
    CHECK(imap_sasl_mechanism("SCRAM-SHA-1") == imap_sasl_scram_sha1);
    CHECK(imap_sasl_mechanism("CRAM-MD5") == imap_sasl_cram_md5);
    CHECK(imap_sasl_mechanism("plain") == imap_sasl_plain);
    CHECK(imap_sasl_mechanism("XOAUTH2") == imap_sasl_xoauth2);
    CHECK(imap_sasl_mechanism("PLAIN-X") == NULL);
    CHECK(imap_sasl_mechanism("SCRAM-SHA-256-PLUS") == NULL);
    CHECK(imap_sasl_mechanism(NULL) == NULL);
}

/* ---- whole exchanges over the scripted transport -------------------- */

static unsigned char cmem[1 << 16];
static char lines[12][512];

/* "+ " base64(raw) CRLF, or base64 CRLF when plus is 0, into lines[i] */
static const char *b64line(int i, const char *prefix, const char *raw, size_t n)
{
    size_t k = strlen(prefix);
    memcpy(lines[i], prefix, k);
    k += (size_t)imap_base64_encode(raw, n ? n : strlen(raw), lines[i] + k, sizeof lines[i] - k - 2);
    memcpy(lines[i] + k, "\r\n", 3);
    return lines[i];
}

static int open_script(imap_client *c, imap_script *sc, const imap_script_step *steps, size_t n)
{
    imap_transport t;
    imap_script_init(sc, steps, n, &t);
    imap_client_init(c, cmem, sizeof cmem);
    imap_client_seed_tags(c, 0);             /* tags BAAA0, BAAA1, ... */
    imap_client_set_timeout(c, 3000);
    return imap_client_open(c, &t);
}

static void show_mismatch(const imap_script *sc)
{
    if (sc->mismatch)
        printf("    script step %u: expected \"%.*s\", got \"%.*s\"\n", (unsigned)sc->mismatch_step,
               (int)sc->mismatch_expected.len, sc->mismatch_expected.ptr ? sc->mismatch_expected.ptr : "",
               (int)sc->mismatch_got_len, (const char *)sc->mismatch_got);
}

TEST(script_plain_with_sasl_ir)
{
    imap_script_step st[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n", 0 },
    };
    imap_client c;
    imap_script sc;
    CHECK_EQ_INT(open_script(&c, &sc, st, 3), IMAP_OK);
    CHECK_EQ_INT(imap_login_sasl(&c, "PLAIN", "tim", "tanstaaftanstaaf", NULL), IMAP_OK);
    CHECK_EQ_INT(c.state, IMAP_STATE_AUTH);
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
}

TEST(script_scram_sha1_without_sasl_ir)
{
    imap_script_step st[9];
    imap_client c;
    imap_script sc;
    imap_sasl s;
    st[0].kind = IMAP_SCRIPT_REPLY;
    st[0].data = "* OK [CAPABILITY IMAP4rev1 AUTH=SCRAM-SHA-1] hi\r\n";
    st[1].kind = IMAP_SCRIPT_EXPECT;
    st[1].data = "BAAA0 AUTHENTICATE SCRAM-SHA-1\r\n";
    st[2].kind = IMAP_SCRIPT_REPLY;
    st[2].data = "+ \r\n";
    st[3].kind = IMAP_SCRIPT_EXPECT;
    st[3].data = b64line(0, "", "n,,n=user,r=" CN, 0);
    st[4].kind = IMAP_SCRIPT_REPLY;
    st[4].data = b64line(1, "+ ", SHA1_SF, 0);
    st[5].kind = IMAP_SCRIPT_EXPECT;
    st[5].data = b64line(2, "", SHA1_CF, 0);
    st[6].kind = IMAP_SCRIPT_REPLY;
    st[6].data = b64line(3, "+ ", SHA1_SV, 0);
    st[7].kind = IMAP_SCRIPT_EXPECT;
    st[7].data = "\r\n";
    st[8].kind = IMAP_SCRIPT_REPLY;
    st[8].data = "BAAA0 OK [CAPABILITY IMAP4rev1] in\r\n";
    {
        int i;
        for (i = 0; i < 9; i++) st[i].len = 0;
    }
    CHECK_EQ_INT(open_script(&c, &sc, st, 9), IMAP_OK);
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = CN;
    CHECK_EQ_INT(imap_authenticate(&c, "SCRAM-SHA-1", imap_sasl_scram_sha1, &s, NULL), IMAP_OK);
    CHECK_EQ_INT(s.verified, 1);
    CHECK_EQ_INT(c.state, IMAP_STATE_AUTH);
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
    /* imap_login_sasl takes its nonce from the client's random source */
    {
        int calls = 0;
        CHECK_EQ_INT(open_script(&c, &sc, st, 9), IMAP_OK);
        imap_client_set_random(&c, fixed_random, &calls);
        CHECK_EQ_INT(imap_login_sasl(&c, "SCRAM-SHA-1", "user", "pencil", NULL), IMAP_OK);
        CHECK_EQ_INT(calls, 1);
        CHECK_EQ_INT(c.state, IMAP_STATE_AUTH);
        CHECK(imap_script_done(&sc));
        show_mismatch(&sc);
        /* a source with nothing to give: the exchange is cancelled (no
           SASL-IR: the nonce is made at the first challenge) and the
           reason is ours, not "authentication failed" */
        st[3].data = "*\r\n";
        st[4].data = "BAAA0 BAD AUTHENTICATE cancelled\r\n";
        CHECK_EQ_INT(open_script(&c, &sc, st, 5), IMAP_OK);
        imap_client_set_random(&c, failing_random, NULL);
        CHECK_EQ_INT(imap_login_sasl(&c, "SCRAM-SHA-1", "user", "pencil", NULL), IMAP_E_UNSUPPORTED);
        CHECK_EQ_INT(c.state, IMAP_STATE_NONAUTH);
        CHECK(imap_script_done(&sc));
        show_mismatch(&sc);
    }
}

/* SCRAM-SHA-256 with SASL-IR; the server's last word is `final` (NULL:
   it says OK right after the client-final) and `end` its tagged reply. */
static void scram256(const char *final, int expect_star, const char *end,
                     int want_rc, int want_state, int want_error)
{
    imap_script_step st[8];
    imap_client c;
    imap_script sc;
    imap_sasl s;
    size_t n = 0;
    char first[600];
    memset(st, 0, sizeof st);
    st[n].kind = IMAP_SCRIPT_REPLY;
    st[n++].data = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] hi\r\n";
    sprintf(first, "BAAA0 AUTHENTICATE SCRAM-SHA-256 %s", b64line(0, "", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", 0));
    st[n].kind = IMAP_SCRIPT_EXPECT;
    st[n++].data = first;
    st[n].kind = IMAP_SCRIPT_REPLY;
    st[n++].data = b64line(1, "+ ", SHA256_SF, 0);
    st[n].kind = IMAP_SCRIPT_EXPECT;
    st[n++].data = b64line(2, "", SHA256_CF, 0);
    if (final) {
        st[n].kind = IMAP_SCRIPT_REPLY;
        st[n++].data = b64line(3, "+ ", final, 0);
        st[n].kind = IMAP_SCRIPT_EXPECT;
        st[n++].data = expect_star ? "*\r\n" : "\r\n";
    }
    st[n].kind = IMAP_SCRIPT_REPLY;
    st[n++].data = end;
    CHECK_EQ_INT(open_script(&c, &sc, st, n), IMAP_OK);
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = "rOprNGfwEbeRWgbNEkqO";
    CHECK_EQ_INT(imap_authenticate(&c, "SCRAM-SHA-256", imap_sasl_scram_sha256, &s, NULL), want_rc);
    CHECK_EQ_INT(c.state, want_state);
    CHECK_EQ_INT(c.error, want_error);
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
}

TEST(script_scram_sha256_with_sasl_ir)
{
    scram256(SHA256_SV, 0, "BAAA0 OK [CAPABILITY IMAP4rev1] in\r\n", IMAP_OK, IMAP_STATE_AUTH, 0);
}

TEST(script_scram_wrong_server_signature_fails_even_on_ok)
{
    /* a wrong v=: the client cancels; BAD, and the session goes on */
    scram256("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", 1,
             "BAAA0 BAD AUTHENTICATE cancelled\r\n", IMAP_E_AUTH, IMAP_STATE_NONAUTH, 0);
    /* the server says OK anyway: still no login, and the connection ends */
    scram256("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", 1,
             "BAAA0 OK [CAPABILITY IMAP4rev1] in\r\n", IMAP_E_AUTH, IMAP_STATE_LOGOUT, IMAP_E_PROTOCOL);
    /* no v= at all: OK right after the client's proof */
    scram256(NULL, 0, "BAAA0 OK [CAPABILITY IMAP4rev1] in\r\n",
             IMAP_E_AUTH, IMAP_STATE_LOGOUT, IMAP_E_PROTOCOL);
    /* the server's error e=: cancelled, then its NO */
    scram256("e=invalid-proof", 1, "BAAA0 NO [AUTHENTICATIONFAILED] no\r\n",
             IMAP_E_AUTH, IMAP_STATE_NONAUTH, 0);
}

TEST(script_login_and_cram_md5_never_send_an_initial_response)
{
    imap_script_step st[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=LOGIN AUTH=CRAM-MD5] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 AUTHENTICATE LOGIN\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "+ VXNlcm5hbWU6\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "dGlt\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "+ UGFzc3dvcmQ6\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "dGFuc3RhYWZ0YW5zdGFhZg==\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1] in\r\n", 0 },
    };
    imap_script_step cr[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=CRAM-MD5] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 AUTHENTICATE CRAM-MD5\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1] in\r\n", 0 },
    };
    imap_client c;
    imap_script sc;
    CHECK_EQ_INT(open_script(&c, &sc, st, 7), IMAP_OK);
    CHECK_EQ_INT(imap_login_sasl(&c, "LOGIN", "tim", "tanstaaftanstaaf", NULL), IMAP_OK);
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
    CHECK_EQ_INT(open_script(&c, &sc, cr, 5), IMAP_OK);
    CHECK_EQ_INT(imap_login_cram_md5(&c, "tim", "tanstaaftanstaaf", NULL), IMAP_OK);
    CHECK_EQ_INT(c.state, IMAP_STATE_AUTH);
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
    /* without a mechanism named, plaintext prefers CRAM-MD5 to PLAIN */
    CHECK_EQ_INT(open_script(&c, &sc, cr, 5), IMAP_OK);
    CHECK_EQ_INT(imap_login_sasl(&c, NULL, "tim", "tanstaaftanstaaf", NULL), IMAP_OK);
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
}

TEST(script_xoauth2_error_then_no)
{
    imap_script_step st[5];
    imap_client c;
    imap_script sc;
    char first[300];
    memset(st, 0, sizeof st);
    st[0].kind = IMAP_SCRIPT_REPLY;
    st[0].data = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n";
    sprintf(first, "BAAA0 AUTHENTICATE XOAUTH2 %s",
            b64line(0, "", "user=u@example.com\001auth=Bearer ya29.tok\001\001", 0));
    st[1].kind = IMAP_SCRIPT_EXPECT;
    st[1].data = first;
    st[2].kind = IMAP_SCRIPT_REPLY;
    st[2].data = "+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=\r\n";
    st[3].kind = IMAP_SCRIPT_EXPECT;
    st[3].data = "\r\n";
    st[4].kind = IMAP_SCRIPT_REPLY;
    st[4].data = "BAAA0 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n";
    CHECK_EQ_INT(open_script(&c, &sc, st, 5), IMAP_OK);
    CHECK_EQ_INT(imap_login_sasl(&c, "XOAUTH2", "u@example.com", "ya29.tok", NULL), IMAP_E_NO);
    CHECK_EQ_INT(c.state, IMAP_STATE_NONAUTH);
    CHECK_EQ_INT(c.error, 0);
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
}

static void no_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    (void)arg;
    (void)c;
    (void)result;
    (void)t;
}

TEST(login_sasl_refusals_send_nothing)
{
    imap_script_step st[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n", 0 },
    };
    imap_client c;
    imap_script sc;
    imap_call call;
    memset(&call, 0, sizeof call);
    call.on_done = no_done;
    CHECK_EQ_INT(open_script(&c, &sc, st, 1), IMAP_OK);
    CHECK_EQ_INT(imap_login_sasl(&c, "SCRAM-SHA-1", "u", "p", NULL), IMAP_E_CAPABILITY);
    CHECK_EQ_INT(imap_login_sasl(&c, "DIGEST-MD5", "u", "p", NULL), IMAP_E_UNSUPPORTED);
    CHECK_EQ_INT(imap_login_sasl(&c, "PLAIN", "u", "p", &call), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_login_sasl(&c, "PLAIN", NULL, "p", NULL), IMAP_E_ARGS);
    imap_client_require_tls(&c, 1);
    CHECK_EQ_INT(imap_login_sasl(&c, "PLAIN", "u", "p", NULL), IMAP_E_PLAINTEXT);
    CHECK_EQ_INT(sc.bytes_written, 0);
    CHECK_EQ_INT(c.state, IMAP_STATE_NONAUTH);
}

static int has(const void *mem, size_t n, const char *what)
{
    const unsigned char *m = (const unsigned char *)mem;
    size_t k = strlen(what), i;
    for (i = 0; i + k <= n; i++)
        if (memcmp(m + i, what, k) == 0) return 1;
    return 0;
}

typedef struct log_buf {
    char text[8192];
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

TEST(script_secrets_stay_out_of_the_debug_log)
{
    imap_script_step st[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 AUTH=LOGIN] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 AUTHENTICATE LOGIN\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "+ VXNlcm5hbWU6\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "dGlt\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "+ UGFzc3dvcmQ6\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "dGFuc3RhYWZ0YW5zdGFhZg==\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1] in\r\n", 0 },
    };
    imap_client c;
    imap_script sc;
    static log_buf lb;
    imap_transport t;
    imap_script_init(&sc, st, 7, &t);
    imap_client_init(&c, cmem, sizeof cmem);
    imap_client_seed_tags(&c, 0);
    imap_client_set_timeout(&c, 3000);
    imap_client_set_debug(&c, IMAP_DEBUG_PROTOCOL, log_line, &lb);
    CHECK_EQ_INT(imap_client_open(&c, &t), IMAP_OK);
    CHECK_EQ_INT(imap_login_sasl(&c, "LOGIN", "tim", "tanstaaftanstaaf", NULL), IMAP_OK);
    CHECK(strstr(lb.text, "AUTHENTICATE") != NULL);
    CHECK(strstr(lb.text, "dGFuc3RhYWZ0YW5zdGFhZg") == NULL);
    CHECK(strstr(lb.text, "tanstaaf") == NULL);
    /* and the answers are not left in the client's buffers once sent */
    CHECK(!has(&c, sizeof c, "dGFuc3RhYWZ0YW5zdGFhZg"));
    CHECK(!has(cmem, sizeof cmem, "dGFuc3RhYWZ0YW5zdGFhZg"));
}

TEST(script_sent_credentials_are_wiped_from_the_client)
{
    imap_script_step st[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA0 OK [CAPABILITY IMAP4rev1] in\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 LOGIN tim \"tanstaaftanstaaf\"\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA1 BAD already\r\n", 0 },
    };
    imap_client c;
    imap_script sc;
    CHECK_EQ_INT(open_script(&c, &sc, st, 5), IMAP_OK);
    CHECK_EQ_INT(imap_login_sasl(&c, "PLAIN", "tim", "tanstaaftanstaaf", NULL), IMAP_OK);
    CHECK(!has(cmem, sizeof cmem, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));
    CHECK_EQ_INT(imap_login(&c, "tim", "tanstaaftanstaaf", NULL), IMAP_E_BAD);
    CHECK(!has(cmem, sizeof cmem, "tanstaaf"));
    CHECK(imap_script_done(&sc));
}

int main(void)
{
    RUN(plain_rfc4616);
    RUN(login_waits_for_the_prompts);
    RUN(cram_md5_rfc2195);
    RUN(scram_sha1_rfc5802);
    RUN(scram_sha256_rfc7677);
    RUN(scram_cache_skips_pbkdf2_only_for_the_same_inputs);
    RUN(scram_nonce_sources);
    RUN(scram_names_are_escaped_and_authzid_in_gs2);
    RUN(scram_server_first_is_parsed_strictly);
    RUN(scram_server_final_must_prove_the_password);
    RUN(xoauth2_and_oauthbearer);
    RUN(external_and_lookup);
    RUN(script_plain_with_sasl_ir);
    RUN(script_scram_sha1_without_sasl_ir);
    RUN(script_scram_sha256_with_sasl_ir);
    RUN(script_scram_wrong_server_signature_fails_even_on_ok);
    RUN(script_login_and_cram_md5_never_send_an_initial_response);
    RUN(script_xoauth2_error_then_no);
    RUN(login_sasl_refusals_send_nothing);
    RUN(script_secrets_stay_out_of_the_debug_log);
    RUN(script_sent_credentials_are_wiped_from_the_client);
    return test_summary();
}
