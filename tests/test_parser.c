/* Unit tests of the response parser and the typed views. */
#define IMAP_IMPLEMENTATION
#include "../imap.h"
#include "test.h"

#include <stdlib.h>

static unsigned char arena_mem[1 << 16];

/* Parse exactly one response from a whole string. */
static imap_response *parse1(imap_parser *p, const char *s, size_t n)
{
    size_t used = 0;
    imap_response *r = NULL;
    imap_parser_init(p, arena_mem, sizeof arena_mem);
    if (imap_parser_feed(p, s, n, &used, &r) != IMAP_OK) return NULL;
    return r;
}
#define PARSE(p, lit) parse1((p), (lit), sizeof(lit) - 1)

/* A structural fingerprint of a response (FNV-1a over a walk of it). */
static unsigned long long fp_bytes(unsigned long long h, const void *s, size_t n)
{
    const unsigned char *b = (const unsigned char *)s;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static unsigned long long fingerprint(const imap_response *r)
{
    unsigned long long h = 1469598103934665603ull;
    const imap_value *stack[IMAP_MAX_DEPTH + 2];
    const imap_value *v;
    int depth = 0, k;
    h = fp_bytes(h, &r->kind, sizeof r->kind);
    h = fp_bytes(h, &r->status, sizeof r->status);
    h = fp_bytes(h, r->tag.ptr, r->tag.len);
    h = fp_bytes(h, r->text.ptr, r->text.len);
    for (k = 0; k < 2; k++) {
        v = k == 0 ? r->code : r->items;
        if (k == 0 && v) {           /* walk the code alone */
            h = fp_bytes(h, "[", 1);
            stack[depth++] = NULL;
            v = v->child;
        }
        for (;;) {
            while (!v && depth > 0) {
                v = stack[--depth];
                h = fp_bytes(h, ")", 1);
                if (v) v = v->next;
            }
            if (!v) break;
            h = fp_bytes(h, &v->type, 1);
            h = fp_bytes(h, &v->num, sizeof v->num);
            if (v->str) h = fp_bytes(h, v->str, v->len);
            if (v->type == IMAP_LIST) {
                stack[depth++] = v;
                v = v->child;
                continue;
            }
            v = v->next;
        }
    }
    return h;
}

/* Feed `s` split at the given cut points; collect fingerprints and error
   codes in order. Returns the number of events. */
static int feed_split(const char *s, size_t n, const size_t *cuts, int ncuts,
                      unsigned long long *events, int max)
{
    imap_parser p;
    int ne = 0, c;
    size_t start = 0;
    imap_parser_init(&p, arena_mem, sizeof arena_mem);
    for (c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : n;
        size_t off = start;
        while (off < end) {
            size_t used = 0;
            imap_response *r;
            imap_result rc = imap_parser_feed(&p, s + off, end - off, &used, &r);
            off += used;
            if (rc == IMAP_OK && ne < max) events[ne++] = fingerprint(r);
            else if (rc < 0 && ne < max) events[ne++] = (unsigned long long)(1000 + rc) * 7919u + p.error_offset;
        }
        start = end;
    }
    return ne;
}

static const char stream[] =
    "* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] ready\r\n"
    "* 3 FETCH (UID 7 FLAGS (\\Seen $Junk) BODY[HEADER.FIELDS (FROM)] {13}\r\nFrom: a@b\r\n\r\n"
    " ENVELOPE (\"Mon, 7 Feb 1994\" {5}\r\nhi \"x NIL NIL NIL NIL NIL NIL NIL \"<m@x>\"))\r\n"
    "A1 BAD (\r\n"
    "* LIST (\\HasNoChildren) \"/\" \"a \\\"b\\\" c\"\r\n"
    "* SEARCH 1 2 3\n"
    "* 4 FETCH (BODY[] {0}\r\n)\r\n"
    "+ go ahead\r\n";

TEST(every_two_way_split_is_identical)
{
    unsigned long long whole[16], part[16];
    size_t n = sizeof stream - 1, cut;
    int nw = feed_split(stream, n, NULL, 0, whole, 16);
    CHECK_EQ_INT(nw, 7);
    for (cut = 1; cut < n; cut++) {
        int np = feed_split(stream, n, &cut, 1, part, 16);
        int same = np == nw && memcmp(whole, part, sizeof whole[0] * (size_t)nw) == 0;
        if (!same) printf("    split at %lu differs\n", (unsigned long)cut);
        CHECK(same);
        if (!same) break;
    }
}

TEST(byte_at_a_time_is_identical)
{
    unsigned long long whole[16], part[16];
    size_t n = sizeof stream - 1, cuts[sizeof stream], i;
    int nw, np;
    for (i = 0; i + 1 < n; i++) cuts[i] = i + 1;
    nw = feed_split(stream, n, NULL, 0, whole, 16);
    np = feed_split(stream, n, cuts, (int)(n - 1), part, 16);
    CHECK_EQ_INT(np, nw);
    CHECK(memcmp(whole, part, sizeof whole[0] * (size_t)nw) == 0);
}

TEST(status_responses)
{
    imap_parser p;
    imap_response *r = PARSE(&p, "a001 OK [READ-WRITE] SELECT completed\r\n");
    CHECK(r != NULL);
    if (!r) return;
    CHECK_EQ_INT(r->kind, IMAP_RESP_TAGGED);
    CHECK_EQ_INT(r->status, IMAP_STATUS_OK);
    CHECK_STR(r->tag, "a001");
    CHECK_STR(imap_response_code_name(r), "READ-WRITE");
    CHECK_STR(r->text, "SELECT completed");

    r = PARSE(&p, "* ok [UIDNEXT 4392] Predicted next UID\r\n");
    CHECK(r && r->status == IMAP_STATUS_OK && r->kind == IMAP_RESP_UNTAGGED);
    CHECK(r && imap_response_code_arg(r) && imap_response_code_arg(r)->num == 4392);

    r = PARSE(&p, "* PREAUTH IMAP4rev1 server logged in as Smith\r\n");
    CHECK(r && r->status == IMAP_STATUS_PREAUTH && r->code == NULL);

    r = PARSE(&p, "* BYE\r\n");
    CHECK(r && r->status == IMAP_STATUS_BYE && r->text.len == 0);

    r = PARSE(&p, "+ [ALERT] careful\r\n");
    CHECK(r && r->kind == IMAP_RESP_CONTINUE);
    if (r) {
        CHECK_STR(imap_response_code_name(r), "ALERT");
        CHECK_STR(r->text, "careful");
    }
    /* a status text ending in "{5}" is text, not a literal */
    r = PARSE(&p, "A2 NO no such thing {5}\r\n");
    CHECK(r && r->status == IMAP_STATUS_NO);
    if (r) CHECK_STR(r->text, "no such thing {5}");
}

TEST(tagged_non_status_is_rejected_and_next_parses)
{
    imap_parser p;
    const char s[] = "A1 FOO bar\r\n* 5 EXISTS\r\n";
    size_t used = 0, off;
    imap_response *r;
    imap_result rc;
    imap_parser_init(&p, arena_mem, sizeof arena_mem);
    rc = imap_parser_feed(&p, s, sizeof s - 1, &used, &r);
    CHECK_EQ_INT(rc, IMAP_E_SYNTAX);
    CHECK_EQ_INT(p.error_offset, 3);
    CHECK_STR(p.error_line, "A1 FOO bar");
    off = used;
    rc = imap_parser_feed(&p, s + off, sizeof s - 1 - off, &used, &r);
    CHECK_EQ_INT(rc, IMAP_OK);
    CHECK(r && imap_response_is(r, "EXISTS") && r->number == 5);
}

TEST(smtp_greeting_is_a_clean_error)
{
    imap_parser p;
    size_t used;
    imap_response *r;
    imap_parser_init(&p, arena_mem, sizeof arena_mem);
    CHECK_EQ_INT(imap_parser_feed(&p, "421 busy\r\n", 10, &used, &r), IMAP_E_SYNTAX);
}

TEST(response_too_large_is_skipped)
{
    static unsigned char small[256];
    imap_parser p;
    char s[400];
    size_t n, used, off = 0, list_at;
    imap_response *r;
    imap_result rc;
    int i, ok = 0, nomem = 0;
    n = (size_t)sprintf(s, "* SEARCH");
    for (i = 0; i < 40; i++) n += (size_t)sprintf(s + n, " %d", 1000 + i);
    n += (size_t)sprintf(s + n, "\r\n* 1 EXISTS\r\n");
    list_at = n;
    n += (size_t)sprintf(s + n, "* LIST () \"/\" {100}\r\n");
    for (i = 0; i < 100; i++) s[n++] = 'x';
    n += (size_t)sprintf(s + n, "\r\n* 2 EXISTS\r\n");
    imap_parser_init(&p, small, sizeof small);
    while (off < n) {
        rc = imap_parser_feed(&p, s + off, n - off, &used, &r);
        off += used;
        if (rc == IMAP_OK) {
            CHECK(imap_response_is(r, "EXISTS"));
            ok++;
        } else if (rc == IMAP_E_NOMEM) {
            CHECK_EQ_INT(p.error_offset, nomem == 0 ? 0 : list_at);
            nomem++;
        }
    }
    CHECK_EQ_INT(ok, 2);
    CHECK_EQ_INT(nomem, 2);
    CHECK(imap_parser_high_water(&p) > sizeof small);
}

TEST(limits)
{
    imap_parser p;
    char s[600];
    size_t used, n = 0;
    imap_response *r;
    int i;
    /* literal over the limit */
    imap_parser_init(&p, arena_mem, sizeof arena_mem);
    p.max_literal = 10;
    CHECK_EQ_INT(imap_parser_feed(&p, "* 1 FETCH (BODY[] {11}\r\n", 24, &used, &r), IMAP_E_LIMIT);
    /* 2^64 does not frame: reported, and the next line parses */
    imap_parser_init(&p, arena_mem, sizeof arena_mem);
    {
        const char t[] = "* 1 FETCH (BODY[] {18446744073709551616}\r\n* 3 EXISTS\r\n";
        size_t off = 0;
        CHECK_EQ_INT(imap_parser_feed(&p, t, sizeof t - 1, &used, &r), IMAP_E_LIMIT);
        off += used;
        CHECK_EQ_INT(imap_parser_feed(&p, t + off, sizeof t - 1 - off, &used, &r), IMAP_OK);
    }
    /* nesting deeper than IMAP_MAX_DEPTH */
    n = (size_t)sprintf(s, "* X ");
    for (i = 0; i < 100; i++) s[n++] = '(';
    for (i = 0; i < 100; i++) s[n++] = ')';
    s[n++] = '\r';
    s[n++] = '\n';
    imap_parser_init(&p, arena_mem, sizeof arena_mem);
    CHECK_EQ_INT(imap_parser_feed(&p, s, n, &used, &r), IMAP_E_LIMIT);
    /* line limit */
    imap_parser_init(&p, arena_mem, sizeof arena_mem);
    p.max_line = 16;
    CHECK_EQ_INT(imap_parser_feed(&p, "* SEARCH 1 2 3 4 5 6 7\r\n", 24, &used, &r), IMAP_E_LIMIT);
    /* a number over 64 bits stays an atom */
    r = PARSE(&p, "* SEARCH 18446744073709551616 18446744073709551615\r\n");
    CHECK(r && r->args && r->args->type == IMAP_ATOM);
    CHECK(r && r->args && r->args->next->type == IMAP_NUMBER &&
          r->args->next->num == 18446744073709551615ull);
}

typedef struct sink_log {
    char item[64];
    unsigned long long msgno, total;
    size_t got;
    int calls, last_index;
} sink_log;

static int log_sink(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    sink_log *l = (sink_log *)ctx;
    (void)data;
    if (info->item.len < sizeof l->item) {
        memcpy(l->item, info->item.ptr, info->item.len);
        l->item[info->item.len] = 0;
    }
    if (info->offset != l->got) return 1;
    l->msgno = info->msgno;
    l->total = info->total;
    l->got += len;
    l->calls++;
    l->last_index = (int)info->index;
    return 0;
}

TEST(literal_sink_gets_context_and_all_bytes)
{
    static unsigned char small[1024];
    static char s[20000];
    imap_parser p;
    sink_log log;
    size_t n, used, off = 0;
    imap_response *r = NULL;
    imap_result rc = IMAP_MORE;
    const imap_value *body;
    memset(&log, 0, sizeof log);
    n = (size_t)sprintf(s, "* 42 FETCH (UID 9 BODY[1.2]<0> {10000}\r\n");
    memset(s + n, 'q', 10000);
    n += 10000;
    n += (size_t)sprintf(s + n, " FLAGS (\\Seen))\r\n");
    imap_parser_init(&p, small, sizeof small);
    imap_parser_set_sink(&p, 100, log_sink, &log);
    while (off < n) {           /* in 333-byte chunks */
        size_t k = n - off < 333 ? n - off : 333;
        rc = imap_parser_feed(&p, s + off, k, &used, &r);
        off += used;
        if (rc != IMAP_MORE) break;
    }
    CHECK_EQ_INT(rc, IMAP_OK);
    CHECK_EQ_INT(log.got, 10000);
    CHECK_EQ_INT(log.total, 10000);
    CHECK_EQ_INT(log.msgno, 42);
    CHECK(strcmp(log.item, "BODY[1.2]<0>") == 0);
    CHECK(log.calls > 1);
    body = r ? imap_fetch_get(r, "BODY[1.2]<0>") : NULL;
    CHECK(body && (body->flags & IMAP_VF_SUNK) && body->len == 10000 && body->str == NULL);
    CHECK(r && imap_fetch_get(r, "FLAGS") != NULL);
    CHECK(imap_parser_high_water(&p) < 1024);
}

/* A value whose bytes went to the sink has none to give: the decoders
   say so rather than read 10 bytes from nowhere (fuzz_parser found
   INTERNALDATE sent as a literal over the threshold reading past ""). */
TEST(sunk_literal_values_have_no_bytes)
{
    static unsigned char buf[1024];
    static const char s[] =
        "* 3 FETCH (INTERNALDATE {26}\r\n17-Jul-1996 02:44:25 -0700 UID 5)\r\n";
    imap_parser p;
    sink_log log;
    size_t used;
    imap_response *r = NULL;
    imap_str str;
    imap_tm tm;
    memset(&log, 0, sizeof log);
    imap_parser_init(&p, buf, sizeof buf);
    imap_parser_set_sink(&p, 10, log_sink, &log);
    CHECK_EQ_INT(imap_parser_feed(&p, s, sizeof s - 1, &used, &r), IMAP_OK);
    CHECK_EQ_INT(log.got, 26);
    CHECK(r != NULL);
    if (!r) return;
    str.ptr = "x";
    CHECK_EQ_INT(imap_value_str(imap_fetch_get(r, "INTERNALDATE"), &str), IMAP_E_SINK);
    CHECK(str.ptr == NULL && str.len == 0);
    CHECK_EQ_INT(imap_fetch_internaldate(r, &tm, NULL), IMAP_E_SYNTAX);
    CHECK(imap_fetch_get(r, "UID") && imap_fetch_get(r, "UID")->num == 5);
    /* under the threshold the same response decodes */
    imap_parser_init(&p, buf, sizeof buf);
    CHECK_EQ_INT(imap_parser_feed(&p, s, sizeof s - 1, &used, &r), IMAP_OK);
    CHECK_EQ_INT(imap_fetch_internaldate(r, &tm, NULL), IMAP_OK);
    CHECK_EQ_INT(tm.year, 1996);
}

TEST(fetch_attributes_and_sections)
{
    imap_parser p;
    imap_fetch_iter it;
    imap_fetch_attr a;
    int n = 0;
    imap_response *r = PARSE(&p,
        "* 12 FETCH (UID 4827313 BODY[HEADER.FIELDS (DATE FROM)]<10> {3}\r\nabc"
        " RFC822.SIZE 44827 BINARY.SIZE[1] 77 X-GM-LABELS (\\Inbox \"a b\") MODSEQ (12121231000))\r\n");
    CHECK(r != NULL);
    if (!r) return;
    CHECK(imap_response_is(r, "fetch"));
    CHECK_EQ_INT(r->number, 12);
    CHECK_EQ_INT(imap_fetch_begin(r, &it), 0);
    while (imap_fetch_next(&it, &a) == 1) {
        n++;
        if (imap_str_is(a.name, "BODY")) {
            CHECK(a.has_section && a.has_origin && a.origin == 10);
            CHECK_STR(a.section, "HEADER.FIELDS (DATE FROM)");
            CHECK(a.value->type == IMAP_STRING && a.value->len == 3);
        }
        if (imap_str_is(a.name, "BINARY.SIZE")) {
            CHECK_STR(a.section, "1");
            CHECK(a.value->num == 77);
        }
    }
    CHECK_EQ_INT(n, 6);
    CHECK(imap_fetch_get(r, "x-gm-labels") && imap_fetch_get(r, "X-GM-LABELS")->count == 2);
    CHECK(imap_list_at(imap_fetch_get(r, "MODSEQ"), 0)->num == 12121231000ull);
}

TEST(envelope_with_groups)
{
    imap_parser p;
    imap_envelope e;
    imap_address a;
    const imap_value *cur;
    int n = 0, groups = 0, ends = 0;
    imap_response *r = PARSE(&p,
        "* 2 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
        "\"IMAP4rev1 WG mtg summary\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
        "NIL NIL ((NIL NIL \"imap\" \"cac.washington.edu\")) "
        "((NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL)) NIL NIL \"<B27397-0100000@cac.washington.edu>\"))\r\n");
    CHECK(r != NULL);
    if (!r) return;
    CHECK_EQ_INT(imap_envelope_decode(imap_fetch_get(r, "ENVELOPE"), &e), 0);
    CHECK_STR(e.subject, "IMAP4rev1 WG mtg summary");
    CHECK(e.in_reply_to.ptr == NULL);
    CHECK_STR(e.message_id, "<B27397-0100000@cac.washington.edu>");
    cur = e.from;
    while (imap_address_next(&cur, &a) == 1) {
        n++;
        CHECK_STR(a.name, "Terry Gray");
        CHECK_STR(a.host, "cac.washington.edu");
    }
    CHECK_EQ_INT(n, 1);
    cur = e.cc;
    while (imap_address_next(&cur, &a) == 1) {
        groups += a.group_start;
        ends += a.group_end;
    }
    CHECK_EQ_INT(groups, 1);
    CHECK_EQ_INT(ends, 1);
    cur = e.bcc;
    CHECK_EQ_INT(imap_address_next(&cur, &a), 0);
}

TEST(bodystructure_nested)
{
    imap_parser p;
    imap_body b, part, inner;
    const imap_value *v, *pc;
    imap_str k, val;
    int nparams = 0;
    imap_response *r = PARSE(&p,
        "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"FORMAT\" \"flowed\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)"
        "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 900 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) "
        "(\"TEXT\" \"HTML\" NIL NIL NIL \"QUOTED-PRINTABLE\" 12.5 3) 40)"
        "(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 4554 NIL (\"attachment\" (\"filename\" \"a.pdf\")) (\"en\" \"de\") \"loc\" \"x-ext\")"
        " \"MIXED\" (\"BOUNDARY\" NIL) NIL NIL))\r\n");
    CHECK(r != NULL);
    if (!r) return;
    CHECK_EQ_INT(imap_body_decode(imap_fetch_get(r, "BODYSTRUCTURE"), &b), 0);
    CHECK(b.multipart);
    CHECK_EQ_INT(b.nparts, 3);
    CHECK_STR(b.subtype, "MIXED");
    v = b.parts;
    CHECK_EQ_INT(imap_body_decode(v, &part), 0);
    CHECK_STR(part.type, "TEXT");
    CHECK(part.size == 1152 && part.has_lines && part.lines == 23);
    pc = part.params;
    while (imap_param_next(&pc, &k, &val) == 1) nparams++;
    CHECK_EQ_INT(nparams, 2);
    v = v->next;
    CHECK_EQ_INT(imap_body_decode(v, &part), 0);
    CHECK(part.envelope && part.body && part.lines == 40);
    CHECK_EQ_INT(imap_body_decode(part.body, &inner), 0);
    CHECK_STR(inner.subtype, "HTML");
    CHECK(inner.size == 0 && inner.lines == 3);   /* 12.5 kept as atom */
    v = v->next;
    CHECK_EQ_INT(imap_body_decode(v, &part), 0);
    CHECK_STR(part.disposition, "attachment");
    CHECK(part.language && part.language->count == 2);
    CHECK_STR(part.location, "loc");
    CHECK(part.extension && imap_value_is(part.extension, "x-ext"));
    /* a NIL boundary value is tolerated */
    pc = b.params;
    CHECK_EQ_INT(imap_param_next(&pc, &k, &val), 1);
    CHECK(val.ptr == NULL);
}

TEST(list_status_search_esearch_namespace)
{
    imap_parser p;
    imap_list_info li;
    imap_status_info st;
    imap_esearch es;
    imap_namespace_info ns;
    imap_u64 n, sum = 0;
    imap_str prefix;
    int delim;
    const imap_value *cur;
    imap_response *r;

    r = PARSE(&p, "* LIST (\\HasNoChildren \\Sent) \"/\" {9}\r\nSent Mail (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n");
    CHECK(r && imap_list_decode(r, &li) == 0);
    CHECK(li.delimiter == '/');
    CHECK_STR(li.mailbox, "Sent Mail");
    CHECK(imap_flags_has(li.attributes, "\\sent"));
    CHECK(li.extended && li.extended->type == IMAP_LIST);

    r = PARSE(&p, "* LSUB () NIL INBOX\r\n");
    CHECK(r && imap_list_decode(r, &li) == 0 && li.delimiter == -1);

    r = PARSE(&p, "* STATUS \"blurdy bloop\" (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777)\r\n");
    CHECK(r && imap_status_decode(r, &st) == 0);
    CHECK_STR(st.mailbox, "blurdy bloop");
    CHECK(st.messages == 231 && st.uidnext == 44292 && st.highestmodseq == 7011231777ull);
    CHECK_EQ_INT(st.has, IMAP_ST_MESSAGES | IMAP_ST_UIDNEXT | IMAP_ST_HIGHESTMODSEQ);

    r = PARSE(&p, "* SEARCH 2 5 6 (MODSEQ 917162500)\r\n");
    CHECK(r != NULL);
    cur = r ? r->args : NULL;
    while (imap_numbers_next(&cur, &n) == 1) sum += n;
    CHECK(sum == 13);
    CHECK(r && imap_search_modseq(r, &n) == 0 && n == 917162500);

    r = PARSE(&p, "* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3 ALL 2,10:11\r\n");
    CHECK(r && imap_esearch_decode(r, &es) == 0);
    CHECK_STR(es.tag, "A282");
    CHECK(es.uid && es.min == 2 && es.count == 3);
    CHECK_STR(es.all, "2,10:11");

    r = PARSE(&p, "* NAMESPACE ((\"\" \"/\")(\"~\" NIL)) NIL ((\"#shared/\" \"/\"))\r\n");
    CHECK(r && imap_namespace_decode(r, &ns) == 0);
    cur = ns.personal;
    CHECK_EQ_INT(imap_namespace_next(&cur, &prefix, &delim), 1);
    CHECK(prefix.len == 0 && delim == '/');
    CHECK_EQ_INT(imap_namespace_next(&cur, &prefix, &delim), 1);
    CHECK(delim == -1);
    CHECK_EQ_INT(imap_namespace_next(&cur, &prefix, &delim), 0);
    cur = ns.other;
    CHECK_EQ_INT(imap_namespace_next(&cur, &prefix, &delim), 0);
}

TEST(capability_and_codes)
{
    imap_parser p;
    imap_response *r = PARSE(&p, "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN idle\r\n");
    CHECK(r && imap_caps_has(r->args, "IDLE") && imap_caps_has(r->args, "auth=plain"));
    CHECK(r && !imap_caps_has(r->args, "AUTH"));
    r = PARSE(&p, "A3 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
    CHECK(r && imap_list_at(r->code, 2) && imap_value_is(imap_list_at(r->code, 2), "304,319:320"));
    r = PARSE(&p, "* OK [XWEIRD a \"b] text\r\n");
    CHECK(r && r->code && r->code->count == 2 && r->code->child->next->type == IMAP_STRING);
    r = PARSE(&p, "* NO [unterminated text\r\n");
    CHECK(r && r->code == NULL);
    if (r) CHECK_STR(r->text, "[unterminated text");
}

TEST(quoted_escapes_and_bare_lf)
{
    imap_parser p;
    imap_str s;
    imap_response *r = PARSE(&p, "* LIST () \"\\\\\" \"a\\\"b\\\\c\\d\"\n");
    CHECK(r != NULL);
    if (!r) return;
    CHECK(imap_value_str(imap_list_at(NULL, 0), &s) != 0);
    CHECK(imap_value_str(r->args->next, &s) == 0 && s.len == 1 && s.ptr[0] == '\\');
    CHECK(imap_value_str(r->args->next->next, &s) == 0);
    CHECK_STR(s, "a\"b\\c\\d");
}

TEST(arena_accounting)
{
    unsigned char mem[64];
    imap_arena a;
    void *x;
    imap_arena_init(&a, mem, sizeof mem);
    x = imap_arena_alloc(&a, 40, 8);
    CHECK(x != NULL);
    CHECK(imap_arena_alloc(&a, 40, 8) == NULL);
    CHECK(a.needed >= 80);
    imap_arena_release(&a, 0);
    CHECK(imap_arena_alloc(&a, 64, 1) != NULL);
    CHECK_EQ_INT(a.high, 64);
    CHECK(imap_arena_alloc(&a, (size_t)-1, 1) == NULL);
}

TEST(result_names_and_classes)
{
    CHECK(strcmp(imap_result_name(IMAP_E_SYNTAX), "E_SYNTAX") == 0);
    CHECK(strcmp(imap_result_name(12345), "?") == 0);
    CHECK_EQ_INT(imap_result_class_of(IMAP_E_BYE), IMAP_CLASS_ABORT);
    CHECK_EQ_INT(imap_result_class_of(IMAP_E_READONLY), IMAP_CLASS_READONLY);
    CHECK_EQ_INT(imap_result_class_of(IMAP_E_NO), IMAP_CLASS_ERROR);
    CHECK_EQ_INT(imap_result_class_of(IMAP_OK), IMAP_CLASS_NONE);
}

typedef struct num_log {
    unsigned long long count, sum, ranges;
    char name[16];
} num_log;

static int log_numbers(void *ctx, imap_str name, imap_u64 lo, imap_u64 hi)
{
    num_log *l = (num_log *)ctx;
    if (name.len < sizeof l->name) {
        memcpy(l->name, name.ptr, name.len);
        l->name[name.len] = 0;
    }
    l->ranges++;
    l->count += hi - lo + 1;
    l->sum += lo + hi;
    return 0;
}

/* Feed s in chunks of `chunk` bytes; return the responses' count. */
static int feed_numbers(imap_parser *p, const char *s, size_t n, size_t chunk,
                        imap_response **last)
{
    size_t off = 0;
    int got = 0;
    while (off < n) {
        size_t used, k = n - off < chunk ? n - off : chunk;
        imap_response *r;
        imap_result rc = imap_parser_feed(p, s + off, k, &used, &r);
        off += used;
        if (rc == IMAP_OK) {
            got++;
            *last = r;
        } else if (rc < 0) {
            got += 1000;
        }
    }
    return got;
}

TEST(million_number_search_streams_in_a_small_arena)
{
    static unsigned char small[2048];
    static char s[8000000];
    size_t n = 0, chunks[3] = { 1, 4093, 65536 };
    int i, c;
    imap_parser p;
    num_log log;
    imap_response *r = NULL;
    unsigned long long want_sum = 0;
    n += (size_t)sprintf(s, "* SEARCH");
    for (i = 1; i <= 1000000; i++) {
        n += (size_t)sprintf(s + n, " %d", i * 3);
        want_sum += 2ull * (unsigned long long)i * 3;
    }
    n += (size_t)sprintf(s + n, " (MODSEQ 917162500)\r\n");
    for (c = 0; c < 3; c++) {
        memset(&log, 0, sizeof log);
        imap_parser_init(&p, small, sizeof small);
        imap_parser_set_number_sink(&p, log_numbers, &log);
        CHECK_EQ_INT(feed_numbers(&p, s, n, chunks[c], &r), 1);
        CHECK(log.count == 1000000 && log.sum == want_sum);
        CHECK(strcmp(log.name, "SEARCH") == 0);
        CHECK(r && imap_response_is(r, "SEARCH"));
        {
            imap_u64 m = 0;
            CHECK(r && imap_search_modseq(r, &m) == 0 && m == 917162500);
        }
        CHECK(imap_parser_high_water(&p) < 512);
    }
}

TEST(esearch_and_vanished_sets_stream)
{
    static unsigned char small[1024];
    imap_parser p;
    num_log log;
    imap_response *r = NULL;
    imap_esearch es;
    const char t1[] = "* ESEARCH (TAG \"A 1\") UID MIN 2 ALL 2,10:11,20:15 COUNT 10\r\n";
    const char t2[] = "* VANISHED (EARLIER) 300:310,405,411\r\n* 3 EXISTS\r\n";
    const char t3[] = "* SORT 5 4 3\r\n* SEARCH\r\n* SEARCH 12abc\r\n* SEARCH 1\r\n";
    size_t chunk;
    for (chunk = 1; chunk < 80; chunk += 13) {
        memset(&log, 0, sizeof log);
        imap_parser_init(&p, small, sizeof small);
        imap_parser_set_number_sink(&p, log_numbers, &log);
        CHECK_EQ_INT(feed_numbers(&p, t1, sizeof t1 - 1, chunk, &r), 1);
        CHECK(log.ranges == 3 && log.count == 1 + 2 + 6);
        CHECK(r && imap_esearch_decode(r, &es) == 0);
        CHECK_STR(es.tag, "A 1");
        CHECK(es.min == 2 && es.count == 10 && (es.has & IMAP_ES_ALL) && es.all.ptr == NULL);
        memset(&log, 0, sizeof log);
        CHECK_EQ_INT(feed_numbers(&p, t2, sizeof t2 - 1, chunk, &r), 2);
        CHECK(log.count == 13 && strcmp(log.name, "VANISHED") == 0);
        memset(&log, 0, sizeof log);
        /* a malformed number token rejects its response; the next parses */
        CHECK_EQ_INT(feed_numbers(&p, t3, sizeof t3 - 1, chunk, &r), 1003);
        CHECK(log.count >= 4);
    }
    /* without a number sink the numbers stay in the tree */
    imap_parser_init(&p, small, sizeof small);
    CHECK_EQ_INT(feed_numbers(&p, t2, sizeof t2 - 1, 7, &r), 2);
}

int main(void)
{
    RUN(every_two_way_split_is_identical);
    RUN(byte_at_a_time_is_identical);
    RUN(status_responses);
    RUN(tagged_non_status_is_rejected_and_next_parses);
    RUN(smtp_greeting_is_a_clean_error);
    RUN(response_too_large_is_skipped);
    RUN(limits);
    RUN(literal_sink_gets_context_and_all_bytes);
    RUN(sunk_literal_values_have_no_bytes);
    RUN(fetch_attributes_and_sections);
    RUN(envelope_with_groups);
    RUN(bodystructure_nested);
    RUN(list_status_search_esearch_namespace);
    RUN(capability_and_codes);
    RUN(quoted_escapes_and_bare_lf);
    RUN(arena_accounting);
    RUN(result_names_and_classes);
    RUN(million_number_search_streams_in_a_small_arena);
    RUN(esearch_and_vanished_sets_stream);
    return test_summary();
}
