/* libFuzzer / AFL++ target for SASL (section 9b): the SCRAM server-first
   and server-final parsers, every mechanism fed hostile challenges, and
   base64.

   Build (libFuzzer):
     clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_sasl.c -o fuzz_sasl -lbearssl
   Replay files without libFuzzer:
     cc -g -I. fuzz/fuzz_sasl.c fuzz/main.c -o fuzz_sasl_replay -lbearssl

   Input: byte 0 picks the target, the rest is its data.
     0  server-first: byte 1 is the client nonce's length n (at most 64),
        the next n bytes the nonce, the rest the message. Checked: an
        accepted message's r= starts with the nonce and is longer, the
        salt is 1..128 bytes, 1 <= i <= the limit, and parsing is pure
        (the same answer twice).
     1  server-final against the signature 00 01 .. 13 (20 bytes):
        accepted only when v= is exactly its base64, "v=AAECAwQFBgcICQoL
        DA0ODxAREhM=" (plus extensions).
     2  base64: what decodes re-encodes to the same text (strict is
        canonical); encode then decode gives the bytes back.
     3  a whole SCRAM exchange: byte 1 picks SHA-1 or SHA-256, the key
        cache and the output room, then challenges separated by 0xFF;
        answers never pass the room, the server's OK is refused unless
        its signature checked out, and with the cache (filled, then hit)
        every answer is the same as without. The iteration limit is 64 here, so the
        fuzzer spends its time on parsing, not PBKDF2.
     4  the other mechanisms the same way (byte 0 / 6 picks one).
     5  the engine's AUTHENTICATE loop, sans-I/O: SCRAM-SHA-1 with SASL-IR
        is under way and the data is what the server says next (fed in
        pieces cut at 0xFE); whatever it says, a login that ends OK had
        its signature verified. */
#define IMAP_WITH_BEARSSL
#define IMAP_SCRAM_MAX_ITERATIONS 64ul
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdlib.h>
#include <string.h>

static void first(const unsigned char *d, size_t n)
{
    imap__scram_first f, g;
    size_t cn;
    int rc, rc2;
    if (n < 1) return;
    cn = d[0] > 64 ? 64 : d[0];
    if (n - 1 < cn) return;
    rc = imap__scram_parse_first((const char *)d + 1 + cn, n - 1 - cn, (const char *)d + 1, cn, &f);
    rc2 = imap__scram_parse_first((const char *)d + 1 + cn, n - 1 - cn, (const char *)d + 1, cn, &g);
    if (rc != rc2) abort();
    if (rc == 0) {
        if (f.nonce.len <= cn || memcmp(f.nonce.ptr, d + 1, cn) != 0) abort();
        if (f.salt_len < 1 || f.salt_len > IMAP__SCRAM_SALT_MAX) abort();
        if (f.iter < 1 || f.iter > IMAP_SCRAM_MAX_ITERATIONS) abort();
        if (f.iter != g.iter || f.salt_len != g.salt_len) abort();
    } else if (rc != IMAP_E_SYNTAX && rc != IMAP_E_AUTH && rc != IMAP_E_LIMIT) {
        abort();
    }
}

static void final(const unsigned char *d, size_t n)
{
    static const char good[] = "v=AAECAwQFBgcICQoLDA0ODxAREhM=";
    unsigned char sig[20];
    size_t i;
    int rc;
    for (i = 0; i < sizeof sig; i++) sig[i] = (unsigned char)i;
    rc = imap__scram_parse_final((const char *)d, n, sig, sizeof sig);
    if (rc == 1) {
        if (n < sizeof good - 1 || memcmp(d, good, sizeof good - 1) != 0) abort();
        if (n > sizeof good - 1 && d[sizeof good - 1] != ',') abort();
    } else if (rc != 0 && rc != IMAP_E_SYNTAX && rc != IMAP_E_AUTH) {
        abort();
    }
}

static void base64(const unsigned char *d, size_t n)
{
    static unsigned char bin[8192];
    static char txt[12000];
    long k, e;
    if (n > 8192) n = 8192;
    k = imap_base64_decode((const char *)d, n, bin, sizeof bin);
    if (k >= 0) {
        e = imap_base64_encode(bin, (size_t)k, txt, sizeof txt);
        if (e != (long)n || memcmp(txt, d, n) != 0) abort();
    } else if (k != IMAP_E_SYNTAX) {
        abort();
    }
    e = imap_base64_encode(d, n, txt, sizeof txt);
    if (e < 0 || (size_t)e != (n + 2) / 3 * 4) abort();
    k = imap_base64_decode(txt, (size_t)e, bin, sizeof bin);
    if (k != (long)n || memcmp(bin, d, n) != 0) abort();
    /* measuring and a buffer one byte short agree with the real length */
    if (imap_base64_encode(d, n, NULL, 0) != e) abort();
    if (e > 0 && imap_base64_encode(d, n, txt, (size_t)e) != IMAP_E_NOMEM) abort();
}

/* Feed challenges split at 0xFF to fn; answers must fit the room. */
/* Returns a digest of every answer, so runs can be compared. */
static unsigned long exchange(imap_auth_fn fn, imap_sasl *s, const unsigned char *d, size_t n,
                              size_t room, int is_scram)
{
    static unsigned char out[IMAP_SASL_BYTES + 16];
    size_t start = 0, i;
    int rounds = 0;
    unsigned long h = 5381;
    for (i = 0; i <= n && rounds < 8; i++) {
        if (i < n && d[i] != 0xff) continue;
        {
            int k;
            memset(out + room, 0x5a, 16);
            k = fn(s, d + start, i - start, out, room);
            if (k > (int)room) abort();
            if (memcmp(out + room, "\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a", 8) != 0) abort();
            if (k < 0 && k != -1 && k != IMAP_AUTH_NO_IR) abort();
            if (k == -1 && s->error == 0) abort();        /* a reason is kept */
            h = h * 33 + (unsigned long)(k + 3);
            for (k = k > 0 ? k : 0; k > 0; k--) h = h * 33 + out[k - 1];
        }
        start = i + 1;
        rounds++;
    }
    /* the server says OK: SCRAM agrees only when it verified */
    if (is_scram && (fn(s, NULL, 0, NULL, 0) == 0) != (s->verified == 1)) abort();
    imap_sasl_wipe(s);
    return h * 33 + (unsigned long)s->verified;
}

/* done[0]: 1 OK, 2 failed; done[1]: the state right then (later bytes
   may still end the session) */
static void on_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    int *done = (int *)arg;
    (void)t;
    done[0] = result == IMAP_OK ? 1 : 2;
    done[1] = c->state;
}

static void drain(imap_client *c)
{
    const unsigned char *p;
    size_t n;
    int spins = 0;
    while (imap_client_output(c, &p, &n) && n && spins++ < 64) imap_client_output_ack(c, n);
}

static void engine(const unsigned char *d, size_t n)
{
    static unsigned char mem[1 << 15];
    static imap_client c;
    static const char greet[] = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-1] hi\r\n";
    imap_sasl s;
    imap_call call;
    size_t start = 0, i, used;
    int done[2] = { 0, 0 };
    imap_client_init(&c, mem, sizeof mem);
    imap_client_seed_tags(&c, 0);
    imap_client_start(&c);
    imap_client_feed(&c, greet, sizeof greet - 1, &used);
    imap_sasl_init(&s, "user", "pencil");
    s.nonce = "fyko+d2lbbFgONRv9qkxdawL";
    memset(&call, 0, sizeof call);
    call.on_done = on_done;
    call.arg = done;
    if (imap_authenticate(&c, "SCRAM-SHA-1", imap_sasl_scram_sha1, &s, &call) != IMAP_OK) abort();
    drain(&c);
    for (i = 0; i <= n; i++) {
        if (i < n && d[i] != 0xfe) continue;
        imap_client_feed(&c, d + start, i - start, &used);
        drain(&c);
        start = i + 1;
    }
    if (done[0] == 1 && (!s.verified || done[1] != IMAP_STATE_AUTH)) abort();
    if (done[0] == 2 && done[1] == IMAP_STATE_AUTH) abort();
    imap_sasl_wipe(&s);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    imap_sasl s;
    size_t room;
    if (size < 1) return 0;
    switch (data[0] % 6) {
    case 0: first(data + 1, size - 1); break;
    case 1: final(data + 1, size - 1); break;
    case 2: base64(data + 1, size - 1); break;
    case 3:
    case 4:
        if (size < 2) return 0;
        room = (size_t)(data[1] >> 2) * 16 + 1;     /* 1 .. 1009 */
        if (room > IMAP_SASL_BYTES) room = IMAP_SASL_BYTES;
        imap_sasl_init(&s, "us,er=", "pencil");
        s.nonce = "fyko+d2lbbFgONRv9qkxdawL";
        if (data[0] % 6 == 3) {
            /* with the key cache (shared by all inputs: it is filled, then
               hit), the answers are the very same */
            static imap_scram_cache cache;
            imap_auth_fn fn = (data[1] & 1) ? imap_sasl_scram_sha256 : imap_sasl_scram_sha1;
            unsigned long h = exchange(fn, &s, data + 2, size - 2, room, 1);
            if (data[1] & 2) {
                int twice;
                for (twice = 0; twice < 2; twice++) {
                    imap_sasl_init(&s, "us,er=", "pencil");
                    s.nonce = "fyko+d2lbbFgONRv9qkxdawL";
                    s.cache = &cache;
                    if (exchange(fn, &s, data + 2, size - 2, room, 1) != h) abort();
                }
            }
        } else {
            static const imap_auth_fn fns[] = {
                imap_sasl_plain, imap_sasl_login, imap_sasl_xoauth2,
                imap_sasl_oauthbearer, imap_sasl_external, imap_sasl_cram_md5
            };
            s.authzid = (data[1] & 2) ? "admin" : NULL;
            s.host = "imap.example.org";
            s.port = 993;
            exchange(fns[data[0] / 6 % 6], &s, data + 2, size - 2, room, 0);
        }
        break;
    case 5: engine(data + 1, size - 1); break;
    }
    return 0;
}
