/* imapcat sync DIR: a one-way pull into a Maildir (included by imapcat.c).

   Per mailbox: the local copy is the Maildir's files, named
   "<uid>.imapcat,U=<uid>:2,<flags>" in cur/ (flags D F P R S T, sorted, as
   the Maildir convention has them), plus DIR/imapcat-sync.state with the
   UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT and the UIDs held. imap.h's
   imap_sync_mailbox reports what changed since that state (QRESYNC,
   CONDSTORE or plain, whichever the server offers); flags are renamed,
   expunged messages unlinked, new messages fetched pipelined (several
   UID FETCH BODY.PEEK[] in flight) and streamed through the parser's
   literal sink into tmp/, then renamed into cur/ (atomic: a message is
   there whole or not at all). The state is written (tmp file, rename)
   only once every change is on disk, so Ctrl-C or a dropped connection
   at any point loses nothing: the next run starts from the old state,
   the changes are reported again, and what is already on disk is
   recognised by its UID (no duplicates). Without a mailbox in the URL
   every selectable mailbox is pulled, INBOX into DIR and the others into
   Maildir++ folders DIR/.Name (hierarchy levels joined by "."). */

#include <dirent.h>
#include <sys/stat.h>

typedef struct lmsg {
    unsigned long uid;
    char *name;                 /* file name in cur/ or new/ */
    int in_new;
} lmsg;

typedef struct want {
    unsigned long uid;
} want;

typedef struct folder_sync {
    session *s;
    const char *dir;            /* the Maildir */
    const char *label;          /* for messages and the bar */
    lmsg *l;                    /* sorted by UID */
    size_t nl, capl;
    want *w;                    /* to download */
    size_t nw, capw;
    unsigned long added, removed, renamed;
    int error;                  /* errno of a local failure */
    /* the message being streamed */
    FILE *tmp;
    char tmp_path[4200];
    imap_u64 tmp_msgno;
    int tmp_done;
    unsigned long counter;
    int inflight, fetch_error;
    int bar;
    size_t got, total;
} folder_sync;

static volatile sig_atomic_t sync_interrupted;

static void sync_on_signal(int sig)
{
    (void)sig;
    sync_interrupted = 1;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) die(XC_LOCAL, "out of memory");
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = (char *)xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

/* IMAP system flags as Maildir info letters, in ASCII order. */
static void maildir_flags(const imap_value *flags, char out[8])
{
    static const struct { char letter; const char *flag; } map[] = {
        { 'D', "\\Draft" }, { 'F', "\\Flagged" }, { 'P', "$Forwarded" },
        { 'R', "\\Answered" }, { 'S', "\\Seen" }, { 'T', "\\Deleted" }
    };
    size_t i, k = 0;
    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (imap_flags_has(flags, map[i].flag)) out[k++] = map[i].letter;
    out[k] = 0;
}

static unsigned long name_uid(const char *name)
{
    const char *u = strstr(name, ",U=");
    unsigned long v = 0;
    if (!u) return 0;
    for (u += 3; *u >= '0' && *u <= '9'; u++) v = v * 10 + (unsigned long)(*u - '0');
    return v;
}

static const char *name_flags(const char *name)
{
    const char *i = strstr(name, ":2,");
    return i ? i + 3 : "";
}

static int cmp_lmsg(const void *a, const void *b)
{
    unsigned long x = ((const lmsg *)a)->uid, y = ((const lmsg *)b)->uid;
    return x < y ? -1 : x > y;
}

static void mkdir_p(const char *path)
{
    char buf[4200];
    size_t i, n = strlen(path);
    if (n >= sizeof buf) die(XC_LOCAL, "%s: path too long", path);
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        buf[i] = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) die(XC_LOCAL, "mkdir %s: %s", buf, strerror(errno));
        buf[i] = path[i];
    }
}

static void path_join(char *out, size_t cap, const char *a, const char *b, const char *c)
{
    if ((size_t)snprintf(out, cap, "%s/%s%s%s", a, b, c && *c ? "/" : "", c ? c : "") >= cap)
        die(XC_LOCAL, "%s/%s: path too long", a, b);
}

/* Our files in cur/ and new/; what an interrupted run left in tmp/ goes. */
static void scan_local(folder_sync *f)
{
    static const char *const sub[] = { "cur", "new", "tmp" };
    char path[4200];
    int d;
    for (d = 0; d < 3; d++) {
        DIR *dp;
        struct dirent *e;
        path_join(path, sizeof path, f->dir, sub[d], NULL);
        mkdir_p(path);
        if (!(dp = opendir(path))) die(XC_LOCAL, "%s: %s", path, strerror(errno));
        while ((e = readdir(dp)) != NULL) {
            unsigned long uid;
            if (e->d_name[0] == '.') continue;
            if (d == 2) {
                if (strncmp(e->d_name, "imapcat.", 8) == 0) {
                    char p2[4200];
                    path_join(p2, sizeof p2, f->dir, "tmp", e->d_name);
                    unlink(p2);
                }
                continue;
            }
            if (!strstr(e->d_name, ".imapcat,U=") || (uid = name_uid(e->d_name)) == 0) continue;
            if (f->nl == f->capl) {
                f->capl = f->capl ? f->capl * 2 : 256;
                f->l = (lmsg *)xrealloc(f->l, f->capl * sizeof *f->l);
            }
            f->l[f->nl].uid = uid;
            f->l[f->nl].name = xstrdup(e->d_name);
            f->l[f->nl].in_new = d == 1;
            f->nl++;
        }
        closedir(dp);
    }
    if (f->nl > 1) qsort(f->l, f->nl, sizeof *f->l, cmp_lmsg);
}

static void scan_local_reset(folder_sync *f)
{
    size_t i;
    for (i = 0; i < f->nl; i++) free(f->l[i].name);
    f->nl = 0;
    scan_local(f);
}

static lmsg *find_local(folder_sync *f, unsigned long uid)
{
    size_t lo = 0, hi = f->nl;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->l[mid].uid < uid) lo = mid + 1;
        else hi = mid;
    }
    return lo < f->nl && f->l[lo].uid == uid && f->l[lo].name ? &f->l[lo] : NULL;
}

static void local_path(const folder_sync *f, const lmsg *m, char *out, size_t cap)
{
    path_join(out, cap, f->dir, m->in_new ? "new" : "cur", m->name);
}

static void remove_local(folder_sync *f, lmsg *m)
{
    char path[4200];
    local_path(f, m, path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT) f->error = errno;
    free(m->name);
    m->name = NULL;
    f->removed++;
}

/* ---- the callbacks of imap_sync_mailbox ---------------------------------- */

static void sync_on_reset(void *arg, imap_u64 uidvalidity)
{
    folder_sync *f = (folder_sync *)arg;
    size_t i;
    fprintf(stderr, "imapcat: %s: UIDVALIDITY is now %llu: starting over\n", f->label,
            (unsigned long long)uidvalidity);
    for (i = 0; i < f->nl; i++)
        if (f->l[i].name) remove_local(f, &f->l[i]);
    f->nl = 0;
}

static void sync_on_message(void *arg, imap_u64 uid, const imap_value *flags, int is_new)
{
    folder_sync *f = (folder_sync *)arg;
    lmsg *m = find_local(f, (unsigned long)uid);
    char fl[8];
    (void)is_new;
    maildir_flags(flags, fl);
    if (m) {
        if (strcmp(name_flags(m->name), fl) != 0 || m->in_new) {
            char from[4200], to[4200], base[64];
            snprintf(base, sizeof base, "%lu.imapcat,U=%lu:2,%s", m->uid, m->uid, fl);
            local_path(f, m, from, sizeof from);
            path_join(to, sizeof to, f->dir, "cur", base);
            if (rename(from, to) != 0) f->error = errno;
            free(m->name);
            m->name = xstrdup(base);
            m->in_new = 0;
            f->renamed++;
        }
        return;
    }
    if (f->nw == f->capw) {
        f->capw = f->capw ? f->capw * 2 : 256;
        f->w = (want *)xrealloc(f->w, f->capw * sizeof *f->w);
    }
    f->w[f->nw++].uid = (unsigned long)uid;
}

static void sync_on_vanished(void *arg, imap_u64 lo, imap_u64 hi)
{
    folder_sync *f = (folder_sync *)arg;
    size_t a = 0, b = f->nl;
    while (a < b) {                         /* the first UID >= lo */
        size_t mid = a + (b - a) / 2;
        if (f->l[mid].uid < lo) a = mid + 1;
        else b = mid;
    }
    for (; a < f->nl && f->l[a].uid <= hi; a++)
        if (f->l[a].name) remove_local(f, &f->l[a]);
}

/* ---- downloads: pipelined UID FETCH, bodies streamed to tmp/ ------------ */

static void sync_progress(folder_sync *f)
{
    static const char hashes[] = "##############################";
    int w;
    if (!f->bar || !f->total) return;
    w = (int)(f->got * 30 / f->total);
    fprintf(stderr, "\r%-20.20s [%-30.*s] %zu/%zu", f->label, w, hashes, f->got, f->total);
    if (f->got >= f->total) fputc('\n', stderr);
    fflush(stderr);
}

static int sync_sink(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    folder_sync *f = (folder_sync *)ctx;
    if (!is_body_item(info->item)) return 0;
    if (info->offset == 0) {
        if (f->tmp) fclose(f->tmp);
        snprintf(f->tmp_path, sizeof f->tmp_path, "%s/tmp/imapcat.%ld.%lu", f->dir, (long)getpid(),
                 ++f->counter);
        f->tmp = fopen(f->tmp_path, "wb");
        f->tmp_msgno = info->msgno;
        f->tmp_done = 0;
        if (!f->tmp) {
            f->error = errno;
            return 1;
        }
    }
    if (!f->tmp) return 1;
    if (len && fwrite(data, 1, len, f->tmp) != len) {
        f->error = errno ? errno : EIO;
        return 1;
    }
    if (info->offset + len == info->total) {
        if (fclose(f->tmp) != 0) {
            f->tmp = NULL;
            f->error = errno;
            return 1;
        }
        f->tmp = NULL;
        f->tmp_done = 1;
    }
    return 0;
}

static void sync_on_body(void *arg, imap_client *c, const imap_response *r)
{
    folder_sync *f = (folder_sync *)arg;
    const imap_value *u = imap_fetch_get(r, "UID"), *fl = imap_fetch_get(r, "FLAGS");
    const imap_value *body = imap_fetch_get(r, "BODY[]");
    imap_u64 uid;
    char flags[8], base[64], to[4200];
    (void)c;
    if (!u || imap_value_u64(u, &uid) != 0 || !body) return;    /* not ours */
    if (find_local(f, (unsigned long)uid)) return;
    if (!(body->flags & IMAP_VF_SUNK)) {
        /* a short (or empty) body stayed in the parser */
        imap_str v;
        FILE *fp;
        snprintf(f->tmp_path, sizeof f->tmp_path, "%s/tmp/imapcat.%ld.%lu", f->dir, (long)getpid(),
                 ++f->counter);
        if (imap_value_str(body, &v) != 0 || !(fp = fopen(f->tmp_path, "wb"))) {
            f->error = errno ? errno : EIO;
            return;
        }
        int bad = v.len && fwrite(v.ptr, 1, v.len, fp) != v.len;
        if (fclose(fp) != 0) bad = 1;
        if (bad) {
            f->error = errno ? errno : EIO;
            return;
        }
    } else if (!f->tmp_done || f->tmp_msgno != r->number) {
        return;                             /* the sink refused it */
    }
    f->tmp_done = 0;
    if (fl) maildir_flags(fl, flags);
    else flags[0] = 0;
    snprintf(base, sizeof base, "%lu.imapcat,U=%lu:2,%s", (unsigned long)uid, (unsigned long)uid, flags);
    path_join(to, sizeof to, f->dir, "cur", base);
    if (rename(f->tmp_path, to) != 0) {
        f->error = errno;
        return;
    }
    f->added++;
    f->got++;
    sync_progress(f);
}

static void sync_on_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    folder_sync *f = (folder_sync *)arg;
    (void)c;
    (void)t;
    f->inflight--;
    if (result != IMAP_OK && !f->fetch_error) f->fetch_error = result;
}

#define SYNC_BATCH 50           /* UIDs per UID FETCH */
#define SYNC_INFLIGHT 4         /* UID FETCHes at once */

static int cmp_want(const void *a, const void *b)
{
    unsigned long x = ((const want *)a)->uid, y = ((const want *)b)->uid;
    return x < y ? -1 : x > y;
}

/* Returns 0 when every wanted message is on disk. */
static int sync_download(folder_sync *f)
{
    session *s = f->s;
    imap_call call;
    size_t next = 0;
    int rc = IMAP_OK;
    if (!f->nw) return 0;
    qsort(f->w, f->nw, sizeof *f->w, cmp_want);
    f->total = f->nw;
    f->got = 0;
    memset(&call, 0, sizeof call);
    call.on_data = sync_on_body;
    call.on_done = sync_on_done;
    call.arg = f;
    imap_parser_set_sink(imap_client_parser(&s->c), 0, sync_sink, f);
    while ((next < f->nw || f->inflight > 0) && !f->fetch_error && !f->error && !sync_interrupted) {
        while (next < f->nw && f->inflight < SYNC_INFLIGHT) {
            char set[SYNC_BATCH * 12];
            imap_seqset ss;
            const char *args[2];
            size_t k;
            imap_seqset_init(&ss, set, sizeof set);
            for (k = 0; k < SYNC_BATCH && next < f->nw; k++, next++) imap_seqset_add(&ss, f->w[next].uid);
            args[0] = set;
            args[1] = "(UID FLAGS BODY.PEEK[])";
            f->inflight++;
            rc = imap_uid(&s->c, "FETCH", args, 2, &call);
            if (rc != IMAP_OK) {
                f->inflight--;
                break;
            }
        }
        if (rc != IMAP_OK) break;
        rc = imap_client_poll(&s->c, 200);
        if (rc != IMAP_OK) break;
    }
    if (rc == IMAP_OK && !sync_interrupted) rc = imap_client_wait_all(&s->c);
    imap_parser_set_sink(imap_client_parser(&s->c), 0, NULL, NULL);
    if (f->tmp) {
        fclose(f->tmp);
        f->tmp = NULL;
        unlink(f->tmp_path);
    }
    if (f->bar && f->got < f->total) fputc('\n', stderr);
    if (f->error) die(XC_LOCAL, "%s: writing the Maildir: %s", f->label, strerror(f->error));
    if (sync_interrupted) return -1;
    if (rc != IMAP_OK) fail(s, f->label, rc);
    if (f->fetch_error) fail(s, f->label, f->fetch_error);
    /* a message expunged before we fetched it is simply not there */
    return 0;
}

/* ---- the state file -------------------------------------------------------- */

static void state_load(const char *dir, imap_sync_state *st)
{
    char path[4200], key[32];
    unsigned long long v;
    FILE *fp;
    memset(st, 0, sizeof *st);
    path_join(path, sizeof path, dir, "imapcat-sync.state", NULL);
    if (!(fp = fopen(path, "r"))) return;
    while (fscanf(fp, "%31s", key) == 1) {
        if (key[0] == '#' || fscanf(fp, "%llu", &v) != 1) {
            int ch;
            while ((ch = fgetc(fp)) != EOF && ch != '\n') {}
            continue;
        }
        if (strcmp(key, "uidvalidity") == 0) st->uidvalidity = v;
        else if (strcmp(key, "highestmodseq") == 0) st->highestmodseq = v;
        else if (strcmp(key, "uidnext") == 0) st->uidnext = v;
    }
    fclose(fp);
}

/* Written whole to a temporary name, then renamed over the old one. */
static void state_save(const char *dir, const imap_sync_state *st, const char *uids)
{
    char path[4200], tmp[4300];
    FILE *fp;
    path_join(path, sizeof path, dir, "imapcat-sync.state", NULL);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(fp = fopen(tmp, "w"))) die(XC_LOCAL, "%s: %s", tmp, strerror(errno));
    fprintf(fp, "# imapcat sync state: written after each complete sync\n"
            "uidvalidity %llu\nhighestmodseq %llu\nuidnext %llu\nuids %s\n",
            (unsigned long long)st->uidvalidity, (unsigned long long)st->highestmodseq,
            (unsigned long long)st->uidnext, uids && *uids ? uids : "-");
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || fclose(fp) != 0 || rename(tmp, path) != 0)
        die(XC_LOCAL, "%s: %s", path, strerror(errno));
}

/* The UIDs on disk as a set, "1:40,42" (malloc'd). */
static char *local_set(const folder_sync *f)
{
    imap_u64 *uids = (imap_u64 *)xrealloc(NULL, (f->nl + 1) * sizeof *uids);
    size_t i, n = 0, cap = f->nl * 12 + 16;
    char *buf = (char *)xrealloc(NULL, cap);
    imap_seqset ss;
    for (i = 0; i < f->nl; i++)
        if (f->l[i].name && (n == 0 || uids[n - 1] != f->l[i].uid)) uids[n++] = f->l[i].uid;
    imap_seqset_init(&ss, buf, cap);
    if (imap_seqset_compress(&ss, uids, n) != IMAP_OK) die(XC_LOCAL, "bad UID set");
    free(uids);
    return buf;
}

/* ---- one mailbox ---------------------------------------------------------- */

static int sync_method_cap;     /* --sync-method: 0 best, else IMAP_SYNC_* */

static int sync_folder(session *s, const char *mailbox, const char *dir)
{
    folder_sync f;
    imap_sync y;
    imap_sync_state st, old;
    char *known, *uids;
    size_t i;
    int rc;
    memset(&f, 0, sizeof f);
    f.s = s;
    f.dir = dir;
    f.label = mailbox;
    f.bar = isatty(2);
    mkdir_p(dir);
    scan_local(&f);
    state_load(dir, &st);
    old = st;
    known = local_set(&f);
    memset(&y, 0, sizeof y);
    y.mailbox = mailbox;
    y.readonly = 1;                         /* a pull never changes the server */
    y.max_method = sync_method_cap;
    y.known_uids = known;
    y.on_reset = sync_on_reset;
    y.on_message = sync_on_message;
    y.on_vanished = sync_on_vanished;
    y.arg = &f;
    rc = imap_sync_mailbox(&s->c, &y, &st);
    free(known);
    if (rc == IMAP_E_NO) fail_mailbox(s, mailbox, rc);
    if (rc != IMAP_OK) fail(s, mailbox, rc);
    if (f.error) die(XC_LOCAL, "%s: %s", dir, strerror(f.error));
    if (old.uidvalidity != st.uidvalidity) {
        /* the files now belong to this UIDVALIDITY; an interrupted pull
           resumes with a full comparison (no HIGHESTMODSEQ yet) */
        imap_sync_state mark;
        memset(&mark, 0, sizeof mark);
        mark.uidvalidity = st.uidvalidity;
        state_save(dir, &mark, NULL);
    }
    if (sync_download(&f) != 0) {
        fprintf(stderr, "imapcat: %s: interrupted; run sync again to finish\n", mailbox);
        exit(XC_INTERRUPTED);
    }
    uids = local_set(&f);
    /* what the sink fetched is on disk now: add it to the set */
    if (f.nw) {
        free(uids);
        scan_local_reset(&f);
        uids = local_set(&f);
    }
    /* nothing changed: the state file stays as it is (no fsync) */
    if (memcmp(&old, &st, sizeof st) != 0 || f.added || f.removed || f.renamed || f.nw)
        state_save(dir, &st, uids);
    free(uids);
    if (isatty(2) || getenv("IMAPCAT_SYNC_VERBOSE"))
        fprintf(stderr, "%s: %lu new, %lu flag changes, %lu removed (%s)\n", mailbox, f.added,
                f.renamed, f.removed,
                y.method == IMAP_SYNC_QRESYNC ? "QRESYNC" :
                y.method == IMAP_SYNC_CONDSTORE ? "CONDSTORE" : "plain");
    for (i = 0; i < f.nl; i++) free(f.l[i].name);
    free(f.l);
    free(f.w);
    return 0;
}

/* ---- every mailbox ---------------------------------------------------------- */

typedef struct mbox_list {
    char **names;               /* modified UTF-7, as listed */
    int *delims;
    size_t n, cap;
} mbox_list;

static void on_list_all(void *arg, imap_client *c, const imap_response *r)
{
    mbox_list *m = (mbox_list *)arg;
    imap_list_info li;
    char *name;
    (void)c;
    if (imap_list_decode(r, &li) != 0 || !li.mailbox.ptr) return;
    if (imap_flags_has(li.attributes, "\\Noselect") || imap_flags_has(li.attributes, "\\NonExistent"))
        return;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->names = (char **)xrealloc(m->names, m->cap * sizeof *m->names);
        m->delims = (int *)xrealloc(m->delims, m->cap * sizeof *m->delims);
    }
    name = (char *)xrealloc(NULL, li.mailbox.len + 1);
    memcpy(name, li.mailbox.ptr, li.mailbox.len);
    name[li.mailbox.len] = 0;
    m->names[m->n] = name;
    m->delims[m->n++] = li.delimiter;
}

/* Maildir++: INBOX is DIR itself, "a<delim>b" is DIR/.a.b */
static void folder_dir(const char *top, const char *name, int delim, char *out, size_t cap)
{
    size_t k, n;
    if (imap_str_is((imap_str){ name, strlen(name) }, "INBOX")) {
        snprintf(out, cap, "%s", top);
        return;
    }
    n = (size_t)snprintf(out, cap, "%s/.", top);
    for (k = 0; name[k] && n + 1 < cap; k++) {
        char ch = name[k];
        if (delim > 0 && ch == (char)delim) ch = '.';
        if (ch == '/') ch = '_';            /* never a path separator */
        out[n++] = ch;
    }
    out[n] = 0;
    if (n + 1 >= cap) die(XC_LOCAL, "%s: path too long", name);
}

static void cmd_sync(session *s, const target *tg, int argc, char **argv)
{
    struct sigaction sa;
    const char *top;
    if (argc != 1) usage_error("sync takes one DIR (the Maildir to pull into)");
    top = argv[0];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sync_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    mkdir_p(top);
    if (tg->has_mailbox) {
        sync_folder(s, tg->mailbox, top);
    } else {
        mbox_list m;
        imap_call call;
        size_t i;
        int rc;
        memset(&m, 0, sizeof m);
        memset(&call, 0, sizeof call);
        call.on_data = on_list_all;
        call.arg = &m;
        rc = imap_list(&s->c, "", "*", &call);
        if (rc != IMAP_OK) fail(s, "list", rc);
        for (i = 0; i < m.n; i++) {
            char dir[4200], utf8[1024];
            long n = imap_utf7_decode(m.names[i], strlen(m.names[i]), utf8, sizeof utf8);
            folder_dir(top, m.names[i], m.delims[i], dir, sizeof dir);
            if (strcmp(dir, top) != 0) {
                /* Maildir++ marks a folder with this empty file */
                char mark[4300];
                FILE *fp;
                mkdir_p(dir);
                snprintf(mark, sizeof mark, "%s/maildirfolder", dir);
                if ((fp = fopen(mark, "a")) != NULL) fclose(fp);
            }
            sync_folder(s, n >= 0 ? utf8 : m.names[i], dir);
            free(m.names[i]);
        }
        free(m.names);
        free(m.delims);
    }
}
