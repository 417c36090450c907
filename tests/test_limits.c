/* Limits: a response larger than the buffer, a line longer than the line
   limit, a literal larger than the literal limit, nesting deeper than
   IMAP_MAX_DEPTH, literal lengths of 2^32 and 2^64, ten million SEARCH
   numbers. Each gives its own code, and the stream goes on where the
   protocol allows: in the parser the next response parses; in the client
   (blocking, over the scripted transport) the command completes with the
   code and the next command works. */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <stdlib.h>

static unsigned char pmem[4096];
static imap_parser P;

/* Feed all of s[0..n) and return the first result other than
   IMAP_MORE (IMAP_MORE if none); *used gets the bytes taken. A rejection
   is reported as soon as it is seen; the rest of its response is then
   skipped by later calls. */
static int feed1(const void *s, size_t n, size_t *used)
{
    const unsigned char *b = (const unsigned char *)s;
    int first = IMAP_MORE, stuck = 0;
    size_t off = 0;
    while (off < n && stuck < 3) {
        imap_response *r;
        size_t u = 0;
        int rc = imap_parser_feed(&P, b + off, n - off, &u, &r);
        off += u;
        if (rc != IMAP_MORE && first == IMAP_MORE) first = rc;
        if (u == 0) stuck++;
    }
    *used = off;
    return first;
}

/* After a rejection, the next response parses whole. */
static int next_parses(void)
{
    static const char next[] = "* 7 EXISTS\r\n";
    imap_response *r;
    size_t used = 0;
    int rc = imap_parser_feed(&P, next, sizeof next - 1, &used, &r);
    return rc == IMAP_OK && used == sizeof next - 1 && r->number == 7 && imap_parser_idle(&P);
}

static void fresh(size_t cap)
{
    imap_parser_init(&P, pmem, cap);
}

TEST(response_larger_than_the_buffer_is_nomem)
{
    static char big[20000];
    size_t used, n;
    fresh(sizeof pmem);
    /* a line */
    n = (size_t)sprintf(big, "* OK ");
    memset(big + n, 'x', 9000);
    n += 9000;
    memcpy(big + n, "\r\n", 2);
    n += 2;
    CHECK_EQ_INT(feed1(big, n, &used), IMAP_E_NOMEM);
    CHECK_EQ_INT(used, n);
    CHECK_EQ_INT(P.error, IMAP_E_NOMEM);
    CHECK(P.arena.needed >= 9000);          /* tells how much it wanted */
    /* fed in one piece larger than the buffer, the report still shows
       the line's start */
    CHECK(P.error_line.len >= 5 && memcmp(P.error_line.ptr, "* OK ", 5) == 0);
    CHECK(next_parses());
    /* a literal */
    n = (size_t)sprintf(big, "* 1 FETCH (BODY[] {8000}\r\n");
    memset(big + n, 'y', 8000);
    n += 8000;
    n += (size_t)sprintf(big + n, ")\r\n");
    CHECK_EQ_INT(feed1(big, n, &used), IMAP_E_NOMEM);
    CHECK_EQ_INT(used, n);
    CHECK(next_parses());
}

TEST(line_longer_than_max_line_is_limit)
{
    char line[400];
    size_t used, n;
    fresh(sizeof pmem);
    P.max_line = 100;
    n = (size_t)sprintf(line, "* OK ");
    memset(line + n, 'z', 200);
    n += 200;
    memcpy(line + n, "\r\n", 2);
    n += 2;
    CHECK_EQ_INT(feed1(line, n, &used), IMAP_E_LIMIT);
    CHECK_EQ_INT(used, n);
    CHECK(P.error_line.len >= 5 && memcmp(P.error_line.ptr, "* OK ", 5) == 0);
    CHECK(next_parses());
    /* exactly at the limit is fine */
    n = (size_t)sprintf(line, "* OK ");
    memset(line + n, 'z', 93);
    n += 93;
    memcpy(line + n, "\r\n", 2);
    n += 2;
    CHECK_EQ_INT(n, 100);
    {
        imap_response *r;
        used = 0;
        CHECK_EQ_INT(imap_parser_feed(&P, line, n, &used, &r), IMAP_OK);
    }
}

TEST(literal_larger_than_max_literal_is_limit_and_skipped)
{
    static char buf[3000];
    size_t used, n;
    fresh(sizeof pmem);
    P.max_literal = 1000;
    n = (size_t)sprintf(buf, "* 1 FETCH (BODY[] {2000}\r\n");
    memset(buf + n, 'q', 2000);
    memcpy(buf + n + 10, "\r\n* BYE fake\r\n", 14);   /* inside the literal */
    n += 2000;
    n += (size_t)sprintf(buf + n, ")\r\n");
    CHECK_EQ_INT(feed1(buf, n, &used), IMAP_E_LIMIT);
    CHECK_EQ_INT(used, n);
    CHECK(next_parses());
}

TEST(nesting_deeper_than_the_limit_is_limit)
{
    static char buf[1000];
    size_t used, n = 0;
    int i;
    imap_response *r;
    fresh(sizeof pmem);
    n += (size_t)sprintf(buf, "* 1 FETCH (X ");
    for (i = 0; i < IMAP_MAX_DEPTH + 1; i++) buf[n++] = '(';
    for (i = 0; i < IMAP_MAX_DEPTH + 1; i++) buf[n++] = ')';
    n += (size_t)sprintf(buf + n, ")\r\n");
    CHECK_EQ_INT(feed1(buf, n, &used), IMAP_E_LIMIT);
    CHECK_EQ_INT(used, n);
    CHECK(next_parses());
    /* one level less (the FETCH list is one) parses */
    n = (size_t)sprintf(buf, "* 1 FETCH (X ");
    for (i = 0; i < IMAP_MAX_DEPTH - 1; i++) buf[n++] = '(';
    for (i = 0; i < IMAP_MAX_DEPTH - 1; i++) buf[n++] = ')';
    n += (size_t)sprintf(buf + n, ")\r\n");
    used = 0;
    CHECK_EQ_INT(imap_parser_feed(&P, buf, n, &used, &r), IMAP_OK);
}

/* Literal lengths at 2^32 - 1 (fits the default limit, not the buffer),
   2^32 (over the limit): both skipped byte for byte, 4 GiB of them, then
   the stream goes on. 2^64 does not fit 64 bits: the line is taken as
   the response's end. */
TEST(literal_lengths_of_2_32_and_2_64)
{
    static const char *const heads[] = {
        "* 1 FETCH (BODY[] {4294967295}\r\n", "* 1 FETCH (BODY[] {4294967296}\r\n" };
    static const int want[] = { IMAP_E_NOMEM, IMAP_E_LIMIT };
    const size_t chunk = 1 << 20;
    unsigned char *zeros = (unsigned char *)calloc(1, chunk);
    int h;
    CHECK(zeros != NULL);
    if (!zeros) return;
    for (h = 0; h < 2; h++) {
        imap_u64 left = (imap_u64)4294967295u + (imap_u64)h;
        size_t used;
        int rc;
        fresh(sizeof pmem);
        rc = feed1(heads[h], strlen(heads[h]), &used);
        CHECK_EQ_INT(rc, want[h]);          /* told at once, then skipped */
        CHECK_EQ_INT(used, strlen(heads[h]));
        while (left > 0) {
            size_t n = left < chunk ? (size_t)left : chunk;
            rc = feed1(zeros, n, &used);
            CHECK_EQ_INT(used, n);
            if (rc != IMAP_MORE) break;
            left -= n;
        }
        CHECK(left == 0);
        CHECK(!imap_parser_idle(&P));
        CHECK_EQ_INT(feed1(")\r\n", 3, &used), IMAP_MORE);
        CHECK_EQ_INT(used, 3);
        CHECK(next_parses());
    }
    free(zeros);
    {
        static const char h64[] = "* 1 FETCH (BODY[] {18446744073709551616}\r\n";
        static const char h64m[] = "* 1 FETCH (BODY[] {18446744073709551615}\r\n";
        size_t used;
        fresh(sizeof pmem);
        CHECK_EQ_INT(feed1(h64, sizeof h64 - 1, &used), IMAP_E_LIMIT);
        CHECK_EQ_INT(used, sizeof h64 - 1);
        CHECK(next_parses());
        /* 2^64 - 1 fits a number, not the limit: skipped, which no
           stream can finish; what counts is the code and no overflow */
        fresh(sizeof pmem);
        CHECK_EQ_INT(feed1(h64m, sizeof h64m - 1, &used), IMAP_E_LIMIT);
        CHECK_EQ_INT(feed1("abc", 3, &used), IMAP_MORE);
        CHECK_EQ_INT(used, 3);
        CHECK(!imap_parser_idle(&P));
    }
    {
        /* over 20 digits, even a small value behind leading zeros, is no
           length: unframeable, so the line ends the response, whether the
           line is in the buffer or too long for it and only its last 32
           bytes are kept (fuzz_parser: the two used to disagree) */
        static const char z[] = "* 1 FETCH (BODY[] {0000000000000000000000000005}\r\n";
        static const char ok20[] = "* 1 FETCH (BODY[] {00000000000000000003}\r\nabc)\r\n";
        static char longline[6000];
        size_t used, n;
        fresh(sizeof pmem);
        CHECK_EQ_INT(feed1(z, sizeof z - 1, &used), IMAP_E_LIMIT);
        CHECK(imap_parser_idle(&P));
        CHECK(next_parses());
        fresh(sizeof pmem);
        n = (size_t)sprintf(longline, "* 1 FETCH (X-LONG \"");
        memset(longline + n, 'a', 5000);
        n += 5000;
        n += (size_t)sprintf(longline + n, "\" BODY[] {0000000000000000000000000005}\r\n");
        CHECK_EQ_INT(feed1(longline, n, &used), IMAP_E_NOMEM);
        CHECK_EQ_INT(used, n);
        /* the line ended the response: what follows is a new one */
        CHECK(imap_parser_idle(&P));
        CHECK(next_parses());
        /* 20 digits with leading zeros still frame */
        fresh(sizeof pmem);
        CHECK_EQ_INT(feed1(ok20, sizeof ok20 - 1, &used), IMAP_OK);
        CHECK_EQ_INT(used, sizeof ok20 - 1);
    }
}

/* "* SEARCH 1 2 ... 10000000" (78,888,897 bytes in one line). */
static char *search_reply(const char *tail, size_t *len)
{
    size_t cap = 80000000 + strlen(tail), n = 0;
    char *s = (char *)malloc(cap);
    unsigned long i;
    if (!s) return NULL;
    n += (size_t)sprintf(s, "* SEARCH");
    for (i = 1; i <= 10000000ul; i++) n += (size_t)sprintf(s + n, " %lu", i);
    n += (size_t)sprintf(s + n, "\r\n%s", tail);
    *len = n;
    return s;
}

TEST(ten_million_search_numbers_parser)
{
    size_t len = 0, used;
    char *s = search_reply("", &len);
    CHECK(s != NULL);
    if (!s) return;
    fresh(sizeof pmem);
    CHECK_EQ_INT(feed1(s, len, &used), IMAP_E_NOMEM);
    CHECK_EQ_INT(used, len);
    CHECK(P.arena.needed >= len);
    CHECK(next_parses());
    free(s);
}

/* ---- the client: blocking commands over the scripted transport -------- */

static unsigned char cmem[1 << 16];

/* greeting, NOOP answered with `reply`, then a NOOP that must work */
static void client_case(const char *name, const char *reply, size_t reply_len,
                        void (*tune)(imap_parser *), int want)
{
    imap_script_step steps[8];
    imap_script sc;
    imap_transport tr;
    imap_client c;
    int rc;
    steps[0].kind = IMAP_SCRIPT_REPLY;
    steps[0].data = "* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n";
    steps[0].len = 0;
    steps[1].kind = IMAP_SCRIPT_EXPECT;
    steps[1].data = "BAAA0 NOOP\r\n";
    steps[1].len = 0;
    steps[2].kind = IMAP_SCRIPT_REPLY;
    steps[2].data = reply;
    steps[2].len = reply_len;
    steps[3].kind = IMAP_SCRIPT_EXPECT;
    steps[3].data = "BAAA1 NOOP\r\n";
    steps[3].len = 0;
    steps[4].kind = IMAP_SCRIPT_REPLY;
    steps[4].data = "* 3 EXISTS\r\nBAAA1 OK fine\r\n";
    steps[4].len = 0;
    imap_client_init(&c, cmem, sizeof cmem);
    imap_client_seed_tags(&c, 0);
    imap_client_set_timeout(&c, 1000);
    if (tune) tune(imap_client_parser(&c));
    imap_script_init(&sc, steps, 5, &tr);
    CHECK_EQ_INT(imap_client_open(&c, &tr), IMAP_OK);
    rc = imap_noop(&c, NULL);
    if (rc != want) printf("    %s: NOOP gave %s\n", name, imap_result_name(rc));
    CHECK_EQ_INT(rc, want);
    CHECK_EQ_INT(c.error, 0);
    CHECK_EQ_INT(imap_noop(&c, NULL), IMAP_OK);
    CHECK(c.exists == 3);
    CHECK(imap_script_done(&sc));
    imap_client_close(&c);
}

static void tune_line(imap_parser *p) { p->max_line = 200; }
static void tune_literal(imap_parser *p) { p->max_literal = 100; }

TEST(client_command_completes_with_the_code_and_the_next_works)
{
    static char big[80000];
    size_t n;
    int i;
    /* a FETCH-shaped answer larger than the parser's buffer */
    n = (size_t)sprintf(big, "* 1 FETCH (BODY[] {70000}\r\n");
    memset(big + n, 'b', 70000);
    n += 70000;
    n += (size_t)sprintf(big + n, ")\r\nBAAA0 OK done\r\n");
    client_case("too large", big, n, NULL, IMAP_E_NOMEM);
    /* a line over the line limit */
    n = (size_t)sprintf(big, "* 1 FETCH (X \"");
    memset(big + n, 'l', 300);
    n += 300;
    n += (size_t)sprintf(big + n, "\")\r\nBAAA0 OK done\r\n");
    client_case("long line", big, n, tune_line, IMAP_E_LIMIT);
    /* a literal over the literal limit */
    n = (size_t)sprintf(big, "* 1 FETCH (BODY[] {500}\r\n");
    memset(big + n, 'm', 500);
    n += 500;
    n += (size_t)sprintf(big + n, ")\r\nBAAA0 OK done\r\n");
    client_case("big literal", big, n, tune_literal, IMAP_E_LIMIT);
    /* nesting over the depth limit */
    n = (size_t)sprintf(big, "* 1 FETCH (X ");
    for (i = 0; i < IMAP_MAX_DEPTH + 5; i++) big[n++] = '(';
    for (i = 0; i < IMAP_MAX_DEPTH + 5; i++) big[n++] = ')';
    n += (size_t)sprintf(big + n, ")\r\nBAAA0 OK done\r\n");
    client_case("deep", big, n, NULL, IMAP_E_LIMIT);
    /* a literal of 2^64: the line ends the response */
    n = (size_t)sprintf(big, "* 1 FETCH (BODY[] {18446744073709551616}\r\nBAAA0 OK done\r\n");
    client_case("2^64", big, n, NULL, IMAP_E_LIMIT);
    /* a tagged response too large itself: the command still ends */
    n = (size_t)sprintf(big, "BAAA0 OK ");
    memset(big + n, 't', 70000);
    n += 70000;
    n += (size_t)sprintf(big + n, "\r\n");
    client_case("large tagged", big, n, NULL, IMAP_E_NOMEM);
    /* a tagged response over the line limit: before, its tag was lost
       and the command waited for ever */
    n = (size_t)sprintf(big, "BAAA0 OK ");
    memset(big + n, 'u', 300);
    n += 300;
    n += (size_t)sprintf(big + n, "\r\n");
    client_case("long tagged", big, n, tune_line, IMAP_E_LIMIT);
    /* and data for nobody (no command takes SEARCH here) changes nothing */
    n = (size_t)sprintf(big, "* SEARCH ");
    memset(big + n, '1', 70000);
    n += 70000;
    n += (size_t)sprintf(big + n, "\r\nBAAA0 OK done\r\n");
    client_case("unrouted", big, n, NULL, IMAP_OK);
}

TEST(client_ten_million_search_numbers)
{
    imap_script_step steps[6];
    imap_script sc;
    imap_transport tr;
    imap_client c;
    size_t len = 0;
    char *s = search_reply("BAAA0 OK Search completed\r\n", &len);
    const char *crit[] = { "ALL" };
    CHECK(s != NULL);
    if (!s) return;
    memset(steps, 0, sizeof steps);
    steps[0].kind = IMAP_SCRIPT_REPLY;
    steps[0].data = "* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n";
    steps[1].kind = IMAP_SCRIPT_EXPECT;
    steps[1].data = "BAAA0 SEARCH ALL\r\n";
    steps[2].kind = IMAP_SCRIPT_REPLY;
    steps[2].data = s;
    steps[2].len = len;
    steps[3].kind = IMAP_SCRIPT_EXPECT;
    steps[3].data = "BAAA1 NOOP\r\n";
    steps[4].kind = IMAP_SCRIPT_REPLY;
    steps[4].data = "BAAA1 OK fine\r\n";
    imap_client_init(&c, cmem, sizeof cmem);
    imap_client_seed_tags(&c, 0);
    imap_script_init(&sc, steps, 5, &tr);
    CHECK_EQ_INT(imap_client_open(&c, &tr), IMAP_OK);
    CHECK_EQ_INT(imap_search(&c, NULL, crit, 1, NULL), IMAP_E_NOMEM);
    CHECK_EQ_INT(c.error, 0);
    CHECK_EQ_INT(imap_noop(&c, NULL), IMAP_OK);
    CHECK(imap_script_done(&sc));
    imap_client_close(&c);
    free(s);
}

int main(void)
{
    RUN(response_larger_than_the_buffer_is_nomem);
    RUN(line_longer_than_max_line_is_limit);
    RUN(literal_larger_than_max_literal_is_limit_and_skipped);
    RUN(nesting_deeper_than_the_limit_is_limit);
    RUN(literal_lengths_of_2_32_and_2_64);
    RUN(ten_million_search_numbers_parser);
    RUN(client_command_completes_with_the_code_and_the_next_works);
    RUN(client_ten_million_search_numbers);
    return test_summary();
}
