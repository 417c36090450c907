/* The decoding differential test's client half (tests/mime/run.sh).

     it_mime OUTDIR FILE.eml...      (IMAP_TEST_HOST/PORT/USER/PASS set)
     it_mime --delete MAILBOX

   With IT_MIME_KEEP=NAME the mailbox is NAME and stays for imapcat's
   turn (run.sh deletes it after with --delete).

   APPENDs the messages to a fresh mailbox of the private Dovecot, then
   for every message prints what imap.h decodes: the summary (subject,
   from, date) and, for every leaf part in IMAP section numbering, its
   file name (imap_body_filename over the BODYSTRUCTURE view) and its
   bytes through imap_fetch_part, once decoded by the server (BINARY)
   and once here (IMAP_PART_CLIENT_DECODE), written to OUTDIR. Strings
   are printed in hex so any byte survives. compare.py holds the other
   half: Python's email package on the same files. */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long iconv_convert(void *arg, imap_str charset, const void *in, size_t n,
                          char *out, size_t cap)
{
    char name[64], tmp[4096], *ip = (char *)(size_t)in, *op = tmp;
    size_t il = n, ol = sizeof tmp, len;
    iconv_t cd;
    (void)arg;
    if (charset.len >= sizeof name) return -1;
    memcpy(name, charset.ptr, charset.len);
    name[charset.len] = 0;
    cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) return -1;
    if (in && iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
        iconv_close(cd);
        return -1;
    }
    iconv_close(cd);
    len = (size_t)(op - tmp);
    if (out && len <= cap) memcpy(out, tmp, len);
    return (long)len;
}

static const imap_charset_conv conv = {iconv_convert, NULL};

static void die(const char *what, int rc)
{
    fprintf(stderr, "it_mime: %s: %s\n", what, imap_result_str(rc));
    exit(1);
}

static void hex(const char *s, size_t n)
{
    size_t i;
    if (n == 0) putchar('-');
    for (i = 0; i < n; i++) printf("%02x", (unsigned char)s[i]);
}

static void on_summary(void *arg, const imap_summary *s)
{
    (void)arg;
    if (s->result) {
        fprintf(stderr, "it_mime: summary of %llu needs %zu bytes\n",
                (unsigned long long)s->msgno, s->needed);
        return;
    }
    printf("M\t%llu\t%llu\t", (unsigned long long)s->msgno, (unsigned long long)s->uid);
    hex(s->subject, strlen(s->subject));
    putchar('\t');
    hex(s->from, strlen(s->from));
    putchar('\t');
    hex(s->date, strlen(s->date));
    putchar('\n');
}

/* leaf parts found in the BODYSTRUCTUREs */
typedef struct leaf {
    unsigned long msgno, uid;
    char section[64];
    char filename[512];
} leaf;

static leaf *leaves;
static size_t nleaves, capleaves;

static void add_leaf(unsigned long msgno, unsigned long uid, const char *section, const imap_body *b)
{
    leaf *l;
    long n;
    if (nleaves == capleaves) {
        capleaves = capleaves ? capleaves * 2 : 256;
        leaves = (leaf *)realloc(leaves, capleaves * sizeof *leaves);
        if (!leaves) exit(1);
    }
    l = &leaves[nleaves++];
    l->msgno = msgno;
    l->uid = uid;
    snprintf(l->section, sizeof l->section, "%s", section);
    n = imap_body_filename(b, l->filename, sizeof l->filename, NULL, &conv);
    if (n < 0) {
        fprintf(stderr, "it_mime: file name of %lu/%s: %s\n", msgno, section, imap_result_str((int)n));
        l->filename[0] = 0;
    }
}

/* The part tree, walked with an explicit stack (the numbering of
   RFC 3501 §6.4.5). */
static void walk(unsigned long msgno, unsigned long uid, const imap_value *root)
{
    struct { const imap_value *v; char prefix[64]; int top; } st[64];
    int sp = 0;
    st[0].v = root;
    st[0].prefix[0] = 0;
    st[0].top = 1;
    sp = 1;
    while (sp > 0) {
        imap_body b;
        char pre[64];
        int top;
        const imap_value *v = st[--sp].v, *ch;
        memcpy(pre, st[sp].prefix, sizeof pre);
        top = st[sp].top;
        if (imap_body_decode(v, &b) != 0) continue;
        if (!b.multipart && b.body && !top) {       /* message/rfc822 inside */
            imap_body inner;
            if (imap_body_decode(b.body, &inner) != 0) continue;
            if (!inner.multipart) {
                char s[64];
                snprintf(s, sizeof s, "%.40s.1", pre);
                add_leaf(msgno, uid, s, &inner);
                continue;
            }
            b = inner;
        }
        if (b.multipart) {
            unsigned i = b.nparts;
            /* push in reverse so parts come out in order */
            while (i > 0) {
                unsigned k = 1;
                for (ch = b.parts; ch && k < i; ch = ch->next) k++;
                if (sp < 64 && ch) {
                    st[sp].v = ch;
                    if (pre[0]) snprintf(st[sp].prefix, sizeof st[sp].prefix, "%.40s.%u", pre, i);
                    else snprintf(st[sp].prefix, sizeof st[sp].prefix, "%u", i);
                    st[sp].top = 0;
                    sp++;
                }
                i--;
            }
            continue;
        }
        add_leaf(msgno, uid, pre[0] ? pre : "1", &b);
    }
}

static void on_structure(void *arg, imap_client *c, const imap_response *r)
{
    const imap_value *bs = imap_fetch_get(r, "BODYSTRUCTURE"), *u = imap_fetch_get(r, "UID");
    imap_u64 uid = 0;
    (void)arg;
    (void)c;
    if (!bs || !u || imap_value_u64(u, &uid) != 0) return;
    walk((unsigned long)r->number, (unsigned long)uid, bs);
}

static int to_file(void *arg, const void *data, size_t len)
{
    return fwrite(data, 1, len, (FILE *)arg) == len ? 0 : 1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (char *)malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv)
{
    static imap_client c;
    static char sumbuf[4096];
    const char *host = getenv("IMAP_TEST_HOST"), *port = getenv("IMAP_TEST_PORT");
    const char *user = getenv("IMAP_TEST_USER"), *pass = getenv("IMAP_TEST_PASS");
    const char *outdir;
    char mbox[64];
    imap_transport t;
    imap_tcp tcp;
    imap_call call;
    unsigned char *mem;
    size_t i;
    int k, rc, binary_used = 0;
    const char *keep;
    if (argc < 3 || !host || !port || !user || !pass) {
        fprintf(stderr, "usage: it_mime OUTDIR FILE.eml... (with IMAP_TEST_* set)\n");
        return 2;
    }
    outdir = argv[1];
    keep = getenv("IT_MIME_KEEP");
    mem = (unsigned char *)malloc(256 * 1024);
    imap_client_init(&c, mem, 256 * 1024);
    imap_client_set_timeout(&c, 30000);
    if ((rc = imap_tcp_connect(&tcp, host, (unsigned)atoi(port), 5000, &t)) != 0) die("connect", rc);
    if ((rc = imap_client_open(&c, &t)) != 0) die("greeting", rc);
    if ((rc = imap_login(&c, user, pass, NULL)) != 0) die("login", rc);
    if (strcmp(outdir, "--delete") == 0) {
        rc = imap_delete(&c, argv[2], NULL);
        imap_logout(&c, NULL);
        imap_client_close(&c);
        free(mem);
        return rc != 0;
    }
    if (keep) snprintf(mbox, sizeof mbox, "%.60s", keep);
    else snprintf(mbox, sizeof mbox, "mime-%ld", (long)getpid());
    if ((rc = imap_create(&c, mbox, NULL)) != 0) die("create", rc);
    for (k = 2; k < argc; k++) {
        size_t n;
        char *msg = slurp(argv[k], &n);
        if (!msg) die(argv[k], IMAP_E_ARGS);
        rc = imap_append(&c, mbox, NULL, NULL, msg, n, NULL);
        free(msg);
        if (rc != 0) die("append", rc);
    }
    if ((rc = imap_select(&c, mbox, 1, NULL)) != 0) die("examine", rc);
    fprintf(stderr, "it_mime: %d messages appended to %s; BINARY %s\n", argc - 2, mbox,
            imap_client_has_cap(&c, "BINARY") ? "offered" : "not offered");

    rc = imap_fetch_summary(&c, "1:*", 0, &conv, sumbuf, sizeof sumbuf, on_summary, NULL);
    if (rc != 0) die("fetch summary", rc);

    memset(&call, 0, sizeof call);
    call.on_data = on_structure;
    if ((rc = imap_fetch(&c, "1:*", "(UID BODYSTRUCTURE)", &call)) != 0) die("fetch bodystructure", rc);

    for (i = 0; i < nleaves; i++) {
        leaf *l = &leaves[i];
        char path[2][600];
        int mode;
        for (mode = 0; mode < 2; mode++) {
            imap_part_info info;
            FILE *f;
            snprintf(path[mode], sizeof path[mode], "%s/%lu-%s.%s", outdir, l->msgno, l->section,
                     mode ? "client" : "server");
            f = fopen(path[mode], "wb");
            if (!f) die(path[mode], IMAP_E_ARGS);
            rc = imap_fetch_part(&c, l->uid, l->section, mode ? IMAP_PART_CLIENT_DECODE : 0,
                                 to_file, f, &info);
            fclose(f);
            if (rc != 0) {
                fprintf(stderr, "it_mime: part %s of UID %lu: %s\n", l->section, l->uid,
                        imap_result_str(rc));
                path[mode][0] = 0;
            }
            if (!mode && info.server_decoded) binary_used++;
            if (mode && info.server_decoded) {
                fprintf(stderr, "it_mime: CLIENT_DECODE still used BINARY\n");
                path[mode][0] = 0;
            }
        }
        printf("P\t%lu\t%s\t", l->msgno, l->section);
        hex(l->filename, strlen(l->filename));
        printf("\t%s\t%s\n", path[0][0] ? path[0] : "-", path[1][0] ? path[1] : "-");
    }
    fprintf(stderr, "it_mime: %zu parts, %d decoded by the server (BINARY)\n", nleaves, binary_used);
    printf("B\t%d\n", binary_used);
    imap_close(&c, NULL);
    if (!keep) imap_delete(&c, mbox, NULL);
    imap_logout(&c, NULL);
    imap_client_close(&c);
    free(leaves);
    free(mem);
    return 0;
}
