/* build: -lz */
/* Unit tests of COMPRESS=DEFLATE (section 8e): the deflate transport over
   a loopback and over the scripted transport, with server bytes made by
   zlib here, and imap_enable_compression's refusals and memory choices.
   Needs zlib: run.sh links -lz. */
#define IMAP_WITH_ZLIB
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <stdlib.h>

static unsigned char zmem[IMAP_DEFLATE_MEM_DEFAULT];
static unsigned char cmem[1 << 16];

/* ---- zlib on the test's side: the server's deflater and a mirror of the
   client's, both raw (-15) and flushed per message like RFC 4978 asks */

typedef struct zside {
    z_stream s;
    unsigned char buf[1 << 16];
    size_t len;
} zside;

static void zside_init(zside *z, int level, int wbits, int mlevel)
{
    memset(z, 0, sizeof *z);
    deflateInit2(&z->s, level, Z_DEFLATED, -wbits, mlevel, Z_DEFAULT_STRATEGY);
}

/* Deflate s with a sync flush; the bytes are appended to z->buf and a
   pointer to them returned (length in *n). */
static const char *zpack(zside *z, const char *s, size_t n0, size_t *n)
{
    unsigned char *start = z->buf + z->len;
    z->s.next_in = (Bytef *)(size_t)s;
    z->s.avail_in = (uInt)(n0 ? n0 : strlen(s));
    z->s.next_out = start;
    z->s.avail_out = (uInt)(sizeof z->buf - z->len);
    deflate(&z->s, Z_SYNC_FLUSH);
    *n = (size_t)((z->s.next_out) - start);
    z->len += *n;
    return (const char *)start;
}

/* ---- the transport alone, over a loopback ------------------------------ */

typedef struct loop {
    unsigned char *in;          /* what reads return */
    size_t in_len, in_off, max_read;
    unsigned char *out;         /* what writes took */
    size_t out_len, out_cap, max_write;
    int calls, closed;
} loop;

static int loop_read(void *ctx, unsigned char *buf, size_t len)
{
    loop *l = (loop *)ctx;
    size_t k = l->in_len - l->in_off;
    if (l->in_off == l->in_len) return -1;
    if (k > len) k = len;
    if (l->max_read && k > l->max_read) k = l->max_read;
    memcpy(buf, l->in + l->in_off, k);
    l->in_off += k;
    return (int)k;
}

static int loop_write(void *ctx, const unsigned char *buf, size_t len)
{
    loop *l = (loop *)ctx;
    if (++l->calls % 3 == 0) return 0;          /* now and then: would block */
    if (l->max_write && len > l->max_write) len = l->max_write;
    if (len > l->out_cap - l->out_len) return -1;
    memcpy(l->out + l->out_len, buf, len);
    l->out_len += len;
    return (int)len;
}

static int loop_close(void *ctx)
{
    ((loop *)ctx)->closed++;
    return 0;
}

static void text(unsigned char *m, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        m[i] = (unsigned char)((i % 61 == 60) ? '\n' : 'a' + (seed >> 16) % 7);
    }
}

TEST(transport_round_trip_over_a_loopback)
{
    size_t n = 300000, i, got;
    unsigned char *plain = (unsigned char *)malloc(n), *back = (unsigned char *)malloc(n);
    unsigned char *wire = (unsigned char *)malloc(2 * n);
    loop l;
    imap_transport lower, t;
    imap_deflate z;
    z_stream inf;
    zside srv;
    int k, spins = 0;
    text(plain, n, 7);
    memset(&l, 0, sizeof l);
    l.out = wire;
    l.out_cap = 2 * n;
    l.max_write = 777;
    lower.read = loop_read;
    lower.write = loop_write;
    lower.close = loop_close;
    lower.wait = NULL;
    lower.ctx = &l;
    CHECK_EQ_INT(imap_deflate_init(&z, &lower, zmem, sizeof zmem, &t), IMAP_OK);
    CHECK_EQ_INT(z.window_bits, 15);
    CHECK_EQ_INT(z.mem_level, 8);
    /* write it all through, in odd sizes; 0 means "not now" */
    for (i = 0; i < n && spins < 100000; ) {
        size_t want = n - i < 5000 ? n - i : 5000 - i % 13;
        k = t.write(t.ctx, plain + i, want);
        CHECK(k >= 0);
        if (k < 0) break;
        if (k == 0) spins++;
        i += (size_t)k;
    }
    while (z._ooff < z._olen && spins++ < 100000) t.wait(t.ctx, 0, 0);  /* flush the tail */
    CHECK_EQ_INT(i, n);
    CHECK(z.out_plain == n);
    CHECK(z.out_compressed == l.out_len);
    CHECK(l.out_len < n / 2);                   /* it did compress */
    /* the server side inflates it back */
    memset(&inf, 0, sizeof inf);
    inflateInit2(&inf, -15);
    inf.next_in = wire;
    inf.avail_in = (uInt)l.out_len;
    inf.next_out = back;
    inf.avail_out = (uInt)n;
    CHECK_EQ_INT(inflate(&inf, Z_SYNC_FLUSH), Z_OK);
    CHECK_EQ_INT(inf.total_out, n);
    CHECK(memcmp(plain, back, n) == 0);
    inflateEnd(&inf);
    /* reading: the server's compressed bytes, taken 5 at a time from
       below and 7 at a time from above */
    zside_init(&srv, 6, 15, 8);
    memcpy(srv.buf, "", 0);
    {
        size_t zn, off = 0;
        unsigned char *zs = (unsigned char *)malloc(n);
        srv.s.next_in = plain;
        srv.s.avail_in = (uInt)n;
        srv.s.next_out = zs;
        srv.s.avail_out = (uInt)n;
        deflate(&srv.s, Z_SYNC_FLUSH);
        zn = n - srv.s.avail_out;
        l.in = zs;
        l.in_len = zn;
        l.max_read = 5;
        got = 0;
        spins = 0;
        while (got < n && spins < 1000000) {
            k = t.read(t.ctx, back + got, n - got < 7 ? n - got : 7);
            if (k < 0) break;
            if (k == 0) spins++;
            got += (size_t)k;
        }
        (void)off;
        CHECK_EQ_INT(got, n);
        CHECK(memcmp(plain, back, n) == 0);
        CHECK(z.in_plain == n);
        /* the flush marker's bytes give nothing; then the end of the
           stream below is an error above */
        while ((k = t.read(t.ctx, back, 10)) == 0 && spins++ < 1000000) {}
        CHECK_EQ_INT(k, -1);
        CHECK(z.in_compressed == zn);
        free(zs);
    }
    deflateEnd(&srv.s);
    CHECK_EQ_INT(t.close(t.ctx), 0);
    CHECK_EQ_INT(l.closed, 1);
    free(plain);
    free(back);
    free(wire);
}

TEST(transport_rejects_bad_compressed_data)
{
    static unsigned char junk[] = { 0xff, 0xff, 0xff, 0xff, 0x00 };
    loop l;
    imap_transport lower, t;
    imap_deflate z;
    unsigned char buf[64];
    memset(&l, 0, sizeof l);
    l.in = junk;
    l.in_len = sizeof junk;
    lower.read = loop_read;
    lower.write = loop_write;
    lower.close = NULL;
    lower.wait = NULL;
    lower.ctx = &l;
    CHECK_EQ_INT(imap_deflate_init(&z, &lower, zmem, sizeof zmem, &t), IMAP_OK);
    CHECK_EQ_INT(t.read(t.ctx, buf, sizeof buf), -1);
    CHECK_EQ_INT(z.error, IMAP_E_PROTOCOL);
    CHECK_EQ_INT(t.read(t.ctx, buf, sizeof buf), -1);     /* and it stays so */
    CHECK_EQ_INT(t.write(t.ctx, buf, 4), -1);
    CHECK_EQ_INT(t.close(t.ctx), 0);
    /* a stream that ends (a final block) ends the session too */
    {
        zside srv;
        size_t n;
        unsigned char end[64];
        zside_init(&srv, 6, 15, 8);
        srv.s.next_in = (Bytef *)"hi";
        srv.s.avail_in = 2;
        srv.s.next_out = end;
        srv.s.avail_out = sizeof end;
        deflate(&srv.s, Z_FINISH);
        n = sizeof end - srv.s.avail_out;
        deflateEnd(&srv.s);
        memset(&l, 0, sizeof l);
        l.in = end;
        l.in_len = n;
        CHECK_EQ_INT(imap_deflate_init(&z, &lower, zmem, sizeof zmem, &t), IMAP_OK);
        CHECK_EQ_INT(t.read(t.ctx, buf, sizeof buf), 2);
        CHECK_EQ_INT(t.read(t.ctx, buf, sizeof buf), -1);
        imap_deflate_close(&z);
    }
}

TEST(memory_picks_the_largest_settings_that_fit)
{
    static const struct { size_t cap; int w, m; } cases[] = {
        { IMAP_DEFLATE_MEM_DEFAULT, 15, 8 },
        { IMAP_DEFLATE_MEM(15, 7), 15, 7 },
        { IMAP_DEFLATE_MEM(13, 6), 13, 6 },
        { IMAP_DEFLATE_MEM(11, 4), 11, 4 },
        { IMAP_DEFLATE_MEM_MIN, 9, 1 },
    };
    loop l;
    imap_transport lower, t;
    imap_deflate z;
    size_t i;
    memset(&l, 0, sizeof l);
    memset(&lower, 0, sizeof lower);
    lower.read = loop_read;
    lower.write = loop_write;
    lower.ctx = &l;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ_INT(imap_deflate_init(&z, &lower, zmem, cases[i].cap, &t), IMAP_OK);
        /* these settings or larger ones that fit the same memory */
        CHECK(z.window_bits * 16 + z.mem_level >= cases[i].w * 16 + cases[i].m);
        CHECK(z.mem_used <= cases[i].cap);
        /* the formula is not wasteful: within 16 KiB of what zlib took */
        CHECK(z.mem_used + 16384 >= cases[i].cap);
        imap_deflate_close(&z);
    }
    CHECK_EQ_INT(imap_deflate_init(&z, &lower, zmem, IMAP_DEFLATE_MEM_MIN - 20000, &t), IMAP_E_NOMEM);
    CHECK_EQ_INT(imap_deflate_init(&z, &lower, NULL, 100, &t), IMAP_E_ARGS);
}

/* ---- COMPRESS through the client, over the scripted transport ----------- */

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
        printf("    script step %u: mismatch at byte %u\n", (unsigned)sc->mismatch_step,
               (unsigned)sc->mismatch_offset);
}

typedef struct seen {
    int exists[4];
    int n;
} seen;

static void on_exists(void *arg, imap_client *c, const imap_response *r)
{
    seen *s = (seen *)arg;
    (void)c;
    if (imap_response_is(r, "EXISTS") && s->n < 4) s->exists[s->n++] = (int)r->number;
}

/* The server's OK and its first compressed bytes come in one read (the
   rest the engine hands over); the client's commands are checked byte for
   byte against a mirror of its deflater. (Reads of a few bytes would stop
   the client between the script's steps, which the script takes for
   writing early: the loopback test below does those.) */
static void compress_session(size_t max_write, int would_block)
{
    static char ok[256];
    zside srv, mirror;
    imap_script_step st[10];
    imap_client c;
    imap_script sc;
    imap_deflate z;
    imap_call call;
    seen s;
    size_t n1, n2, n3, n4, n5;
    const char *z1, *z2, *z3, *z4, *z5;
    zside_init(&srv, 6, 15, 8);
    zside_init(&mirror, IMAP_DEFLATE_LEVEL, 15, 8);
    z1 = zpack(&srv, "* 1 EXISTS\r\n", 0, &n1);
    memcpy(ok, "BAAA0 OK DEFLATE active\r\n", 25);
    memcpy(ok + 25, z1, n1);
    z2 = zpack(&mirror, "BAAA1 NOOP\r\n", 0, &n2);
    z3 = zpack(&srv, "* 2 EXISTS\r\nBAAA1 OK done\r\n", 0, &n3);

    z4 = zpack(&mirror, "BAAA2 LOGOUT\r\n", 0, &n4);
    z5 = zpack(&srv, "* BYE bye\r\nBAAA2 OK out\r\n", 0, &n5);
    memset(st, 0, sizeof st);
    st[0].kind = IMAP_SCRIPT_REPLY;
    st[0].data = "* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n";
    st[1].kind = IMAP_SCRIPT_EXPECT;
    st[1].data = "BAAA0 COMPRESS DEFLATE\r\n";
    st[2].kind = IMAP_SCRIPT_REPLY;
    st[2].data = ok;
    st[2].len = 25 + n1;
    st[3].kind = IMAP_SCRIPT_EXPECT;
    st[3].data = z2;
    st[3].len = n2;
    st[4].kind = IMAP_SCRIPT_REPLY;
    st[4].data = z3;
    st[4].len = n3;
    st[5].kind = IMAP_SCRIPT_EXPECT;
    st[5].data = z4;
    st[5].len = n4;
    st[6].kind = IMAP_SCRIPT_REPLY;
    st[6].data = z5;
    st[6].len = n5;
    st[7].kind = IMAP_SCRIPT_CLOSE;
    CHECK_EQ_INT(open_script(&c, &sc, st, 8), IMAP_OK);
    /* would-block reads count as quiet time (no clock): be patient */
    imap_client_set_timeout(&c, 600000);
    sc.max_write = max_write;
    sc.would_block = would_block;
    CHECK_EQ_INT(imap_enable_compression(&c, &z, zmem, sizeof zmem), IMAP_OK);
    CHECK_EQ_INT(imap_enable_compression(&c, &z, zmem, sizeof zmem), IMAP_E_STATE);  /* once */
    memset(&s, 0, sizeof s);
    memset(&call, 0, sizeof call);
    call.on_data = on_exists;
    call.arg = &s;
    CHECK_EQ_INT(imap_noop(&c, &call), IMAP_OK);
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_INT(s.exists[0], 1);                  /* the bytes after the OK */
    CHECK_EQ_INT(s.exists[1], 2);
    CHECK_EQ_INT(imap_logout(&c, NULL), IMAP_OK);
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
    CHECK(z.in_plain == strlen("* 1 EXISTS\r\n* 2 EXISTS\r\nBAAA1 OK done\r\n* BYE bye\r\nBAAA2 OK out\r\n"));
    CHECK(z.out_compressed == n2 + n4);
    imap_client_close(&c);
    CHECK(sc.client_closed);                      /* closing reached the script */
    deflateEnd(&srv.s);
    deflateEnd(&mirror.s);
}

TEST(enable_compression_whole_session)
{
    compress_session(0, 0);
}

TEST(enable_compression_writes_a_few_bytes_at_a_time)
{
    compress_session(1, 0);
    compress_session(3, 1);
    compress_session(0, 1);
}

/* The server's whole stream is there from the start; the client reads it
   one byte at a time (so the engine holds nothing past the OK) and its
   output is inflated afterwards. */
static long long look_clock(void *arg)
{
    static long long t;
    (void)arg;
    return ++t;
}

TEST(enable_compression_one_byte_reads_over_a_loopback)
{
    static unsigned char in[4096], out[4096];
    static const char cmds[] = "BAAA1 NOOP\r\nBAAA2 LOGOUT\r\n";
    zside srv;
    loop l;
    imap_transport lower;
    imap_client c;
    imap_deflate z;
    z_stream inf;
    unsigned char back[256];
    size_t n, k, head;
    const char *zs;
    head = (size_t)sprintf((char *)in, "* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\nBAAA0 OK go\r\n");
    zside_init(&srv, 6, 15, 8);
    zs = zpack(&srv, "* 1 EXISTS\r\nBAAA1 OK done\r\n", 0, &n);
    memcpy(in + head, zs, n);
    k = head + n;
    zs = zpack(&srv, "* BYE bye\r\nBAAA2 OK out\r\n", 0, &n);
    memcpy(in + k, zs, n);
    k += n;
    deflateEnd(&srv.s);
    memset(&l, 0, sizeof l);
    l.in = in;
    l.in_len = k;
    l.max_read = 1;
    l.out = out;
    l.out_cap = sizeof out;
    memset(&lower, 0, sizeof lower);
    lower.read = loop_read;
    lower.write = loop_write;
    lower.ctx = &l;
    imap_client_init(&c, cmem, sizeof cmem);
    imap_client_seed_tags(&c, 0);
    /* the loopback has no wait(): a timeout needs a clock (a look is 1 ms) */
    imap_client_set_clock(&c, look_clock, NULL);
    imap_client_set_timeout(&c, 600000);
    CHECK_EQ_INT(imap_client_open(&c, &lower), IMAP_OK);
    CHECK_EQ_INT(imap_enable_compression(&c, &z, zmem, sizeof zmem), IMAP_OK);
    CHECK_EQ_INT(imap_noop(&c, NULL), IMAP_OK);
    CHECK(c.exists == 1);
    CHECK_EQ_INT(imap_logout(&c, NULL), IMAP_OK);
    CHECK_EQ_INT(l.out_len > 24 && memcmp(out, "BAAA0 COMPRESS DEFLATE\r\n", 24) == 0, 1);
    memset(&inf, 0, sizeof inf);
    inflateInit2(&inf, -15);
    inf.next_in = out + 24;
    inf.avail_in = (uInt)(l.out_len - 24);
    inf.next_out = back;
    inf.avail_out = sizeof back;
    CHECK_EQ_INT(inflate(&inf, Z_SYNC_FLUSH), Z_OK);
    CHECK_EQ_INT(inf.total_out, sizeof cmds - 1);
    CHECK(memcmp(back, cmds, sizeof cmds - 1) == 0);
    inflateEnd(&inf);
    imap_client_close(&c);
}

TEST(enable_compression_refusals)
{
    imap_script_step none[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1] hi\r\n", 0 },
    };
    imap_script_step no[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 COMPRESS DEFLATE\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA0 NO [COMPRESSIONACTIVE] already\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA1 NOOP\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA1 OK plain still\r\n", 0 },
    };
    imap_script_step junk[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n", 0 },
        { IMAP_SCRIPT_EXPECT, "BAAA0 COMPRESS DEFLATE\r\n", 0 },
        { IMAP_SCRIPT_REPLY, "BAAA0 OK\r\n\xff\xff\xff\xff", 0 },
        { IMAP_SCRIPT_EXPECT, NULL, 0 },          /* the compressed NOOP */
        { IMAP_SCRIPT_STALL, NULL, 0 },
    };
    zside mirror;
    size_t nn;
    imap_client c;
    imap_script sc;
    imap_deflate z;
    CHECK_EQ_INT(open_script(&c, &sc, none, 1), IMAP_OK);
    CHECK_EQ_INT(imap_enable_compression(&c, &z, zmem, sizeof zmem), IMAP_E_CAPABILITY);
    CHECK_EQ_INT(sc.bytes_written, 0);
    CHECK_EQ_INT(open_script(&c, &sc, no, 5), IMAP_OK);
    CHECK_EQ_INT(imap_enable_compression(&c, &z, zmem, 1000), IMAP_E_NOMEM);
    CHECK_EQ_INT(sc.bytes_written, 0);             /* nothing sent without memory */
    CHECK_EQ_INT(imap_enable_compression(&c, &z, zmem, sizeof zmem), IMAP_E_NO);
    CHECK_EQ_INT(imap_noop(&c, NULL), IMAP_OK);    /* uncompressed */
    CHECK(imap_script_done(&sc));
    show_mismatch(&sc);
    /* the server's bytes after the OK do not inflate: the session ends */
    zside_init(&mirror, IMAP_DEFLATE_LEVEL, 15, 8);
    junk[3].data = zpack(&mirror, "BAAA1 NOOP\r\n", 0, &nn);
    junk[3].len = nn;
    deflateEnd(&mirror.s);
    CHECK_EQ_INT(open_script(&c, &sc, junk, 5), IMAP_OK);
    CHECK_EQ_INT(imap_enable_compression(&c, &z, zmem, sizeof zmem), IMAP_OK);
    CHECK(imap_noop(&c, NULL) < 0);
    CHECK_EQ_INT(imap_result_class_of(c.error), IMAP_CLASS_ABORT);
    CHECK_EQ_INT(z.error, IMAP_E_PROTOCOL);
    imap_client_close(&c);
    /* sans-I/O: no transport to layer on */
    imap_client_init(&c, cmem, sizeof cmem);
    imap_client_start(&c);
    CHECK_EQ_INT(imap_enable_compression(&c, &z, zmem, sizeof zmem), IMAP_E_STATE);
}

int main(void)
{
    RUN(transport_round_trip_over_a_loopback);
    RUN(transport_rejects_bad_compressed_data);
    RUN(memory_picks_the_largest_settings_that_fit);
    RUN(enable_compression_whole_session);
    RUN(enable_compression_writes_a_few_bytes_at_a_time);
    RUN(enable_compression_one_byte_reads_over_a_loopback);
    RUN(enable_compression_refusals);
    return test_summary();
}
