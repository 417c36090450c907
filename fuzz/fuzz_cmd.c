/* libFuzzer / AFL++ target for the command builders and their encodings.

   Build (libFuzzer):
     clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_cmd.c -o fuzz_cmd
   Build (AFL++):
     afl-clang-fast -g -O1 -fsanitize=fuzzer -I. fuzz/fuzz_cmd.c -o fuzz_cmd_afl
   Replay files without libFuzzer:
     cc -g -DFUZZ_MAIN -I. fuzz/fuzz_cmd.c fuzz/main.c -o fuzz_cmd_replay

   Input: byte 0 picks the literal mode and UTF8=ACCEPT, byte 1 the
   builder, byte 2 the buffer size; then up to 8 arguments, each a length
   byte and that many bytes. Properties checked beyond "no crash":
   - every command a builder accepts frames as a server reads it: CRLF
     only at the end or right after a literal header it wrote, literal
     headers as the mode allows, a wait exactly after each synchronizing
     header, no NUL; a failed command has no segments;
   - quoting then parsing gives back the input (astring, string, arg,
     mailbox through modified UTF-7, and as UTF-8);
   - modified UTF-7, base64, INTERNALDATE and sequence sets round trip. */
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdlib.h>
#include <string.h>

#define MAXA 8

static char abuf[MAXA][260];
static size_t alen[MAXA];
static const char *args[MAXA];
static unsigned char cbuf[1 << 15];
static unsigned char flat[1 << 16];
static unsigned char pmem[1 << 15];

static size_t flatten(const imap_cmd *c, size_t *waits, size_t *nwaits)
{
    size_t n = 0;
    unsigned i;
    *nwaits = 0;
    for (i = 0; i < c->nseg; i++) {
        if (n + c->seg[i].len > sizeof flat) abort();
        memcpy(flat + n, c->seg[i].ptr, c->seg[i].len);
        n += c->seg[i].len;
        if (c->seg[i].wait) waits[(*nwaits)++] = n;
    }
    return n;
}

/* Walk the bytes as a server frames them (RFC 3501 §4.3, RFC 7888). */
static void check_frame(const imap_cmd *c)
{
    size_t waits[IMAP_CMD_MAX_SEGMENTS], nwaits, seen = 0, i = 0, line = 0;
    size_t n = flatten(c, waits, &nwaits);
    if (c->nseg == 0 || n < 2) abort();
    while (i < n) {
        size_t j = i, e, d;
        imap_u64 len = 0;
        int plus = 0;
        while (j < n && flat[j] != '\r' && flat[j] != '\n') {
            if (flat[j] == 0) abort();
            j++;
        }
        if (j + 1 >= n || flat[j] != '\r' || flat[j + 1] != '\n') abort();
        /* does the line [line, j) end in {n} / {n+}? */
        e = j;
        if (e > line && flat[e - 1] == '}') {
            e--;
            if (e > line && flat[e - 1] == '+') { plus = 1; e--; }
            d = e;
            while (d > line && flat[d - 1] >= '0' && flat[d - 1] <= '9') d--;
            if (d < e && d > line && flat[d - 1] == '{') {
                size_t k;
                for (k = d; k < e; k++) len = len * 10 + (imap_u64)(flat[k] - '0');
                if (c->literal_mode == IMAP_LITERAL_SYNC && plus) abort();
                if (c->literal_mode == IMAP_LITERAL_PLUS && !plus) abort();
                if (c->literal_mode == IMAP_LITERAL_MINUS && plus != (len <= 4096)) abort();
                /* a wait right after a synchronizing header, nowhere else */
                if (!plus) {
                    if (seen >= nwaits || waits[seen] != j + 2) abort();
                    seen++;
                }
                if (len > n - (j + 2)) abort();
                for (k = 0; k < len; k++)
                    if (flat[j + 2 + k] == 0) abort();
                i = line = j + 2 + (size_t)len;
                continue;
            }
        }
        if (j + 2 != n) abort();                /* a CRLF that is not the end */
        i = n;
    }
    if (seen != nwaits) abort();
}

/* "* X <arg>..." from a built "A1 X <arg>...": the parsed arguments. */
static const imap_value *echo(const imap_cmd *c)
{
    static unsigned char wire[1 << 16];
    static imap_parser p;
    size_t waits[IMAP_CMD_MAX_SEGMENTS], nw, used = 0;
    size_t n = flatten(c, waits, &nw);
    imap_response *r = NULL;
    if (n < 3 || memcmp(flat, "A1 ", 3) != 0) abort();
    wire[0] = '*';
    memcpy(wire + 1, flat + 2, n - 2);
    imap_parser_init(&p, pmem, sizeof pmem);
    if (imap_parser_feed(&p, wire, n - 1, &used, &r) != IMAP_OK || used != n - 1) abort();
    return r->args;
}

static int same(const imap_value *v, const void *s, size_t n)
{
    return v && v->type != IMAP_LIST && v->len == n && (n == 0 || memcmp(v->str, s, n) == 0);
}

static void quoting(int mode, const char *s, size_t n)
{
    imap_cmd c;
    const imap_value *v;
    char out[2048];
    long m;
    size_t cut = strlen(s);                    /* what a C string sees */
    imap_cmd_init(&c, cbuf, sizeof cbuf);
    c.literal_mode = mode;
    imap_cmd_begin(&c, "A1", "X");
    imap_cmd_astring(&c, s, n);
    imap_cmd_string(&c, s, n);
    if (imap_cmd_end(&c) == IMAP_OK) {
        check_frame(&c);
        v = echo(&c);
        if (!same(v, s, n) || !v->next || v->next->type != IMAP_STRING || !same(v->next, s, n))
            abort();
    } else if (!memchr(s, 0, n) || c.nseg) {
        abort();                               /* only NUL is refused */
    }
    /* the seed's rule: what is not a pass-through round trips too */
    imap_cmd_begin(&c, "A1", "X");
    imap_cmd_arg(&c, s);
    if (imap_cmd_end(&c) == IMAP_OK) {
        check_frame(&c);
        if (!(cut >= 2 && ((s[0] == '"' && s[cut - 1] == '"') || (s[0] == '(' && s[cut - 1] == ')') ||
                           (s[0] == '\'' && s[cut - 1] == '\''))))
            if (!same(echo(&c), s, cut)) abort();
    } else if (c.nseg) {
        abort();
    }
    /* mailbox: modified UTF-7, or UTF-8 under UTF8=ACCEPT */
    imap_cmd_begin(&c, "A1", "X");
    imap_cmd_mailbox(&c, s);
    if (imap_cmd_end(&c) == IMAP_OK) {
        check_frame(&c);
        v = echo(&c);
        if (!v) abort();
        m = imap_utf7_decode(v->str, v->len, out, sizeof out);
        if (m < 0 || (size_t)m != cut || memcmp(out, s, cut) != 0) abort();
    }
    c.utf8 = 1;
    imap_cmd_begin(&c, "A1", "X");
    imap_cmd_mailbox(&c, s);
    if (imap_cmd_end(&c) == IMAP_OK) {
        check_frame(&c);
        if (!same(echo(&c), s, cut)) abort();
    }
}

static void encodings(const char *s, size_t n)
{
    static char a[4096], b[4096];
    long m, k;
    /* modified UTF-7 both ways; strict decoding makes it canonical */
    m = imap_utf7_encode(s, n, a, sizeof a);
    if (m >= 0) {
        if (imap_utf7_encode(s, n, NULL, 0) != m) abort();
        k = imap_utf7_decode(a, (size_t)m, b, sizeof b);
        if (k < 0 || (size_t)k != n || memcmp(b, s, n) != 0) abort();
    } else if (m != IMAP_E_ARGS) {
        abort();
    }
    m = imap_utf7_decode(s, n, a, sizeof a);
    if (m >= 0) {
        k = imap_utf7_encode(a, (size_t)m, b, sizeof b);
        if (k < 0 || (size_t)k != n || memcmp(b, s, n) != 0) abort();
    }
    /* base64 */
    m = imap_base64_encode(s, n, a, sizeof a);
    if (m < 0) abort();
    k = imap_base64_decode(a, (size_t)m, b, sizeof b);
    if (k < 0 || (size_t)k != n || memcmp(b, s, n) != 0) abort();
    m = imap_base64_decode(s, n, a, sizeof a);
    if (m >= 0) {
        k = imap_base64_encode(a, (size_t)m, b, sizeof b);
        if (k < 0 || (size_t)k != n || memcmp(b, s, n) != 0) abort();
    }
}

static void dates(const char *s, size_t n)
{
    imap_tm tm, tm2;
    long long utc, utc2;
    char out[29];
    if (imap_internaldate_parse(s, n, &tm, &utc) == IMAP_OK) {
        if (imap_internaldate_format_tm(&tm, out) != IMAP_OK) abort();
        if (imap_internaldate_parse(out, 28, &tm2, &utc2) != IMAP_OK || utc2 != utc ||
            memcmp(&tm, &tm2, sizeof tm) != 0)
            abort();
        if (tm.sec < 60) {
            if (imap_internaldate_format(utc, tm.offset, out) != IMAP_OK) abort();
            if (imap_internaldate_parse(out, 28, &tm2, &utc2) != IMAP_OK || utc2 != utc ||
                memcmp(&tm, &tm2, sizeof tm) != 0)
                abort();
        }
    }
    if (n >= 10) {
        long long t = 0;
        int off;
        size_t i;
        for (i = 0; i < 8; i++) t = (long long)((unsigned long long)t << 8 | (unsigned char)s[i]);
        off = (int)(((unsigned char)s[8] << 8 | (unsigned char)s[9]) % 12001) - 6000;
        t %= 400000000000LL;
        if (imap_internaldate_format(t, off, out) == IMAP_OK) {
            if (imap_internaldate_parse(out, 28, &tm, &utc) != IMAP_OK || utc != t ||
                tm.offset != off)
                abort();
        }
    }
}

static void seqsets(const char *s, size_t n)
{
    static imap_u64 uids[512], back[512];
    static char buf[8192];
    imap_seqset set;
    imap_seqset_iter it;
    imap_u64 lo, hi, v = 0;
    size_t i, nu = 0, nb = 0;
    int r;
    /* ascending UIDs from the bytes (steps of 0..3) */
    for (i = 0; i < n && nu < 512; i++) {
        v += (unsigned char)s[i] & 3;
        if (v == 0) v = 1;
        uids[nu++] = v;
    }
    imap_seqset_init(&set, buf, sizeof buf);
    if (imap_seqset_compress(&set, uids, nu) != IMAP_OK) abort();
    imap_seqset_iter_init(&it, buf, set.len);
    while ((r = imap_seqset_next(&it, &lo, &hi)) == 1)
        for (v = lo; v <= hi && nb < 512; v++) back[nb++] = v;
    if (nu == 0 ? r != IMAP_E_SYNTAX : r != 0) abort();
    for (i = 0, v = 0; i < nu; i++)            /* back holds each UID once */
        if (i == 0 || uids[i] != uids[i - 1]) {
            if (v >= nb || back[v] != uids[i]) abort();
            v++;
        }
    if (v != nb) abort();
    /* any text: a set that parses has valid ranges */
    imap_seqset_iter_init(&it, s, n);
    while ((r = imap_seqset_next(&it, &lo, &hi)) == 1)
        if (lo > hi || lo == 0 || (lo > IMAP_SEQ_MAX && lo != IMAP_SEQ_STAR)) abort();
}

static void flags(const char *s, size_t n)
{
    imap_flags_iter it;
    imap_str f;
    if (imap_parse_flags_str(s, n, &it) == IMAP_OK)
        while (imap_flags_next(&it, &f) == 1)
            if (f.len == 0 || f.ptr < s || f.ptr + f.len > s + n) abort();
}

/* One builder, picked by op, with the arguments as they came. */
static imap_result build(imap_cmd *c, unsigned op, size_t na)
{
    const char *a0 = args[0], *a1 = args[1], *a2 = args[2], *a3 = args[3];
    imap_qresync q;
    imap_append_msg m[3];
    size_t i;
    switch (op % 44) {
    case 0: return imap_cmd_login(c, "A1", a0, a1);
    case 1: return imap_cmd_authenticate(c, "A1", a0, a1);
    case 2: return imap_cmd_select(c, "A1", a0, (int)(op & 64), (int)(op & 128), NULL);
    case 3:
        memset(&q, 0, sizeof q);
        q.uidvalidity = alen[1];
        q.modseq = alen[2] + 1;
        q.known_uids = a1;
        q.known_seqs = a2;
        q.known_seq_uids = a3;
        return imap_cmd_select(c, "A1", a0, 0, (int)(op & 64), &q);
    case 4: return imap_cmd_create(c, "A1", a0);
    case 5: return imap_cmd_rename(c, "A1", a0, a1);
    case 6: return imap_cmd_list(c, "A1", a0, a1);
    case 7: return imap_cmd_lsub(c, "A1", a0, a1);
    case 8: return imap_cmd_list_extended(c, "A1", a0, a1, args + 2, na > 2 ? na - 2 : 0, a3);
    case 9: return imap_cmd_status(c, "A1", a0, a1);
    case 10: return imap_cmd_append(c, "A1", a0, a1, a2, a3, alen[3]);
    case 11:
        for (i = 0; i < 3; i++) {
            m[i].flags = args[1 + i];
            m[i].date_time = args[4 + i];
            m[i].data = abuf[7 - i];
            m[i].len = alen[7 - i];
        }
        return imap_cmd_multiappend(c, "A1", a0, m, 1 + (op >> 6) % 3);
    case 12: return imap_cmd_copy(c, "A1", a0, a1);
    case 13: return imap_cmd_uid_move(c, "A1", a0, a1);
    case 14: return imap_cmd_fetch(c, "A1", a0, a1);
    case 15: return imap_cmd_fetch_changedsince(c, "A1", (int)(op & 64), a0, a1, alen[2], (int)(op & 128));
    case 16: return imap_cmd_partial(c, "A1", a0, a1, a2, a3);
    case 17: return imap_cmd_store(c, "A1", a0, a1, a2);
    case 18: return imap_cmd_store_unchangedsince(c, "A1", (int)(op & 64), a0, alen[3], a1, a2);
    case 19: return imap_cmd_search(c, "A1", a0, args + 1, na ? na - 1 : 0);
    case 20: return imap_cmd_search_return(c, "A1", a0, a1, args + 2, na > 2 ? na - 2 : 0);
    case 21: return imap_cmd_sort(c, "A1", a0, a1, args + 2, na > 2 ? na - 2 : 0);
    case 22: return imap_cmd_thread(c, "A1", a0, a1, args + 2, na > 2 ? na - 2 : 0);
    case 23: return imap_cmd_uid(c, "A1", a0, args + 1, na ? na - 1 : 0);
    case 24: return imap_cmd_xatom(c, "A1", a0, args + 1, na ? na - 1 : 0);
    case 25: return imap_cmd_setacl(c, "A1", a0, a1, a2);
    case 26: return imap_cmd_deleteacl(c, "A1", a0, a1);
    case 27: return imap_cmd_listrights(c, "A1", a0, a1);
    case 28: return imap_cmd_getannotation(c, "A1", a0, a1, a2);
    case 29: return imap_cmd_setannotation(c, "A1", a0, args + 1, na ? na - 1 : 0);
    case 30: return imap_cmd_getmetadata(c, "A1", a0, a1, args + 2, na > 2 ? na - 2 : 0);
    case 31: return imap_cmd_setmetadata(c, "A1", a0, args + 1, na ? na - 1 : 0);
    case 32: return imap_cmd_setquota(c, "A1", a0, a1);
    case 33: return imap_cmd_getquota(c, "A1", a0);
    case 34: return imap_cmd_id(c, "A1", args, na);
    case 35: return imap_cmd_enable(c, "A1", a0);
    case 36: return imap_cmd_compress(c, "A1", a0);
    case 37: return imap_cmd_proxyauth(c, "A1", a0);
    case 38: return imap_cmd_sasl_response(c, a0);
    case 39: return imap_cmd_simple(c, a0 ? a0 : "A1", a1 ? a1 : "NOOP");
    case 40: return imap_cmd_uid_expunge(c, "A1", a0);
    case 41: return imap_cmd_getquotaroot(c, "A1", a0);
    case 42: return imap_cmd_myrights(c, "A1", a0);
    default:
        /* the primitives directly */
        imap_cmd_begin(c, "A1", "X");
        for (i = 0; i < na; i++) {
            switch ((unsigned char)abuf[i][0] % 6) {
            case 0: imap_cmd_arg(c, args[i]); break;
            case 1: imap_cmd_raw(c, args[i]); break;
            case 2: imap_cmd_mailbox(c, args[i]); break;
            case 3: imap_cmd_literal(c, args[i], alen[i]); break;
            case 4: imap_cmd_paren_open(c); break;
            default: imap_cmd_paren_close(c); break;
            }
        }
        return imap_cmd_end(c);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    imap_cmd c;
    size_t na = 0, cap;
    unsigned op;
    int mode, utf8;
    if (size < 3) return 0;
    mode = data[0] % 3;
    utf8 = (data[0] >> 2) & 1;
    op = data[1];
    cap = data[2] == 255 ? sizeof cbuf : (size_t)data[2] * 4;
    data += 3;
    size -= 3;
    memset(args, 0, sizeof args);
    memset(alen, 0, sizeof alen);
    for (na = 0; na < MAXA; na++) abuf[na][0] = 0;
    na = 0;
    while (size > 0 && na < MAXA) {
        size_t n = data[0];
        if (n > size - 1) n = size - 1;
        memcpy(abuf[na], data + 1, n);
        abuf[na][n] = 0;
        alen[na] = n;
        /* a 0xFF first byte stands for NULL (imaplib's None) */
        args[na] = (n == 1 && data[1] == 0xFF) ? NULL : abuf[na];
        na++;
        data += 1 + n;
        size -= 1 + n;
    }
    if (na > 0 && args[0]) {
        quoting(mode, abuf[0], alen[0]);
        encodings(abuf[0], alen[0]);
        dates(abuf[0], alen[0]);
        seqsets(abuf[0], alen[0]);
        flags(abuf[0], alen[0]);
    }
    imap_cmd_init(&c, cbuf, cap);
    c.literal_mode = mode;
    c.utf8 = utf8;
    if (build(&c, op, na) == IMAP_OK) check_frame(&c);
    else if (c.nseg != 0 || c.error == 0) abort();
    return 0;
}
