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

typedef struct stats {
    unsigned long long responses, tagged_ok, errors, nomem;
    unsigned long long fetches, attrs, envelopes, addrs, groups, parts, params;
    unsigned long long mailboxes, flags, statuses, numbers, literal_bytes, sunk_bytes;
    unsigned long long check;       /* folds decoded values so nothing is optimised away */
    int last_error;
} stats;

#define BODY_STACK 64

static void walk_params(const imap_value *list, stats *st)
{
    const imap_value *cur = list;
    imap_str n, v;
    while (imap_param_next(&cur, &n, &v) == 1) {
        st->params++;
        st->check += n.len + v.len;
    }
}

static void walk_addresses(const imap_value *list, stats *st)
{
    const imap_value *cur = list;
    imap_address a;
    int rc;
    while ((rc = imap_address_next(&cur, &a)) == 1) {
        st->addrs++;
        st->groups += (unsigned)a.group_start;
        st->check += a.name.len + a.mailbox.len + a.host.len;
    }
    if (rc < 0) st->errors++;
}

static void walk_envelope(const imap_value *v, stats *st)
{
    imap_envelope e;
    if (imap_envelope_decode(v, &e) != 0) {
        st->errors++;
        return;
    }
    st->envelopes++;
    st->check += e.date.len + e.subject.len + e.message_id.len + e.in_reply_to.len;
    walk_addresses(e.from, st);
    walk_addresses(e.sender, st);
    walk_addresses(e.reply_to, st);
    walk_addresses(e.to, st);
    walk_addresses(e.cc, st);
    walk_addresses(e.bcc, st);
}

/* BODYSTRUCTURE: an explicit stack of parts still to decode, no recursion. */
static void walk_body(const imap_value *root, stats *st)
{
    const imap_value *stack[BODY_STACK];
    int sp = 0;
    stack[sp++] = root;
    while (sp > 0) {
        imap_body b;
        const imap_value *c;
        if (imap_body_decode(stack[--sp], &b) != 0) {
            st->errors++;
            continue;
        }
        st->parts++;
        st->check += b.type.len + b.subtype.len + b.encoding.len + b.size + b.lines +
                     b.id.len + b.description.len + b.disposition.len + b.location.len;
        walk_params(b.params, st);
        walk_params(b.disposition_params, st);
        if (b.language && b.language->type == IMAP_LIST)
            for (c = b.language->child; c; c = c->next) st->check += c->len;
        else if (b.language)
            st->check += b.language->len;
        if (b.multipart) {
            for (c = b.parts; c && c->type == IMAP_LIST; c = c->next) {
                if (sp == BODY_STACK) { st->errors++; break; }
                stack[sp++] = c;
            }
        } else if (b.body) {
            walk_envelope(b.envelope, st);
            if (sp < BODY_STACK) stack[sp++] = b.body;
        }
    }
}

static void walk_fetch(const imap_response *r, stats *st)
{
    imap_fetch_iter it;
    imap_fetch_attr a;
    int rc;
    if (imap_fetch_begin(r, &it) != 0) {
        st->errors++;
        return;
    }
    st->fetches++;
    st->check += r->number;
    while ((rc = imap_fetch_next(&it, &a)) == 1) {
        const imap_value *v = a.value;
        imap_u64 n;
        imap_str s;
        st->attrs++;
        if (imap_str_is(a.name, "UID") || imap_str_is(a.name, "RFC822.SIZE")) {
            if (imap_value_u64(v, &n) == 0) st->check += n;
            else st->errors++;
        } else if (imap_str_is(a.name, "FLAGS")) {
            const imap_value *f;
            for (f = v->child; f; f = f->next) {
                st->flags++;
                st->check += f->len;
            }
        } else if (imap_str_is(a.name, "ENVELOPE")) {
            walk_envelope(v, st);
        } else if (imap_str_is(a.name, "BODYSTRUCTURE") ||
                   (imap_str_is(a.name, "BODY") && !a.has_section)) {
            walk_body(v, st);
        } else if (imap_value_str(v, &s) == 0) {
            /* INTERNALDATE, BODY[...]: a string, a literal, or a sunk literal
               (whose bytes the sink already counted) */
            st->check += s.len + v->len;
            if ((v->flags & (IMAP_VF_LITERAL | IMAP_VF_SUNK)) == IMAP_VF_LITERAL)
                st->literal_bytes += s.len;
        }
    }
    if (rc < 0) st->errors++;
}

static void on_response(const imap_response *r, stats *st)
{
    st->responses++;
    if (r->kind == IMAP_RESP_TAGGED) {
        if (r->status == IMAP_STATUS_OK) st->tagged_ok++;
        return;
    }
    if (r->kind != IMAP_RESP_UNTAGGED || r->status != IMAP_STATUS_NONE) return;
    if (imap_response_is(r, "FETCH")) {
        walk_fetch(r, st);
    } else if (imap_response_is(r, "LIST")) {
        imap_list_info li;
        const imap_value *f;
        if (imap_list_decode(r, &li) != 0) { st->errors++; return; }
        st->mailboxes++;
        st->check += li.mailbox.len + (unsigned)li.delimiter;
        for (f = li.attributes->child; f; f = f->next) {
            st->flags++;
            st->check += f->len;
        }
    } else if (imap_response_is(r, "STATUS")) {
        imap_status_info si;
        if (imap_status_decode(r, &si) != 0) { st->errors++; return; }
        st->statuses++;
        st->check += si.mailbox.len + si.messages + si.unseen + si.uidnext +
                     si.uidvalidity + si.highestmodseq;
    } else if (imap_response_is(r, "SEARCH") || imap_response_is(r, "SORT")) {
        const imap_value *cur = r->args;
        imap_u64 n;
        while (imap_numbers_next(&cur, &n) == 1) {
            st->numbers++;
            st->check += n;
        }
    } else if (imap_response_is(r, "ESEARCH")) {
        imap_esearch es;
        if (imap_esearch_decode(r, &es) != 0) { st->errors++; return; }
        st->numbers += es.count;
        st->check += es.all.len;
    } else if (imap_response_is(r, "VANISHED")) {
        const imap_value *v = r->args;
        imap_str s;
        if (v && v->type == IMAP_LIST) v = v->next;     /* (EARLIER) */
        if (!v) return;                 /* the set went to the number sink */
        if (imap_value_str(v, &s) != 0) { st->errors++; return; }
        st->check += s.len;
    }
}

static int sink(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    stats *st = (stats *)ctx;
    (void)data;
    st->sunk_bytes += len;
    st->check += info->offset;
    return 0;
}

/* Numbers of SEARCH/SORT/ESEARCH ALL/VANISHED arrive here as they are
   read, so the big-list corpora parse in a small arena. */
static int numsink(void *ctx, imap_str name, imap_u64 lo, imap_u64 hi)
{
    stats *st = (stats *)ctx;
    if (imap_str_is(name, "SEARCH") || imap_str_is(name, "SORT"))
        st->numbers += hi - lo + 1;
    st->check += lo + hi;
    return 0;
}

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
