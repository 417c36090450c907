/* Guard pages: every byte the parser is given ends exactly at the end of
   a readable page followed by a PROT_NONE page, so a read one byte past
   any chunk faults at once, with or without a sanitizer (the runner also
   builds this file with plain -O2). Each golden transcript
   (tests/golden/NAME.in) is fed in chunks of 1, 2, 7, 100, 4096 bytes and
   whole; the parser's own buffer also ends at a guard page, and every
   typed view runs on every response. The text decoders (modified UTF-7,
   base64, INTERNALDATE, FLAGS) get each line at a guard page too. A
   child process checks that the guard does fault. */
#define _DEFAULT_SOURCE
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t page;

/* A region of `pages` readable pages followed by one PROT_NONE page. */
typedef struct guarded {
    unsigned char *base;
    size_t size;              /* readable bytes */
} guarded;

static int guard_make(guarded *g, size_t bytes)
{
    size_t pages = (bytes + page - 1) / page;
    unsigned char *m;
    if (pages == 0) pages = 1;
    m = (unsigned char *)mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return -1;
    if (mprotect(m + pages * page, page, PROT_NONE) != 0) return -1;
    g->base = m;
    g->size = pages * page;
    return 0;
}

static void guard_free(guarded *g)
{
    munmap(g->base, g->size + page);
}

/* Copy s[0..n) so that it ends at the guard; returns where it starts. */
static const unsigned char *at_guard(guarded *g, const void *s, size_t n)
{
    unsigned char *p = g->base + g->size - n;
    if (n) memcpy(p, s, n);
    return p;
}

static unsigned long responses, chunks_fed, lines_decoded;

static void views(const imap_response *r)
{
    imap_fetch_iter it;
    imap_fetch_attr a;
    imap_list_info li;
    imap_status_info st;
    imap_esearch es;
    imap_namespace_info ns;
    imap_flags_iter fi;
    imap_str fl;
    imap_tm tm;
    long long secs;
    imap_u64 x;
    const imap_value *c;
    if (imap_fetch_begin(r, &it) == 0) {
        while (imap_fetch_next(&it, &a) == 1) {
            imap_envelope e;
            imap_body b;
            if (imap_envelope_decode(a.value, &e) == 0) {
                const imap_value *ad = e.from;
                imap_address addr;
                while (imap_address_next(&ad, &addr) == 1) {}
            }
            if (imap_body_decode(a.value, &b) == 0) {
                const imap_value *pp = b.params, *part;
                imap_str k, v;
                while (imap_param_next(&pp, &k, &v) == 1) {}
                for (part = b.parts; part; part = part->next) {
                    imap_body sub;
                    (void)imap_body_decode(part, &sub);
                }
            }
        }
    }
    (void)imap_list_decode(r, &li);
    (void)imap_status_decode(r, &st);
    (void)imap_esearch_decode(r, &es);
    if (imap_namespace_decode(r, &ns) == 0) {
        const imap_value *n = ns.personal;
        imap_str pre;
        int dl;
        while (imap_namespace_next(&n, &pre, &dl) == 1) {}
    }
    c = r->args;
    while (imap_numbers_next(&c, &x) == 1) {}
    (void)imap_search_modseq(r, &x);
    (void)imap_fetch_internaldate(r, &tm, &secs);
    if (imap_parse_flags(r, &fi) == 0)
        while (imap_flags_next(&fi, &fl) == 1) {}
    (void)imap_response_code_arg(r);
}

/* Feed data[0..n) in chunks of `chunk`, each placed to end at the guard;
   the parser's buffer ends at another guard. Returns responses + errors. */
static long feed_guarded(const unsigned char *data, size_t n, size_t chunk,
                         guarded *in, guarded *arena, size_t cap)
{
    imap_parser p;
    size_t off = 0;
    long events = 0;
    imap_parser_init(&p, arena->base + arena->size - cap, cap);
    while (off < n) {
        size_t len = n - off < chunk ? n - off : chunk;
        const unsigned char *src = at_guard(in, data + off, len);
        size_t pos = 0;
        chunks_fed++;
        while (pos < len) {
            imap_response *r;
            size_t used = 0;
            imap_result rc = imap_parser_feed(&p, src + pos, len - pos, &used, &r);
            if (used > len - pos) return -1000000;
            pos += used;
            if (rc == IMAP_OK) {
                responses++;
                events++;
                views(r);
            } else if (rc < 0) {
                events += 1000;
            } else {
                break;
            }
        }
        off += len;
    }
    return events;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long sz;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (unsigned char *)malloc((size_t)sz + 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return b;
}

TEST(guard_page_faults_on_an_overread)
{
    guarded g;
    pid_t pid;
    int status = 0;
    CHECK(guard_make(&g, 10) == 0);
    pid = fork();
    if (pid == 0) {
        volatile const unsigned char *p = at_guard(&g, "abc", 3);
        /* under ASan its SEGV handler reports and exits 1: keep it quiet */
        if (!freopen("/dev/null", "w", stderr)) _exit(0);
        volatile unsigned char x = p[3];    /* one past: must fault */
        (void)x;
        _exit(0);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK((WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS)) ||
          (WIFEXITED(status) && WEXITSTATUS(status) != 0));
    guard_free(&g);
}

TEST(golden_transcripts_in_chunks_ending_at_a_guard)
{
    static const size_t chunks[] = { 1, 2, 7, 100, 4096, (size_t)-1 };
    DIR *d = opendir("tests/golden");
    struct dirent *e;
    int files = 0;
    guarded arena, in;
    const size_t cap = 1 << 16;
    CHECK(d != NULL);
    if (!d) return;
    CHECK(guard_make(&arena, cap) == 0);
    while ((e = readdir(d)) != NULL) {
        char path[512];
        size_t n = 0, ci, len = strlen(e->d_name);
        unsigned char *data;
        long first = -1;
        if (len < 4 || strcmp(e->d_name + len - 3, ".in") != 0) continue;
        snprintf(path, sizeof path, "tests/golden/%s", e->d_name);
        data = slurp(path, &n);
        CHECK(data != NULL);
        if (!data) continue;
        files++;
        CHECK(guard_make(&in, n ? n : 1) == 0);
        for (ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
            long ev = feed_guarded(data, n, chunks[ci] ? chunks[ci] : 1, &in, &arena, cap);
            /* chunking never changes what comes out */
            if (first < 0) first = ev;
            if (ev != first) printf("    %s: chunk %zu gave %ld events, whole %ld\n", e->d_name,
                                    chunks[ci], ev, first);
            CHECK_EQ_INT(ev, first);
        }
        /* a small buffer at the guard: the out-of-room paths */
        (void)feed_guarded(data, n, 7, &in, &arena, 512);
        guard_free(&in);
        free(data);
    }
    closedir(d);
    guard_free(&arena);
    CHECK(files >= 50);
    printf("    %d transcripts, %lu chunks, %lu responses\n", files, chunks_fed, responses);
}

/* Each line of each transcript through the text decoders, at a guard. */
TEST(text_decoders_at_a_guard)
{
    DIR *d = opendir("tests/golden");
    struct dirent *e;
    guarded in;
    static char out[1 << 16];
    CHECK(d != NULL);
    if (!d) return;
    CHECK(guard_make(&in, 1 << 16) == 0);
    while ((e = readdir(d)) != NULL) {
        char path[512];
        size_t n = 0, i = 0, len = strlen(e->d_name);
        unsigned char *data;
        if (len < 4 || strcmp(e->d_name + len - 3, ".in") != 0) continue;
        snprintf(path, sizeof path, "tests/golden/%s", e->d_name);
        data = slurp(path, &n);
        if (!data) continue;
        while (i < n) {
            size_t j = i, w;
            while (j < n && data[j] != '\n') j++;
            /* the whole line and every word of it */
            for (w = i; w <= j && w < n; w++) {
                size_t we = w;
                const char *s;
                imap_tm tm;
                long long secs;
                imap_flags_iter fi;
                imap_str fl;
                if (w != i && data[w - 1] != ' ') continue;
                while (we < j && data[we] != ' ') we++;
                s = (const char *)at_guard(&in, data + w, (w == i ? j : we) - w);
                len = (size_t)((w == i ? j : we) - w);
                (void)imap_utf7_decode(s, len, out, sizeof out);
                (void)imap_base64_decode(s, len, out, sizeof out);
                (void)imap_internaldate_parse(s, len, &tm, &secs);
                if (imap_parse_flags_str(s, len, &fi) == 0)
                    while (imap_flags_next(&fi, &fl) == 1) {}
                lines_decoded++;
            }
            i = j + 1;
        }
        free(data);
    }
    closedir(d);
    guard_free(&in);
    CHECK(lines_decoded > 1000);
}

int main(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    RUN(guard_page_faults_on_an_overread);
    RUN(golden_transcripts_in_chunks_ending_at_a_guard);
    RUN(text_decoders_at_a_guard);
    return test_summary();
}
