/* libetpan's IMAP response parser on an in-memory corpus.

   cc -O2 tests/bench/bench_etpan.c -o bench_etpan -letpan   (run.sh does this)

   bench_etpan --corpus F [--chunk 64K] [--kept 1] [--min-time S | --passes N]

   The parser is libetpan's own: mailimap_read_line + mailimap_parse_response,
   the calls its mailimap_fetch/list/search/status make, over a mailstream whose
   low-level driver (mailstream_low_driver: read/write/close/get_fd/free/
   cancel/get_cancel) hands out the corpus from memory, at most --chunk bytes
   per read, as a socket would. mailimap_parse_response reads every response
   up to the tagged one (that is how libetpan works: one call per command)
   and leaves the decoded data in session->imap_response_info, where the
   command functions pick it up; we walk it the way the imap.h harness walks
   its typed views (same counters, so run.sh can check both parsers saw the
   same corpus), then free it. Parse + walk is timed; the free is timed
   apart (secs_free) and not counted in MB/s, which favours libetpan.

   By default libetpan streams, which is its fastest and leanest mode and so
   the fair opponent: mailimap_set_msg_att_handler gets each FETCH's decoded
   attributes as soon as they are parsed (libetpan frees them when the
   handler returns), and mailimap_set_msg_body_handler gets body literals as
   they arrive instead of keeping them (its analogue of imap.h's literal
   sink). libetpan only passes the msg_att handler down when a progress
   callback is set (seen in mailimap_parse_response), so a no-op one is.
   --kept 1 sets no handlers: every response of the command is kept in one
   list and handed over at the end, as mailimap_fetch does; the row
   "libetpan-kept" in the report. LIST, STATUS and SEARCH have no streaming
   mode in libetpan: both settings keep them. */
#include "bench_common.h"
#include <libetpan/libetpan.h>

typedef struct stats {
    unsigned long long responses, tagged_ok, errors;
    unsigned long long fetches, attrs, envelopes, addrs, groups, parts, params;
    unsigned long long mailboxes, flags, statuses, numbers, literal_bytes, sunk_bytes;
    unsigned long long check;
} stats;

/* ---- the in-memory low-level driver ---------------------------------- */

typedef struct memsrc {
    const unsigned char *buf;
    size_t len, off, chunk;
} memsrc;

static ssize_t mem_read(mailstream_low *s, void *buf, size_t count)
{
    memsrc *m = (memsrc *)s->data;
    size_t n = m->len - m->off;
    if (n > count) n = count;
    if (n > m->chunk) n = m->chunk;
    memcpy(buf, m->buf + m->off, n);
    m->off += n;
    return (ssize_t)n;                  /* 0 at the end: EOF */
}

static ssize_t mem_write(mailstream_low *s, const void *buf, size_t count)
{
    (void)s;
    (void)buf;
    return (ssize_t)count;
}

static int mem_close(mailstream_low *s) { (void)s; return 0; }
static int mem_get_fd(mailstream_low *s) { (void)s; return -1; }
static void mem_free(mailstream_low *s) { free(s); }
static void mem_cancel(mailstream_low *s) { (void)s; }
static struct mailstream_cancel *mem_get_cancel(mailstream_low *s) { (void)s; return NULL; }

static mailstream_low_driver mem_driver = {
    mem_read, mem_write, mem_close, mem_get_fd, mem_free, mem_cancel, mem_get_cancel,
    NULL, NULL, NULL, NULL
};

/* ---- walking libetpan's structures -------------------------------------- */

static void walk_params(struct mailimap_body_fld_param *p, stats *st)
{
    clistiter *it;
    if (!p || !p->pa_list) return;
    for (it = clist_begin(p->pa_list); it; it = clist_next(it)) {
        struct mailimap_single_body_fld_param *sp = clist_content(it);
        st->params++;
        st->check += strlen(sp->pa_name) + strlen(sp->pa_value);
    }
}

static void walk_addrs(clist *l, stats *st)
{
    clistiter *it;
    if (!l) return;
    for (it = clist_begin(l); it; it = clist_next(it)) {
        struct mailimap_address *a = clist_content(it);
        st->addrs++;
        if (!a->ad_host_name && a->ad_mailbox_name) st->groups++;
        st->check += (a->ad_personal_name ? strlen(a->ad_personal_name) : 0) +
                     (a->ad_mailbox_name ? strlen(a->ad_mailbox_name) : 0) +
                     (a->ad_host_name ? strlen(a->ad_host_name) : 0);
    }
}

static void walk_envelope(struct mailimap_envelope *e, stats *st)
{
    if (!e) { st->errors++; return; }
    st->envelopes++;
    st->check += (e->env_date ? strlen(e->env_date) : 0) +
                 (e->env_subject ? strlen(e->env_subject) : 0) +
                 (e->env_message_id ? strlen(e->env_message_id) : 0) +
                 (e->env_in_reply_to ? strlen(e->env_in_reply_to) : 0);
    if (e->env_from) walk_addrs(e->env_from->frm_list, st);
    if (e->env_sender) walk_addrs(e->env_sender->snd_list, st);
    if (e->env_reply_to) walk_addrs(e->env_reply_to->rt_list, st);
    if (e->env_to) walk_addrs(e->env_to->to_list, st);
    if (e->env_cc) walk_addrs(e->env_cc->cc_list, st);
    if (e->env_bcc) walk_addrs(e->env_bcc->bcc_list, st);
}

static void walk_fields(struct mailimap_body_fields *f, stats *st)
{
    if (!f) return;
    walk_params(f->bd_parameter, st);
    st->check += f->bd_size;
}

static void walk_dsp(struct mailimap_body_fld_dsp *d, stats *st)
{
    if (!d) return;
    st->check += strlen(d->dsp_type);
    walk_params(d->dsp_attributes, st);
}

static void walk_body(struct mailimap_body *root, stats *st)
{
    struct mailimap_body *stack[64];
    int sp = 0;
    stack[sp++] = root;
    while (sp > 0) {
        struct mailimap_body *b = stack[--sp];
        st->parts++;
        if (b->bd_type == MAILIMAP_BODY_1PART) {
            struct mailimap_body_type_1part *p = b->bd_data.bd_body_1part;
            if (p->bd_type == MAILIMAP_BODY_TYPE_1PART_BASIC) {
                walk_fields(p->bd_data.bd_type_basic->bd_fields, st);
            } else if (p->bd_type == MAILIMAP_BODY_TYPE_1PART_TEXT) {
                walk_fields(p->bd_data.bd_type_text->bd_fields, st);
                st->check += p->bd_data.bd_type_text->bd_lines;
            } else if (p->bd_type == MAILIMAP_BODY_TYPE_1PART_MSG) {
                walk_fields(p->bd_data.bd_type_msg->bd_fields, st);
                walk_envelope(p->bd_data.bd_type_msg->bd_envelope, st);
                if (sp < 64) stack[sp++] = p->bd_data.bd_type_msg->bd_body;
            }
            if (p->bd_ext_1part) walk_dsp(p->bd_ext_1part->bd_disposition, st);
        } else {
            struct mailimap_body_type_mpart *m = b->bd_data.bd_body_mpart;
            clistiter *it;
            for (it = clist_begin(m->bd_list); it; it = clist_next(it))
                if (sp < 64) stack[sp++] = clist_content(it);
            if (m->bd_ext_mpart) {
                walk_params(m->bd_ext_mpart->bd_parameter, st);
                walk_dsp(m->bd_ext_mpart->bd_disposition, st);
            }
        }
    }
}

static void walk_msg_att(struct mailimap_msg_att *ma, stats *st)
{
    clistiter *it;
    st->fetches++;
    st->check += ma->att_number;
    for (it = clist_begin(ma->att_list); it; it = clist_next(it)) {
        struct mailimap_msg_att_item *item = clist_content(it);
        st->attrs++;
        if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
            clistiter *f;
            if (item->att_data.att_dyn->att_list)
                for (f = clist_begin(item->att_data.att_dyn->att_list); f; f = clist_next(f)) {
                    st->flags++;
                }
        } else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC) {
            struct mailimap_msg_att_static *s = item->att_data.att_static;
            switch (s->att_type) {
            case MAILIMAP_MSG_ATT_ENVELOPE: walk_envelope(s->att_data.att_env, st); break;
            case MAILIMAP_MSG_ATT_BODYSTRUCTURE: walk_body(s->att_data.att_bodystructure, st); break;
            case MAILIMAP_MSG_ATT_BODY: walk_body(s->att_data.att_body, st); break;
            case MAILIMAP_MSG_ATT_UID: st->check += s->att_data.att_uid; break;
            case MAILIMAP_MSG_ATT_RFC822_SIZE: st->check += s->att_data.att_rfc822_size; break;
            case MAILIMAP_MSG_ATT_INTERNALDATE: st->check += (unsigned)s->att_data.att_internal_date->dt_year; break;
            case MAILIMAP_MSG_ATT_BODY_SECTION:
                st->literal_bytes += s->att_data.att_body_section->sec_length;
                st->check += s->att_data.att_body_section->sec_length;
                break;
            default: break;
            }
        }
    }
}

static void walk_response(mailimap *session, struct mailimap_response *resp, stats *st)
{
    struct mailimap_response_info *ri = session->imap_response_info;
    clistiter *it;
    if (resp->rsp_cont_req_or_resp_data_list)
        for (it = clist_begin(resp->rsp_cont_req_or_resp_data_list); it; it = clist_next(it)) {
            struct mailimap_cont_req_or_resp_data *d = clist_content(it);
            st->responses++;
            if (d->rsp_type == MAILIMAP_RESP_RESP_DATA &&
                d->rsp_data.rsp_resp_data->rsp_type == MAILIMAP_RESP_DATA_TYPE_MAILBOX_DATA &&
                d->rsp_data.rsp_resp_data->rsp_data.rsp_mailbox_data->mbd_type == MAILIMAP_MAILBOX_DATA_STATUS)
                st->statuses++;     /* libetpan keeps only the last STATUS's data */
        }
    if (resp->rsp_resp_done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED) {
        st->responses++;
        if (resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type == MAILIMAP_RESP_COND_STATE_OK)
            st->tagged_ok++;
    }
    if (ri->rsp_fetch_list)
        for (it = clist_begin(ri->rsp_fetch_list); it; it = clist_next(it))
            walk_msg_att(clist_content(it), st);
    if (ri->rsp_mailbox_list)
        for (it = clist_begin(ri->rsp_mailbox_list); it; it = clist_next(it)) {
            struct mailimap_mailbox_list *mb = clist_content(it);
            st->mailboxes++;
            st->check += strlen(mb->mb_name) + (unsigned char)mb->mb_delimiter;
            if (mb->mb_flag) {
                if (mb->mb_flag->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG) st->flags++;
                st->flags += clist_count(mb->mb_flag->mbf_oflags);
            }
        }
    if (ri->rsp_search_result)
        for (it = clist_begin(ri->rsp_search_result); it; it = clist_next(it)) {
            st->numbers++;
            st->check += *(uint32_t *)clist_content(it);
        }
}

/* Free what the command functions would have handed to their caller. */
static void release(mailimap *session)
{
    struct mailimap_response_info *ri = session->imap_response_info;
    if (ri->rsp_fetch_list) { mailimap_fetch_list_free(ri->rsp_fetch_list); ri->rsp_fetch_list = NULL; }
    if (ri->rsp_mailbox_list) { mailimap_list_result_free(ri->rsp_mailbox_list); ri->rsp_mailbox_list = NULL; }
    if (ri->rsp_search_result) { mailimap_search_result_free(ri->rsp_search_result); ri->rsp_search_result = NULL; }
}

static void msg_att_handler(struct mailimap_msg_att *ma, void *ctx)
{
    stats *st = (stats *)ctx;
    st->responses++;                    /* streamed: not in the response list */
    walk_msg_att(ma, st);
}

static void no_progress(size_t current, size_t maximum, void *ctx)
{
    (void)current;
    (void)maximum;
    (void)ctx;
}

static bool body_handler(int type, struct mailimap_msg_att_body_section *sec,
                         const char *bytes, size_t len, void *ctx)
{
    stats *st = (stats *)ctx;
    (void)type;
    (void)sec;
    (void)bytes;
    st->sunk_bytes += len;
    return true;                        /* consumed: libetpan need not keep it */
}

/* The timed part: parse every response of the command, then walk them.
   (callgrind counts instructions inside pass_* functions only.) */
__attribute__((noinline))
static struct mailimap_response *pass_etpan_parse(mailimap *session, stats *st)
{
    struct mailimap_response *resp = NULL;
    int r;
    if (!mailimap_read_line(session)) {
        st->errors++;
        return NULL;
    }
    r = mailimap_parse_response(session, &resp);
    if (r != MAILIMAP_NO_ERROR || !resp) {
        st->errors++;
        return resp;
    }
    walk_response(session, resp, st);
    return resp;
}

/* One pass: a fresh session reading the whole corpus, as one command's
   responses. Returns parse+walk seconds; *free_secs gets the free. */
static double run_pass(memsrc *src, int stream_mode, stats *st, double *free_secs)
{
    mailstream_low *low;
    mailstream *stream;
    mailimap *session;
    struct mailimap_response *resp;
    double t0, t1, t2;

    src->off = 0;
    low = mailstream_low_new(src, &mem_driver);
    stream = mailstream_new(low, src->chunk);
    session = mailimap_new(0, NULL);
    session->imap_stream = stream;
    session->imap_state = MAILIMAP_STATE_SELECTED;
    session->imap_tag = 7;              /* the corpus ends "7 OK ..." */
    if (stream_mode) {
        mailimap_set_progress_callback(session, no_progress, no_progress, NULL);
        mailimap_set_msg_att_handler(session, msg_att_handler, st);
        mailimap_set_msg_body_handler(session, body_handler, st);
    }

    t0 = bench_now();
    resp = pass_etpan_parse(session, st);
    t1 = bench_now();
    if (resp) mailimap_response_free(resp);
    release(session);
    t2 = bench_now();
    mailimap_free(session);             /* closes and frees the stream too */
    *free_secs += t2 - t1;
    return t1 - t0;
}

int main(int argc, char **argv)
{
    bench_args a;
    memsrc src;
    stats st, once;
    long rss_base;
    int passes = 0, kept = 0, i;
    double elapsed = 0, free_secs = 0;

    /* our own option first, then the common ones */
    for (i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--kept")) {
            kept = atoi(argv[i + 1]);
            memmove(argv + i, argv + i + 2, (size_t)(argc - i - 2) * sizeof *argv);
            argc -= 2;
            break;
        }
    bench_parse_args(argc, argv, &a);
    src.buf = bench_load(a.corpus, &src.len);
    src.chunk = a.chunk;
    rss_base = bench_maxrss_kb();
    memset(&once, 0, sizeof once);
    for (i = 0; i < a.warmup; i++) {
        double ignored = 0;
        memset(&st, 0, sizeof st);
        run_pass(&src, !kept, &st, &ignored);
    }
    while (bench_more(&a, passes, elapsed)) {
        memset(&st, 0, sizeof st);
        elapsed += run_pass(&src, !kept, &st, &free_secs);
        if (passes == 0) once = st;
        passes++;
    }
    printf("result parser=%s corpus=%s bytes=%zu passes=%d secs=%.6f secs_free=%.6f "
           "mbps=%.3f rps=%.1f responses=%llu tagged_ok=%llu errors=%llu "
           "maxrss_kb=%ld rss_base_kb=%ld chunk=%zu "
           "fetches=%llu attrs=%llu envelopes=%llu addrs=%llu groups=%llu parts=%llu params=%llu "
           "mailboxes=%llu statuses=%llu flags=%llu numbers=%llu literal_bytes=%llu "
           "sunk_bytes=%llu check=%llu\n",
           kept ? "libetpan-kept" : "libetpan", a.name, src.len, passes, elapsed, free_secs,
           (double)src.len * passes / elapsed / 1e6, (double)once.responses * passes / elapsed,
           once.responses, once.tagged_ok, once.errors, bench_maxrss_kb(), rss_base, a.chunk,
           once.fetches, once.attrs, once.envelopes, once.addrs, once.groups,
           once.parts, once.params, once.mailboxes, once.statuses, once.flags, once.numbers,
           once.literal_bytes, once.sunk_bytes, once.check);
    free((void *)src.buf);
    return 0;
}
