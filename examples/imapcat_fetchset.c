/* imapcat: several messages at once, the URL's search, ~/.netrc, and a
   closed stdout (included by imapcat.c).

   fetch SET (or a search URL, or -o DIR): first UID FETCH SET (UID
   INTERNALDATE) learns which messages exist, then one UID FETCH SET
   (UID BODY.PEEK[...]) streams every body through the literal sink:
   to stdout as mboxrd (a "From " line from the INTERNALDATE, CRLF made
   LF, lines matching ">*From " quoted with one more ">"), or with -o DIR
   into DIR/UID.eml as received. */

#include <sys/stat.h>

/* A reader that went away (imapcat ... | head) is no error of ours: exit
   quietly with the documented code rather than die of SIGPIPE (141). */
static void stdout_failed(int err)
{
    if (err == EPIPE) {
        session_close(g_session);
        _exit(XC_PIPE);
    }
    die(XC_LOCAL, "writing stdout: %s", strerror(err ? err : EIO));
}

/* "(BODY.PEEK[section]<start.len>)" from the URL's ;SECTION= and
   ;PARTIAL= (RFC 5092 §4), or --headers. */
static const char *body_items(const target *tg, const options *o, char *buf, size_t cap)
{
    const char *sec = o->headers ? "HEADER" : tg->section;
    int n = snprintf(buf, cap, "(UID BODY.PEEK[%s]", sec);
    if (tg->has_partial) {
        if (tg->partial_len)
            n += snprintf(buf + n, cap - (size_t)n, "<%lu.%lu>", tg->partial_start, tg->partial_len);
        else    /* to the end: a length no message reaches */
            n += snprintf(buf + n, cap - (size_t)n, "<%lu.4294967295>", tg->partial_start);
    }
    snprintf(buf + n, cap - (size_t)n, ")");
    return buf;
}

/* ---- ~/.netrc (the ftp/curl format) -------------------------------------- */

static int netrc_token(FILE *fp, char *tok, size_t cap)
{
    int ch;
    size_t n = 0;
    while ((ch = fgetc(fp)) != EOF && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')) {}
    if (ch == EOF) return 0;
    if (ch == '"') {
        while ((ch = fgetc(fp)) != EOF && ch != '"') {
            if (ch == '\\' && (ch = fgetc(fp)) == EOF) break;
            if (n + 1 < cap) tok[n++] = (char)ch;
        }
    } else {
        do {
            if (n + 1 < cap) tok[n++] = (char)ch;
        } while ((ch = fgetc(fp)) != EOF && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r');
    }
    tok[n] = 0;
    return 1;
}

/* "machine HOST login USER password PW" (or "default ..."); the first
   entry for HOST whose login is USER (or has none). */
static int netrc_password(const char *host, const char *user, char *out, size_t cap)
{
    const char *home = getenv("HOME");
    char path[4200], tok[1024];
    struct stat sb;
    FILE *fp;
    int in = 0, found = 0, login_ok = 1, have_pw = 0;
    if (!home || (size_t)snprintf(path, sizeof path, "%s/.netrc", home) >= sizeof path) return 0;
    if (!(fp = fopen(path, "r"))) return 0;
    if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & 077)) {
        fprintf(stderr, "imapcat: %s may be read by others: not used (chmod 600 it)\n", path);
        fclose(fp);
        return 0;
    }
    while (!found && netrc_token(fp, tok, sizeof tok)) {
        if (strcmp(tok, "machine") == 0 || strcmp(tok, "default") == 0) {
            if (in && login_ok && have_pw) found = 1;
            if (found) break;
            in = strcmp(tok, "default") == 0;
            if (!in && netrc_token(fp, tok, sizeof tok)) in = strcmp(tok, host) == 0;
            login_ok = 1;
            have_pw = 0;
        } else if (strcmp(tok, "login") == 0) {
            if (netrc_token(fp, tok, sizeof tok) && in) login_ok = strcmp(tok, user) == 0;
        } else if (strcmp(tok, "password") == 0) {
            if (netrc_token(fp, tok, sizeof tok) && in && strlen(tok) < cap) {
                strcpy(out, tok);
                have_pw = 1;
            }
        } else if (strcmp(tok, "macdef") == 0) {
            int ch, prev = 0;                   /* a macro runs to a blank line */
            while ((ch = fgetc(fp)) != EOF && !(ch == '\n' && prev == '\n')) prev = ch;
        }
    }
    if (!found && in && login_ok && have_pw) found = 1;
    fclose(fp);
    if (!found) memset(tok, 0, sizeof tok);
    return found;
}

/* ---- search from the URL ------------------------------------------------- */

typedef struct uid_list {
    unsigned long *v;
    size_t n, cap;
} uid_list;

static void on_search_collect(void *arg, imap_client *c, const imap_response *r)
{
    uid_list *l = (uid_list *)arg;
    const imap_value *cur = r->args;
    imap_u64 uid;
    (void)c;
    if (!imap_response_is(r, "SEARCH")) return;
    while (imap_numbers_next(&cur, &uid) == 1) {
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 64;
            l->v = (unsigned long *)realloc(l->v, l->cap * sizeof *l->v);
            if (!l->v) die(XC_LOCAL, "out of memory");
        }
        l->v[l->n++] = (unsigned long)uid;
    }
}

/* The URL's ?search program, sent as one parenthesised search key (a
   CR or LF in it is refused by the builder: no injection). */
static void url_search(session *s, const target *tg, uid_list *l)
{
    char *prog;
    const char *arg;
    imap_call call;
    int rc;
    size_t n = strlen(tg->search);
    prog = (char *)malloc(n + 3);
    if (!prog) die(XC_LOCAL, "out of memory");
    prog[0] = '(';
    memcpy(prog + 1, tg->search, n);
    prog[n + 1] = ')';
    prog[n + 2] = 0;
    arg = prog;
    memset(&call, 0, sizeof call);
    call.on_data = on_search_collect;
    call.arg = l;
    rc = imap_uid(&s->c, "SEARCH", &arg, 1, &call);
    free(prog);
    if (rc == IMAP_E_ARGS) usage_error("the URL's ?search holds a line break");
    if (rc != IMAP_OK) fail(s, "search", rc);
}

static void search_url(session *s, const target *tg)
{
    uid_list l;
    size_t i;
    memset(&l, 0, sizeof l);
    examine(s, tg);
    url_search(s, tg, &l);
    for (i = 0; i < l.n; i++) printf("%lu\n", l.v[i]);
    free(l.v);
}

/* ---- several messages ------------------------------------------------------ */

typedef struct set_msg {
    imap_u64 msgno;
    unsigned long uid;
    long long date;             /* INTERNALDATE, seconds since 1970 UTC */
} set_msg;

typedef struct set_state {
    set_msg *m;
    size_t n, cap;
    const options *o;
    set_msg *cur;               /* the message being streamed */
    FILE *out;
    int bol, cr;                /* at a line's start; a CR held back */
    char pend[8];               /* ">*From " candidate at a line's start */
    size_t npend;
    int last_nl;
    int err;
    unsigned long written;
} set_state;

static void on_set_list(void *arg, imap_client *c, const imap_response *r)
{
    set_state *st = (set_state *)arg;
    const imap_value *u = imap_fetch_get(r, "UID");
    imap_u64 uid;
    long long t = 0;
    (void)c;
    if (!u || imap_value_u64(u, &uid) != 0) return;
    if (imap_fetch_internaldate(r, NULL, &t) != IMAP_OK) t = 0;
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->m = (set_msg *)realloc(st->m, st->cap * sizeof *st->m);
        if (!st->m) die(XC_LOCAL, "out of memory");
    }
    st->m[st->n].msgno = r->number;
    st->m[st->n].uid = (unsigned long)uid;
    st->m[st->n].date = t;
    st->n++;
}

static set_msg *set_find(set_state *st, imap_u64 msgno, unsigned long uid)
{
    size_t i;
    for (i = 0; i < st->n; i++)
        if ((msgno && st->m[i].msgno == msgno) || (uid && st->m[i].uid == uid)) return &st->m[i];
    return NULL;
}

static void out_byte(set_state *st, int ch)
{
    if (putc(ch, st->out) == EOF && !st->err) st->err = errno ? errno : EIO;
    st->last_nl = ch == '\n';
}

/* mboxrd: after CRLF -> LF, a line that starts ">*From " gets one more ">" */
static void mbox_char(set_state *st, int ch)
{
    static const char from[] = "From ";
    size_t i;
    if (st->bol || st->npend) {
        size_t k = st->npend, gt = 0;
        while (gt < k && st->pend[gt] == '>') gt++;
        if ((ch == '>' && gt == k && k < sizeof st->pend - 6) ||
            (k - gt < 5 && ch == from[k - gt])) {
            st->pend[st->npend++] = (char)ch;
            st->bol = 0;
            if (st->npend - gt == 5) {          /* a whole ">*From ": quote it */
                out_byte(st, '>');
                for (i = 0; i < st->npend; i++) out_byte(st, st->pend[i]);
                st->npend = 0;
            }
            return;
        }
        for (i = 0; i < st->npend; i++) out_byte(st, st->pend[i]);
        st->npend = 0;
    }
    out_byte(st, ch);
    st->bol = ch == '\n';
}

static void put_bytes(set_state *st, const unsigned char *p, size_t len)
{
    size_t i;
    if (st->o->outdir) {
        if (len && fwrite(p, 1, len, st->out) != len && !st->err) st->err = errno ? errno : EIO;
        return;
    }
    for (i = 0; i < len; i++) {
        int ch = p[i];
        if (st->cr) {
            st->cr = 0;
            if (ch != '\n') mbox_char(st, '\r');
        }
        if (ch == '\r') {
            st->cr = 1;
            continue;
        }
        mbox_char(st, ch);
    }
}

static void msg_begin(set_state *st, set_msg *m)
{
    st->cur = m;
    st->bol = 1;
    st->cr = 0;
    st->npend = 0;
    if (st->o->outdir) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%lu.eml", st->o->outdir, m->uid);
        if (!(st->out = fopen(path, "wb"))) die(XC_LOCAL, "%s: %s", path, strerror(errno));
    } else {
        char date[64];
        time_t t = (time_t)m->date;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
        st->out = stdout;
        fprintf(stdout, "From MAILER-DAEMON %s\n", date);
    }
}

static void msg_end(set_state *st)
{
    size_t i;
    if (!st->cur) return;
    if (st->o->outdir) {
        if (fclose(st->out) != 0 && !st->err) st->err = errno;
    } else {
        if (st->cr) out_byte(st, '\r');
        for (i = 0; i < st->npend; i++) out_byte(st, st->pend[i]);
        if (!st->last_nl) out_byte(st, '\n');
        out_byte(st, '\n');                 /* the blank line before the next From */
        if (ferror(stdout) && !st->err) st->err = errno ? errno : EIO;
    }
    st->cur = NULL;
    st->written++;
    if (st->err) stdout_failed(st->err);
}

static int on_set_literal(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    set_state *st = (set_state *)ctx;
    if (info->item.len < 5 || !prefix_ci(info->item.ptr, "BODY[")) return 0;
    if (info->offset == 0) {
        set_msg *m = set_find(st, info->msgno, 0);
        if (!m) return 0;                   /* not one we listed */
        msg_begin(st, m);
    }
    if (!st->cur || st->cur->msgno != info->msgno) return 0;
    put_bytes(st, (const unsigned char *)data, len);
    if (info->offset + len == info->total) msg_end(st);
    return st->err ? 1 : 0;
}

static void on_set_body(void *arg, imap_client *c, const imap_response *r)
{
    set_state *st = (set_state *)arg;
    imap_fetch_iter it;
    imap_fetch_attr a;
    (void)c;
    if (imap_fetch_begin(r, &it) != 0) return;
    while (imap_fetch_next(&it, &a) == 1) {
        imap_str v;
        set_msg *m;
        if (!imap_str_is(a.name, "BODY") || !a.has_section || (a.value->flags & IMAP_VF_SUNK)) continue;
        /* a short body stayed in the parser (a quoted string, or empty) */
        if (imap_value_str(a.value, &v) != 0 || !(m = set_find(st, r->number, 0))) continue;
        msg_begin(st, m);
        put_bytes(st, (const unsigned char *)v.ptr, v.len);
        msg_end(st);
    }
}

static void cmd_fetch_set(session *s, const target *tg, const options *o, const char *set)
{
    set_state st;
    imap_call call;
    const char *args[2];
    char items[256], *built = NULL;
    int rc;
    memset(&st, 0, sizeof st);
    st.o = o;
    examine(s, tg);
    if (!set && tg->uid) {
        static char one[24];
        snprintf(one, sizeof one, "%lu", tg->uid);
        set = one;
    }
    if (!set) {
        uid_list l;
        imap_seqset ss;
        size_t cap;
        memset(&l, 0, sizeof l);
        if (!tg->search[0]) usage_error("fetch -o needs a UID, a UID set or a search URL");
        url_search(s, tg, &l);
        if (l.n == 0) die(XC_NOTFOUND, "%s: no message matches", tg->mailbox);
        cap = l.n * 12 + 1;
        built = (char *)malloc(cap);
        if (!built) die(XC_LOCAL, "out of memory");
        imap_seqset_init(&ss, built, cap);
        {
            /* SEARCH gives UIDs in any order: one at a time */
            size_t i;
            for (i = 0; i < l.n; i++) imap_seqset_add(&ss, l.v[i]);
        }
        free(l.v);
        set = built;
    }
    if (o->outdir) {
        if (mkdir(o->outdir, 0700) != 0 && errno != EEXIST)
            die(XC_LOCAL, "%s: %s", o->outdir, strerror(errno));
    }
    memset(&call, 0, sizeof call);
    call.on_data = on_set_list;
    call.arg = &st;
    args[0] = set;
    args[1] = "(UID INTERNALDATE)";
    rc = imap_uid(&s->c, "FETCH", args, 2, &call);
    if (rc == IMAP_E_BAD) usage_error("fetch: not a UID set the server takes");
    if (rc != IMAP_OK) fail(s, "fetch", rc);
    if (st.n == 0) die(XC_NOTFOUND, "%s: no message with UID %s", tg->mailbox, set);
    imap_parser_set_sink(imap_client_parser(&s->c), 0, on_set_literal, &st);
    call.on_data = on_set_body;
    args[1] = body_items(tg, o, items, sizeof items);
    errno = 0;
    rc = imap_uid(&s->c, "FETCH", args, 2, &call);
    imap_parser_set_sink(imap_client_parser(&s->c), 0, NULL, NULL);
    free(built);
    if (st.err) stdout_failed(st.err);
    if (fflush(stdout) != 0) stdout_failed(errno);
    if (rc != IMAP_OK) fail(s, "fetch", rc);
    if (o->outdir) fprintf(stderr, "imapcat: %lu messages written to %s\n", st.written, o->outdir);
    free(st.m);
}
