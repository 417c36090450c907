/* Host-side checks of what tests/firmware found on the target, under
   ASan and UBSan (tests/firmware/run.sh builds and runs this):
   - imap_parser_high_water() after rejected responses: a buffer of the
     size it reports keeps them (it reported the size seen when the
     response overflowed: 4,130 where 8,436 were needed);
   - the EXISTS that ends an IDLE without on_data reaches on_untagged,
     as the header says. */
#include <stdlib.h>
#define IMAP_IMPLEMENTATION
#include "../../imap.h"
#include "../test.h"

/* Parse all of `s` in `chunk`-byte pieces with a buffer of cap bytes at
   an odd address; count responses that completed and those rejected
   for room. */
static void parse_all(const char *s, size_t cap, size_t chunk, int *ok, int *nomem,
                      size_t *high)
{
    unsigned char *raw = (unsigned char *)malloc(cap + 1);
    imap_parser p;
    size_t len = strlen(s), pos = 0;
    *ok = *nomem = 0;
    imap_parser_init(&p, raw + 1, cap);
    while (pos < len) {
        size_t n = len - pos < chunk ? len - pos : chunk, off = 0;
        while (off < n) {
            size_t used = 0;
            imap_response *r;
            int rc = imap_parser_feed(&p, s + pos + off, n - off, &used, &r);
            off += used;
            if (rc == IMAP_OK) (*ok)++;
            else if (rc == IMAP_E_NOMEM) (*nomem)++;
            else if (rc != IMAP_MORE) CHECK_EQ_INT(rc, IMAP_OK);
            if (rc == IMAP_MORE) break;
        }
        pos += n;
    }
    *high = imap_parser_high_water(&p);
    free(raw);
}

static char big[200000];

/* A FETCH with a long address list (many nodes per byte): the tree, not
   the raw line, is most of what it needs. */
static const char *many_addresses(int n)
{
    size_t k = 0;
    int i;
    k += (size_t)sprintf(big + k, "* 1 FETCH (UID 7 ENVELOPE (\"Tue, 1 Dec 2026 10:00:00 +0000\" \"s\" NIL NIL NIL (");
    for (i = 0; i < n; i++)
        k += (size_t)sprintf(big + k, "(\"R %d\" NIL \"r%d\" \"example.net\")", i, i);
    k += (size_t)sprintf(big + k, ") NIL NIL NIL \"<m@x>\") FLAGS (\\Seen))\r\n* 2 EXISTS\r\n");
    return big;
}

TEST(high_water_covers_rejected_responses)
{
    /* each: too large for 4 KiB; then a buffer of the reported size keeps it */
    static const char *const shapes[] = {
        NULL,                                                /* many addresses */
        "* 3 FETCH (BODY[HEADER.FIELDS (FROM TO)] {6000}\r\n",   /* a stored literal */
        "* OK [PERMANENTFLAGS (\\Seen \\Answered \\* x y z)] ",  /* a long status text */
        "X (((((((((a b c d e f g h))))))))) Y \"q\\\"q\" Z {5}\r\nhello A ~{3}\r\nabc ",
    };
    unsigned i;
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const char *s;
        int ok, nomem, ok2, nomem2;
        size_t high, high2, chunk;
        if (i == 0) {
            s = many_addresses(120);
        } else if (i == 1 || i == 2) {
            size_t k = strlen(shapes[i]);
            memcpy(big, shapes[i], k);
            memset(big + k, i == 1 ? 'h' : 't', 6000);
            k += 6000;
            k += (size_t)sprintf(big + k, i == 1 ? " FLAGS (\\Seen))\r\n" : "\r\n");
            big[k] = 0;
            s = big;
        } else {
            size_t k = 0;
            int r;
            /* one response: many small nodes, literals between its lines */
            k += (size_t)sprintf(big + k, "* 4 FETCH (");
            for (r = 0; r < 120; r++) k += (size_t)sprintf(big + k, "%s", shapes[i]);
            k += (size_t)sprintf(big + k, ")\r\n");
            big[k] = 0;
            s = big;
        }
        for (chunk = 1; chunk <= 4096; chunk *= 64) {
            parse_all(s, 4096, chunk, &ok, &nomem, &high);
            CHECK(nomem >= 1);
            CHECK(high > 4096);
            parse_all(s, high, chunk, &ok2, &nomem2, &high2);
            CHECK_EQ_INT(nomem2, 0);
            CHECK_EQ_INT(ok2, ok + nomem);
            /* an upper bound, but not a wild one */
            CHECK(high <= high2 + high2 / 4 + 64);
            if (nomem2 || high > high2 + high2 / 4 + 64)
                printf("    shape %u chunk %lu: reported %lu, kept in %lu\n", i,
                       (unsigned long)chunk, (unsigned long)high, (unsigned long)high2);
        }
    }
}

/* Random responses of every token shape, parsed with a random small
   buffer: whenever one is rejected for room, the reported high-water
   keeps it. Covers the three ways to run out: the line, a literal, the
   tree (raw bytes fit, nodes do not; quoted strings before it were
   unescaped in place). */
TEST(high_water_random_responses)
{
    static const char *const tok[] = {
        "a", "NIL", "12345", "\"q\\\"x\\\\\"", "\"\"", "(", ")", "{3}\r\nabc",
        "~{2}\r\nhi", "BODY[HEADER.FIELDS (A B)]<0>", "\\Seen", "[X Y]", "{0}\r\n"
    };
    unsigned long seed = 12345;
    int iter, bad = 0;
    for (iter = 0; iter < 400; iter++) {
        size_t k = 0, cap, high, high2;
        int depth = 0, t, ntok, ok, nomem, ok2, nomem2;
        seed = seed * 1103515245u + 12345u;
        ntok = (int)(seed >> 16) % 900;
        k += (size_t)sprintf(big + k, "* %d FETCH (", iter + 1);
        for (t = 0; t < ntok && k < sizeof big - 200; t++) {
            unsigned w;
            seed = seed * 1103515245u + 12345u;
            w = (unsigned)(seed >> 16) % (sizeof tok / sizeof tok[0]);
            if (w == 5 && depth >= 10) w = 0;
            if (w == 6 && depth == 0) w = 1;
            depth += w == 5 ? 1 : w == 6 ? -1 : 0;
            k += (size_t)sprintf(big + k, "%s ", tok[w]);
        }
        while (depth-- > 0) big[k++] = ')';
        k += (size_t)sprintf(big + k, ")\r\n* 1 EXISTS\r\n");
        big[k] = 0;
        seed = seed * 1103515245u + 12345u;
        cap = 256 + (size_t)(seed >> 16) % 3840;
        parse_all(big, cap, 1 + iter % 700, &ok, &nomem, &high);
        if (!nomem) continue;
        parse_all(big, high, 4096, &ok2, &nomem2, &high2);
        if (nomem2 || ok2 != ok + nomem) {
            if (bad++ < 3)
                printf("    iteration %d: %d tokens, %lu-byte buffer: reported %lu, still rejected\n",
                       iter, ntok, (unsigned long)cap, (unsigned long)high);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- IDLE's EXISTS reaches on_untagged ----------------------------- */

static unsigned char mem[1 << 16];
static imap_client cl;

static const char *sent(imap_client *c)
{
    static char buf[4096];
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

static int untagged_exists;
static void on_untagged(void *arg, imap_client *c, const imap_response *r)
{
    (void)arg;
    (void)c;
    if (imap_response_is(r, "EXISTS")) untagged_exists++;
}

static int done_result = 1;
static void on_done(void *arg, imap_client *c, int result, const imap_response *tagged)
{
    (void)arg;
    (void)c;
    (void)tagged;
    done_result = result;
}

TEST(idle_exists_reaches_on_untagged)
{
    imap_call call;
    char tag[16], line[64];
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_seed_tags(&cl, 0);
    imap_client_on_untagged(&cl, on_untagged, NULL);
    imap_client_start(&cl);
    feed(&cl, "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] x\r\n");
    memset(&call, 0, sizeof call);
    call.on_done = on_done;             /* no on_data: like a blocking IDLE */
    CHECK_EQ_INT(imap_idle(&cl, 0, &call), IMAP_OK);
    CHECK(sscanf(sent(&cl), "%15s IDLE\r\n", tag) == 1);
    feed(&cl, "+ idling\r\n");
    feed(&cl, "* 5 EXISTS\r\n");
    CHECK_EQ_INT(untagged_exists, 1);
    CHECK_EQ_INT(cl.exists, 5);
    CHECK(strcmp(sent(&cl), "DONE\r\n") == 0);
    sprintf(line, "%s OK IDLE terminated\r\n", tag);
    feed(&cl, line);
    CHECK_EQ_INT(done_result, IMAP_OK);
    /* between commands too (unchanged) */
    feed(&cl, "* 6 EXISTS\r\n");
    CHECK_EQ_INT(untagged_exists, 2);
}

int main(void)
{
    RUN(high_water_covers_rejected_responses);
    RUN(high_water_random_responses);
    RUN(idle_exists_reaches_on_untagged);
    return test_summary();
}
