/* The decode walk shared by bench_imaph.c (x86-64) and m4/m4bench.c
   (Cortex-M4 under QEMU): every response fully decoded through the typed
   views, counted and folded into `check` so nothing is optimised away.
   Include after imap.h. */
#ifndef BENCH_WALK_H
#define BENCH_WALK_H

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

#endif
