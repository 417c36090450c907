/* libFuzzer / AFL++ target for the response parser.

   Build (libFuzzer):
     clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_parser.c -o fuzz_parser
   Build (AFL++):
     afl-clang-fast -g -O1 -fsanitize=fuzzer -I. fuzz/fuzz_parser.c -o fuzz_parser_afl
   Replay files without libFuzzer:
     cc -g -DFUZZ_MAIN -I. fuzz/fuzz_parser.c fuzz/main.c -o fuzz_parser_replay

   The first 4 input bytes choose the arena size (so the out-of-room paths
   run), the sink threshold and a chunking seed (whose low bit also turns
   on the number sink); the rest is the server
   stream. Properties checked beyond "no crash": the stream fed whole and
   fed in pseudo-random chunks yields the same sequence of responses and
   errors, and the parser never reports needing more than it was given
   while claiming success. */
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdlib.h>
#include <string.h>

static unsigned char mem_a[1 << 16], mem_b[1 << 16];

static unsigned long long mix(unsigned long long h, const void *s, size_t n)
{
    const unsigned char *b = (const unsigned char *)s;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Fingerprint a response by walking its tree with an explicit stack. */
static unsigned long long fingerprint(const imap_response *r)
{
    const imap_value *stack[IMAP_MAX_DEPTH + 2];
    const imap_value *v;
    unsigned long long h = 1469598103934665603ull;
    int depth = 0, k;
    h = mix(h, &r->kind, sizeof r->kind);
    h = mix(h, &r->status, sizeof r->status);
    h = mix(h, r->tag.ptr, r->tag.len);
    h = mix(h, r->text.ptr, r->text.len);
    for (k = 0; k < 2; k++) {
        v = k == 0 ? (r->code ? r->code->child : NULL) : r->items;
        for (;;) {
            while (!v && depth > 0) {
                v = stack[--depth]->next;
                h = mix(h, ")", 1);
            }
            if (!v) break;
            h = mix(h, &v->type, 1);
            h = mix(h, &v->flags, 1);
            h = mix(h, &v->len, sizeof v->len);
            if (v->str) h = mix(h, v->str, v->len);
            if (v->type == IMAP_NUMBER) h = mix(h, &v->num, sizeof v->num);
            if (v->type == IMAP_LIST) {
                if (depth > IMAP_MAX_DEPTH) abort();
                stack[depth++] = v;
                v = v->child;
                continue;
            }
            v = v->next;
        }
    }
    return h;
}

static int count_sink(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    unsigned long long *h = (unsigned long long *)ctx;
    if (info->offset + len > info->total) abort();
    *h = mix(*h, data, len);
    return 0;
}

static int number_sink(void *ctx, imap_str name, imap_u64 lo, imap_u64 hi)
{
    unsigned long long *h = (unsigned long long *)ctx;
    if (lo > hi) abort();
    *h = mix(*h, name.ptr, name.len);
    *h = mix(*h, &lo, sizeof lo);
    *h = mix(*h, &hi, sizeof hi);
    return 0;
}

#define MAX_EVENTS 256

static int run(const unsigned char *d, size_t n, unsigned char *mem, size_t cap,
               size_t threshold, unsigned seed, unsigned long long *ev,
               unsigned long long *sunk, int numbers)
{
    imap_parser p;
    size_t off = 0;
    int ne = 0;
    imap_parser_init(&p, mem, cap);
    imap_parser_set_sink(&p, threshold, count_sink, sunk);
    if (numbers) imap_parser_set_number_sink(&p, number_sink, sunk);
    while (off < n) {
        size_t chunk = n - off, used = 0;
        imap_response *r;
        imap_result rc;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            chunk = 1 + (seed >> 16) % 97;
            if (chunk > n - off) chunk = n - off;
        }
        rc = imap_parser_feed(&p, d + off, chunk, &used, &r);
        if (used > chunk) abort();
        if (rc == IMAP_MORE && used != chunk) abort();
        off += used;
        if (rc == IMAP_OK) {
            if (ne < MAX_EVENTS) ev[ne++] = fingerprint(r);
            /* exercise every typed view on whatever came in */
            {
                imap_fetch_iter it;
                imap_fetch_attr a;
                imap_list_info li;
                imap_status_info st;
                imap_esearch es;
                imap_namespace_info ns;
                if (imap_fetch_begin(r, &it) == 0) {
                    while (imap_fetch_next(&it, &a) == 1) {
                        imap_envelope e;
                        imap_body b;
                        if (imap_envelope_decode(a.value, &e) == 0) {
                            const imap_value *c = e.from;
                            imap_address ad;
                            while (imap_address_next(&c, &ad) == 1) {}
                        }
                        if (imap_body_decode(a.value, &b) == 0) {
                            const imap_value *c = b.params, *part;
                            imap_str k, v;
                            while (imap_param_next(&c, &k, &v) == 1) {}
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
                    const imap_value *c = ns.personal;
                    imap_str pre;
                    int dl;
                    while (imap_namespace_next(&c, &pre, &dl) == 1) {}
                }
                {
                    const imap_value *c = r->args;
                    imap_u64 x;
                    while (imap_numbers_next(&c, &x) == 1) {}
                    (void)imap_search_modseq(r, &x);
                }
                {
                    /* the seeds' helpers that read a response */
                    imap_tm tm;
                    long long secs;
                    imap_flags_iter fi;
                    imap_str fl;
                    int k = 0;
                    (void)imap_fetch_internaldate(r, &tm, &secs);
                    if (imap_parse_flags(r, &fi) == 0)
                        while (imap_flags_next(&fi, &fl) == 1 && ++k < 100000) {}
                    (void)imap_response_code_arg(r);
                    (void)imap_caps_has(r->args, "IMAP4rev1");
                    (void)imap_fetch_get(r, "BODY[]");
                }
            }
        } else if (rc < 0) {
            if (ne < MAX_EVENTS) ev[ne++] = 0x8000000000000000ull | ((unsigned long long)(-rc) << 48) | p.error_offset;
        }
    }
    if (ne < MAX_EVENTS) ev[ne++] = (unsigned long long)imap_parser_idle(&p);
    return ne;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static unsigned long long ea[MAX_EVENTS], eb[MAX_EVENTS];
    unsigned long long sa = 0, sb = 0;
    size_t cap, threshold;
    unsigned seed;
    int na, nb;
    if (size < 4) return 0;
    cap = 64 + ((size_t)data[0] << 8);          /* 64 B .. 64 KiB */
    threshold = data[1] < 128 ? (size_t)-1 : (size_t)(data[1] - 128) * 8;
    seed = 1u + data[2] + ((unsigned)data[3] << 8);
    data += 4;
    size -= 4;
    na = run(data, size, mem_a, cap, threshold, 0, ea, &sa, seed & 1);
    nb = run(data, size, mem_b, cap, threshold, seed, eb, &sb, seed & 1);
    if (na != nb || memcmp(ea, eb, sizeof ea[0] * (size_t)na) != 0 || sa != sb) abort();
    return 0;
}
