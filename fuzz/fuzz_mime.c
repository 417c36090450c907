/* libFuzzer / AFL++ target for MIME decoding (imap.h section 6b).

   Build (libFuzzer):
     clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_mime.c -o fuzz_mime
   Replay files without libFuzzer:
     cc -g -fsanitize=address,undefined -I. fuzz/fuzz_mime.c fuzz/main.c -o fuzz_mime_replay

   Byte 0 picks the decoder (low 3 bits) and byte 1 a size / chunking
   seed; the rest is the input. Every output buffer is allocated to the
   exact size asked for, so a write past it is caught by ASan. Properties
   beyond "no crash":
   0 header words: the measured length equals the decoded one; a short
     buffer gives IMAP_E_NOMEM with the size that then fits; the output is
     valid UTF-8 (a converter for "x-fuzz" joins in).
   1 transfer decoding: chunks split anywhere give what the whole gives;
     never more bytes out than in.
   2 base64 round trip: imap_base64_encode, wrapped at any width with CRLF
     or LF and junk between, decodes back to the input, in any chunks.
   3 quoted-printable round trip (an encoder here: imap.h has none).
   4 charsets: each built-in gives valid UTF-8 of the measured length.
   5 parameters and file names over a hostile BODYSTRUCTURE; 6 summaries
     over a hostile ENVELOPE: the results as in 0.
   7 the decode sink under the parser, at a random sink threshold and
     chunking: equal to decoding the literal whole. */
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed;
static unsigned rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7FFF;
}

static long fuzz_convert(void *arg, imap_str cs, const void *in, size_t n, char *out, size_t cap)
{
    size_t i;
    (void)arg;
    if (!imap__ieq(cs.ptr, cs.len, "x-fuzz")) return -1;
    if (!in) return 0;
    /* two bytes of UTF-8 per input byte: tests the sizing */
    for (i = 0; out && i < n && 2 * i + 1 < cap; i++) {
        out[2 * i] = (char)0xC2;
        out[2 * i + 1] = (char)0xB7;
    }
    return (long)(2 * n);
}

static const imap_charset_conv conv = {fuzz_convert, NULL};

typedef struct acc {
    unsigned char *b;
    size_t n, cap;
} acc;

static int acc_fn(void *arg, const void *data, size_t len)
{
    acc *a = (acc *)arg;
    if (len > a->cap - a->n) abort();       /* more out than the bound */
    memcpy(a->b + a->n, data, len);
    a->n += len;
    return 0;
}

/* A text decoder's contract: measure, exact fit, short buffer. */
typedef long (*text_fn)(const void *ctx, char *out, size_t cap, size_t *needed);

static void check_text(text_fn f, const void *ctx, size_t small)
{
    size_t need = 0, need2 = 0;
    long n = f(ctx, NULL, 0, &need);
    char *out;
    if (n < 0) {
        if (n != IMAP_E_LIMIT && n != IMAP_E_UNSUPPORTED) abort();
        return;
    }
    if (need != (size_t)n + 1) abort();
    out = (char *)malloc(need);
    if (f(ctx, out, need, &need2) != n || need2 != need || out[n] != 0) abort();
    if (!imap__utf8_valid((const unsigned char *)out, (size_t)n)) abort();
    free(out);
    if (small < need) {
        out = (char *)malloc(small ? small : 1);
        if (f(ctx, small ? out : NULL, small, &need2) != (small ? IMAP_E_NOMEM : n) || need2 != need)
            abort();
        free(out);
    }
}

typedef struct text_in {
    const char *s;
    size_t n;
    const imap_value *v;
    const imap_response *r;
    int which;
} text_in;

static long hdr_fn(const void *ctx, char *out, size_t cap, size_t *needed)
{
    const text_in *t = (const text_in *)ctx;
    return imap_header_decode(t->s, t->n, out, cap, needed, &conv);
}

static long cs_fn(const void *ctx, char *out, size_t cap, size_t *needed)
{
    static const char *const names[] = {"utf-8", "us-ascii", "iso-8859-1", "iso-8859-15",
                                        "windows-1252", "x-fuzz", "x-none"};
    const text_in *t = (const text_in *)ctx;
    imap_str cs;
    cs.ptr = names[t->which % 7];
    cs.len = strlen(cs.ptr);
    return imap_charset_to_utf8(cs, t->s, t->n, out, cap, needed, &conv);
}

static long fname_fn(const void *ctx, char *out, size_t cap, size_t *needed)
{
    const text_in *t = (const text_in *)ctx;
    imap_body b;
    if (imap_body_decode(t->v, &b) != 0) return IMAP_E_UNSUPPORTED;
    if (t->which & 1) return imap_param_decode(b.params, "name", out, cap, needed, &conv, NULL);
    return imap_body_filename(&b, out, cap, needed, &conv);
}

static long summary_fn(const void *ctx, char *out, size_t cap, size_t *needed)
{
    const text_in *t = (const text_in *)ctx;
    imap_summary s;
    int rc = imap_summary_decode(t->r, out, cap, &conv, &s);
    size_t k;
    if (rc == IMAP_E_SYNTAX) return IMAP_E_UNSUPPORTED;
    /* s.needed counts the last NUL: a text of s.needed - 1 bytes */
    *needed = s.needed;
    if (rc == IMAP_E_NOMEM) return out ? IMAP_E_NOMEM : (long)s.needed - 1;   /* measured */
    if (rc != 0 || !out) return (long)s.needed - 1;
    /* three NUL-terminated strings; joined with spaces they are UTF-8 */
    for (k = 0; k + 1 < s.needed; k++)
        if (out[k] == 0) out[k] = ' ';
    return (long)s.needed - 1;
}

static const char *const encs[] = {"base64", "quoted-printable", "7bit", "BINARY", "x-uu"};

/* Decode with imap_cte_feed in random chunks. */
static void cte_chunked(imap_str e, const unsigned char *in, size_t n, acc *a)
{
    imap_cte d;
    size_t off = 0;
    imap_cte_init(&d, e);
    while (off < n) {
        size_t k = 1 + rnd() % (n - off < 64 ? n - off : 64);
        if (imap_cte_feed(&d, in + off, k, acc_fn, a) != 0) abort();
        off += k;
    }
    if (imap_cte_finish(&d, acc_fn, a) != 0) abort();
}

static void qp_encode(const unsigned char *s, size_t n, acc *a, unsigned width)
{
    static const char hx[] = "0123456789abcdefABCDEF";
    size_t i, col = 0;
    for (i = 0; i < n; i++) {
        char t[3];
        size_t k = 0;
        unsigned ch = s[i];
        if (ch >= 33 && ch <= 126 && ch != '=') t[k++] = (char)ch;
        else {
            t[k++] = '=';
            /* either case: the decoder tolerates lowercase */
            t[k++] = hx[(ch >> 4) + ((rnd() & 1) && (ch >> 4) > 9 ? 6 : 0)];
            t[k++] = hx[(ch & 15) + ((rnd() & 1) && (ch & 15) > 9 ? 6 : 0)];
        }
        if (col + k > width) {
            if (rnd() & 1) acc_fn(a, "=\r\n", 3);
            else acc_fn(a, "=\n", 2);
            col = 0;
        }
        acc_fn(a, t, k);
        col += k;
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static unsigned char pmem[1 << 16];
    unsigned mode, p1;
    const unsigned char *in;
    size_t n;
    text_in t;
    if (size < 2) return 0;
    mode = data[0] & 7;
    p1 = data[1];
    seed = (unsigned)data[0] << 8 | p1;
    in = data + 2;
    n = size - 2;
    memset(&t, 0, sizeof t);
    t.s = (const char *)in;
    t.n = n;
    t.which = (int)(data[0] >> 3);
    switch (mode) {
    case 0:
        check_text(hdr_fn, &t, p1);
        break;
    case 1: {
        imap_str e;
        acc a, b;
        size_t need;
        long k;
        e.ptr = encs[(data[0] >> 3) % 5];
        e.len = strlen(e.ptr);
        a.cap = b.cap = n + 4;
        a.b = (unsigned char *)malloc(a.cap);
        b.b = (unsigned char *)malloc(b.cap);
        a.n = b.n = 0;
        k = imap_cte_decode(e, in, n, NULL, 0, &need);
        if (k >= 0) {
            if ((size_t)k > n) abort();
            if (imap_cte_decode(e, in, n, a.b, (size_t)k, &need) != k) abort();
            a.n = (size_t)k;
            if (k > 0 && imap_cte_decode(e, in, n, b.b, (size_t)k - 1, &need) != IMAP_E_NOMEM)
                abort();
            cte_chunked(e, in, n, &b);
            if (a.n != b.n || memcmp(a.b, b.b, a.n) != 0) abort();
        } else if (k != IMAP_E_UNSUPPORTED) {
            abort();
        }
        free(a.b);
        free(b.b);
        break;
    }
    case 2: case 3: {
        imap_str e;
        acc enc, out;
        size_t i;
        unsigned width = 1 + p1 % 100;
        enc.cap = 8 * n + 64;
        enc.b = (unsigned char *)malloc(enc.cap);
        enc.n = 0;
        if (mode == 2) {
            long k = imap_base64_encode(in, n, NULL, 0);
            char *b64 = (char *)malloc((size_t)k + 1);
            imap_base64_encode(in, n, b64, (size_t)k + 1);
            for (i = 0; i < (size_t)k; i++) {
                if (i && i % width == 0) {
                    static const char *const junk[] = {"\r\n", "\n", " ", "\t!", "-\r\n"};
                    const char *j = junk[rnd() % 5];
                    acc_fn(&enc, j, strlen(j));
                }
                acc_fn(&enc, b64 + i, 1);
            }
            free(b64);
            e.ptr = "base64";
        } else {
            qp_encode(in, n, &enc, width < 4 ? 4 : width);
            e.ptr = "quoted-printable";
        }
        e.len = strlen(e.ptr);
        out.cap = n + 4;
        out.b = (unsigned char *)malloc(out.cap);
        out.n = 0;
        cte_chunked(e, enc.b, enc.n, &out);
        if (out.n != n || (n && memcmp(out.b, in, n) != 0)) abort();
        free(enc.b);
        free(out.b);
        break;
    }
    case 4:
        check_text(cs_fn, &t, p1);
        break;
    case 5: case 6: {
        imap_parser P;
        imap_response *r = NULL;
        size_t used = 0, len;
        char *text = (char *)malloc(n + 64);
        const char *pre = mode == 5 ? "* 1 FETCH (BODYSTRUCTURE (" : "* 1 FETCH (UID 7 ENVELOPE (";
        len = strlen(pre);
        memcpy(text, pre, len);
        memcpy(text + len, in, n);
        memcpy(text + len + n, "))\r\n", 4);
        len += n + 4;
        imap_parser_init(&P, pmem, sizeof pmem);
        if (imap_parser_feed(&P, text, len, &used, &r) == IMAP_OK && r) {
            t.r = r;
            t.v = imap_fetch_get(r, "BODYSTRUCTURE");
            if (mode == 6) {
                check_text(summary_fn, &t, p1);
            } else if (t.v) {
                imap_body b;
                const imap_value *ch;
                unsigned k = 0;
                check_text(fname_fn, &t, p1);
                /* the children of a multipart too (one level, bounded) */
                if (imap_body_decode(t.v, &b) == 0 && b.multipart)
                    for (ch = b.parts; ch && k < 16; ch = ch->next, k++) {
                        t.v = ch;
                        check_text(fname_fn, &t, p1);
                    }
            }
        }
        free(text);
        break;
    }
    default: {
        /* the literal through the parser's sink, in chunks */
        imap_parser P;
        imap_decode_sink ds;
        imap_response *r;
        imap_str e;
        acc a, whole;
        char head[64];
        size_t hl, off = 0, used, need;
        unsigned char *text;
        long k;
        e.ptr = encs[(data[0] >> 3) % 5];
        e.len = strlen(e.ptr);
        hl = (size_t)sprintf(head, "* 2 FETCH (BODY[1] {%lu}\r\n", (unsigned long)n);
        text = (unsigned char *)malloc(hl + n + 3);
        memcpy(text, head, hl);
        memcpy(text + hl, in, n);
        memcpy(text + hl + n, ")\r\n", 3);
        a.cap = whole.cap = n + 4;
        a.b = (unsigned char *)malloc(a.cap);
        whole.b = (unsigned char *)malloc(whole.cap);
        a.n = whole.n = 0;
        k = imap_cte_decode(e, in, n, whole.b, whole.cap, &need);
        if (k >= 0) whole.n = (size_t)k;
        else { k = imap_cte_decode(e, NULL, 0, NULL, 0, &need); whole.n = 0; }
        imap_parser_init(&P, pmem, sizeof pmem);
        imap_decode_sink_init(&ds, e, acc_fn, &a);
        imap_parser_set_sink(&P, p1 % 2 ? 0 : p1, imap_decode_sink_fn, &ds);
        while (off < hl + n + 3) {
            size_t c = 1 + rnd() % 300;
            if (c > hl + n + 3 - off) c = hl + n + 3 - off;
            while (c) {
                imap_parser_feed(&P, text + off, c, &used, &r);
                off += used;
                c -= used;
                if (!used) break;
            }
            if (c) break;
        }
        /* sunk (literal above the threshold) or kept in the tree */
        if (n > (size_t)(p1 % 2 ? 0 : p1) && imap_cte_decode(e, NULL, 0, NULL, 0, &need) >= 0 &&
            (a.n != whole.n || memcmp(a.b, whole.b, a.n) != 0))
            abort();
        free(text);
        free(a.b);
        free(whole.b);
        break;
    }
    }
    return 0;
}
