/* e2e_etpan - libetpan against a live server (issue 6, e2e.sh).

   Usage: e2e_etpan HOST PORT USER PASS MAILBOX meta|bodies
   mailimap_socket_connect, mailimap_login, mailimap_examine, then times
   one mailimap_uid_fetch of 1:* with a fetch_type (UID FLAGS RFC822.SIZE
   ENVELOPE BODYSTRUCTURE, or UID BODY.PEEK[]) and a walk of the list it
   returns (the same counters as e2e_imaph), then mailimap_fetch_list_free.
   Prints "result ..." like the other e2e clients. */
#include "bench_common.h"
#include <libetpan/libetpan.h>

typedef struct stats {
    unsigned long long fetches, attrs, envelopes, addrs, groups, parts, params, flags;
    unsigned long long literal_bytes, errors, check;
} stats;

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

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    mailimap *imap;
    struct mailimap_fetch_type *ft;
    struct mailimap_set *set;
    clist *result = NULL;
    clistiter *it;
    static stats st;
    int rc, bodies;
    double w0, c0, wall, cpu;
    if (argc != 7) {
        fprintf(stderr, "usage: e2e_etpan HOST PORT USER PASS MAILBOX meta|bodies\n");
        return 2;
    }
    bodies = strcmp(argv[6], "bodies") == 0;
    imap = mailimap_new(0, NULL);
    if ((rc = mailimap_socket_connect(imap, argv[1], (uint16_t)atoi(argv[2]))) != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
        fprintf(stderr, "e2e_etpan: connect: %d\n", rc);
        return 1;
    }
    if ((rc = mailimap_login(imap, argv[3], argv[4])) != MAILIMAP_NO_ERROR) {
        fprintf(stderr, "e2e_etpan: login: %d\n", rc);
        return 1;
    }
    if ((rc = mailimap_examine(imap, argv[5])) != MAILIMAP_NO_ERROR) {
        fprintf(stderr, "e2e_etpan: examine: %d\n", rc);
        return 1;
    }
    ft = mailimap_fetch_type_new_fetch_att_list_empty();
    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
    if (bodies) {
        mailimap_fetch_type_new_fetch_att_list_add(ft,
            mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
    } else {
        mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_flags());
        mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
        mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_envelope());
        mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_bodystructure());
    }
    set = mailimap_set_new_interval(1, 0);      /* 1:* */
    w0 = bench_now();
    c0 = cpu_now();
    rc = mailimap_uid_fetch(imap, set, ft, &result);
    if (rc == MAILIMAP_NO_ERROR)
        for (it = clist_begin(result); it; it = clist_next(it))
            walk_msg_att(clist_content(it), &st);
    if (result) mailimap_fetch_list_free(result);
    wall = bench_now() - w0;
    cpu = cpu_now() - c0;
    if (rc != MAILIMAP_NO_ERROR) {
        fprintf(stderr, "e2e_etpan: uid fetch: %d\n", rc);
        return 1;
    }
    mailimap_set_free(set);
    mailimap_fetch_type_free(ft);
    mailimap_logout(imap);
    mailimap_free(imap);
    printf("result client=libetpan test=%s inflight=1 wall=%.4f cpu=%.4f messages=%llu "
           "envelopes=%llu parts=%llu addrs=%llu literal_bytes=%llu errors=%llu check=%llu\n",
           argv[6], wall, cpu, st.fetches, st.envelopes, st.parts, st.addrs,
           st.literal_bytes, st.errors, st.check);
    return st.errors != 0;
}
