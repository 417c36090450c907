/* imap.h response parser benchmark, plus the two baselines.

   cc -O2 -I. tests/bench/bench_imaph.c -o bench_imaph      (run.sh does this)

   bench_imaph --parser imaph    --corpus F [--arena 1M] [--chunk 64K] [--sink 64K]
   bench_imaph --parser bytescan --corpus F
   bench_imaph --parser memchr   --corpus F

   imaph: the corpus is fed to imap_parser_feed in --chunk pieces, as from a
   socket; every response is taken as soon as it completes and fully decoded
   through the typed views (below); literals above --sink bytes go to the
   sink. The arena is one --arena block from the harness (pre-faulted, so
   page faults are not timed); imap.h itself allocates nothing.

   bytescan: one C loop over the bytes that tracks quoted strings (with
   backslash escapes), parentheses and literals {n} (whose n bytes it skips)
   and counts responses: the ceiling of any parser that looks at every byte.

   memchr: memchr for LF over the whole buffer: the memory-speed ceiling.

   Prints one line: "result key=value ..." (see report.py). */
#include "bench_common.h"
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include "bench_walk.h"

/* One pass: the corpus in chunks, responses taken one at a time. */
__attribute__((noinline))
static void pass_imaph(const unsigned char *buf, size_t len, const bench_args *a,
                       void *arena, stats *st, size_t *high)
{
    imap_parser p;
    size_t off = 0;
    imap_parser_init(&p, arena, a->arena);
    imap_parser_set_sink(&p, a->sink_threshold, sink, st);
    imap_parser_set_number_sink(&p, numsink, st);
    while (off < len) {
        size_t n = len - off < a->chunk ? len - off : a->chunk;
        const unsigned char *s = buf + off;
        off += n;
        while (n > 0) {
            size_t used = 0;
            imap_response *r;
            imap_result rc = imap_parser_feed(&p, s, n, &used, &r);
            s += used;
            n -= used;
            if (rc == IMAP_OK) {
                on_response(r, st);
            } else if (rc < 0) {
                st->errors++;
                if (rc == IMAP_E_NOMEM) st->nomem++;
                st->last_error = rc;
            }
        }
    }
    if (!imap_parser_idle(&p)) st->errors++;
    *high = imap_parser_high_water(&p);
}

/* The byte-at-a-time ceiling: quotes, parentheses and {n} literals. */
__attribute__((noinline))
static void pass_bytescan(const unsigned char *s, size_t n, stats *st)
{
    size_t i = 0;
    long depth = 0;
    unsigned long long resp = 0, parens = 0;
    while (i < n) {
        unsigned char c = s[i++];
        if (c == '"') {
            while (i < n) {
                c = s[i++];
                if (c == '\\') i++;
                else if (c == '"') break;
            }
        } else if (c == '(') {
            depth++;
            parens++;
        } else if (c == ')') {
            depth--;
        } else if (c == '{') {
            size_t v = 0;
            while (i < n && s[i] >= '0' && s[i] <= '9') v = v * 10 + (size_t)(s[i++] - '0');
            if (i < n && s[i] == '}') i++;
            if (i < n && s[i] == '\r') i++;
            if (i < n && s[i] == '\n') i++;
            i += v;                             /* skip the literal's bytes */
        } else if (c == '\n') {
            if (depth == 0) resp++;
        }
    }
    st->responses += resp;
    st->check += parens;
}

__attribute__((noinline))
static void pass_memchr(const unsigned char *s, size_t n, stats *st)
{
    const unsigned char *e = s + n;
    unsigned long long lines = 0;
    while (s < e) {
        const unsigned char *lf = (const unsigned char *)memchr(s, '\n', (size_t)(e - s));
        if (!lf) break;
        lines++;
        s = lf + 1;
    }
    st->responses += lines;     /* lines, not responses: a memory-speed floor */
}

int main(int argc, char **argv)
{
    bench_args a;
    unsigned char *buf;
    void *arena = NULL;
    size_t len, high = 0;
    long rss_base;
    stats st, once;
    int passes = 0, i;
    double t0, elapsed = 0;
    int mode;

    bench_parse_args(argc, argv, &a);
    if (!a.parser) a.parser = "imaph";
    mode = !strcmp(a.parser, "imaph") ? 0 : !strcmp(a.parser, "bytescan") ? 1 :
           !strcmp(a.parser, "memchr") ? 2 : -1;
    if (mode < 0) { fprintf(stderr, "unknown parser %s\n", a.parser); return 2; }
    buf = bench_load(a.corpus, &len);
    rss_base = bench_maxrss_kb();
    if (mode == 0) {
        arena = malloc(a.arena);
        if (!arena) { perror("arena"); return 2; }
        memset(arena, 0x5a, a.arena);       /* fault it in before timing */
    }
    memset(&once, 0, sizeof once);
    for (i = 0; i < a.warmup; i++) {
        memset(&st, 0, sizeof st);
        if (mode == 0) pass_imaph(buf, len, &a, arena, &st, &high);
        else if (mode == 1) pass_bytescan(buf, len, &st);
        else pass_memchr(buf, len, &st);
    }
    while (bench_more(&a, passes, elapsed)) {
        memset(&st, 0, sizeof st);
        t0 = bench_now();
        if (mode == 0) pass_imaph(buf, len, &a, arena, &st, &high);
        else if (mode == 1) pass_bytescan(buf, len, &st);
        else pass_memchr(buf, len, &st);
        elapsed += bench_now() - t0;
        if (passes == 0) once = st;
        passes++;
    }
    printf("result parser=%s corpus=%s bytes=%zu passes=%d secs=%.6f mbps=%.3f rps=%.1f "
           "responses=%llu tagged_ok=%llu errors=%llu nomem=%llu last_error=%s "
           "maxrss_kb=%ld rss_base_kb=%ld arena=%zu high_water=%zu chunk=%zu sink=%zu "
           "fetches=%llu attrs=%llu envelopes=%llu addrs=%llu groups=%llu parts=%llu params=%llu "
           "mailboxes=%llu statuses=%llu flags=%llu numbers=%llu literal_bytes=%llu "
           "sunk_bytes=%llu check=%llu parser_struct=%zu\n",
           a.parser, a.name, len, passes, elapsed,
           (double)len * passes / elapsed / 1e6, (double)once.responses * passes / elapsed,
           once.responses, once.tagged_ok, once.errors, once.nomem,
           once.last_error ? imap_result_name(once.last_error) : "-",
           bench_maxrss_kb(), rss_base, mode == 0 ? a.arena : (size_t)0, high, a.chunk,
           a.sink_threshold, once.fetches, once.attrs, once.envelopes, once.addrs, once.groups,
           once.parts, once.params, once.mailboxes, once.statuses, once.flags, once.numbers,
           once.literal_bytes, once.sunk_bytes, once.check, sizeof(imap_parser));
    free(arena);
    free(buf);
    return 0;
}
