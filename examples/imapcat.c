/* imapcat - a command-line IMAP client built on imap.h.

   Build:  cc -O2 -I. examples/imapcat.c -o imapcat
   With TLS (imaps://, --starttls; Debian libbearssl-dev):
           cc -O2 -DIMAP_WITH_BEARSSL -I. examples/imapcat.c -o imapcat -lbearssl
   Usage:  imapcat [OPTIONS] imap://[USER@]HOST[:PORT][/MAILBOX] COMMAND [ARGS]
           imapcat [OPTIONS] --stream CMD [imap:///MAILBOX] COMMAND [ARGS]
   Run `imapcat --help` for the commands, options and exit codes.

   How it uses imap.h: the blocking imaplib-shaped calls (imap_login,
   imap_select, imap_status, imap_uid, imap_append), typed views in on_data
   callbacks (imap_list_decode, imap_status_decode, imap_numbers_next,
   imap_envelope_decode), the parser's literal sink to stream a message of
   any size to stdout through a small buffer, asynchronous imap_idle with
   imap_client_poll so Ctrl-C can end IDLE cleanly, and imap_result_str for
   the error messages. Every transport is opened in one place,
   session_open(), TLS included. */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Exit codes (documented in --help). */
enum {
    XC_OK = 0,
    XC_USAGE = 1,       /* bad arguments or input */
    XC_CONNECT = 2,     /* connection, TLS or protocol failure */
    XC_AUTH = 3,        /* login refused, or no password */
    XC_SERVER = 4,      /* the server answered NO or BAD */
    XC_NOTFOUND = 5,    /* no such mailbox or message */
    XC_LOCAL = 6,       /* local I/O: reading FILE, writing stdout */
    XC_PIPE = 7,        /* stdout was closed by its reader (| head) */
    XC_INTERRUPTED = 8  /* Ctrl-C during sync: run it again to finish */
};

static const char usage_text[] =
"usage: imapcat [OPTIONS] imap://[USER@]HOST[:PORT][/MAILBOX] COMMAND [ARGS]\n"
"       imapcat [OPTIONS] --stream CMD [imap:///MAILBOX] COMMAND [ARGS]\n"
"\n"
"The URL follows RFC 5092: USER and MAILBOX are percent-encoded UTF-8\n"
"(imap://me%40example.org@mail.example.org/Sent%20Items); PORT defaults to\n"
"143 and MAILBOX to INBOX. /;UID=N after the mailbox names a message for\n"
"fetch, and ;UIDVALIDITY=N checks that UIDs still mean what they meant;\n"
"/;SECTION=1.2 and /;PARTIAL=0.1024 after the UID fetch a part or a range;\n"
"?SEARCH after the mailbox (imap://h/INBOX?UNSEEN) is what search and\n"
"fetch take; USER;AUTH=MECH@HOST logs in with that SASL mechanism.\n"
"\n"
"Commands:\n"
"  list [PATTERN]      mailboxes matching PATTERN (default *): name, TAB, flags\n"
"  stat                the mailbox's message, unseen and next-UID counts\n"
"  search CRITERIA...  UIDs of matching messages, one a line\n"
"                      (imapcat URL search FROM alice SINCE 1-Mar-2024)\n"
"  fetch [UID|SET]     the raw message on stdout (--headers: its header only);\n"
"                      a UID set (1:5,9) or a search URL gives several, as\n"
"                      mboxrd on stdout, or one file each with -o DIR\n"
"  fetch UID --part N [-o FILE]  body part N (IMAP numbering: 2, 1.2), its\n"
"                      transfer encoding undone, to stdout or FILE\n"
"  summary [N]         the newest N messages (default 20), one a line: UID,\n"
"                      date, from, subject (TAB separated, decoded to UTF-8)\n"
"  append FILE         add FILE (- for stdin) to the mailbox; bare LF line\n"
"                      ends become CRLF; prints the new UID if the server\n"
"                      tells it (UIDPLUS)\n"
"  idle                a line per new message (UID, From, Subject, TAB\n"
"                      separated, decoded) until Ctrl-C or --timeout\n"
"  sync DIR            pull the URL's mailbox (all of them when it names\n"
"                      none: INBOX in DIR, the others as Maildir++ DIR/.Name)\n"
"                      into Maildir DIR, only what changed since the last\n"
"                      sync (QRESYNC, CONDSTORE or plain: --sync-method);\n"
"                      flags in the file names, expunged messages removed,\n"
"                      DIR/imapcat-sync.state written last, so Ctrl-C or a\n"
"                      drop loses nothing: sync again to finish\n"
"\n"
"Options:\n"
"  --stream CMD        speak IMAP over CMD's stdin/stdout (run by sh -c)\n"
"                      instead of a network connection, e.g.\n"
"                      --stream 'ssh mail.example.org /usr/lib/dovecot/imap'\n"
"  --headers           fetch: only the message header\n"
"  -o DIR              fetch: write each message to DIR/UID.eml\n"
"                      (with --part N: the part goes to the FILE -o names)\n"
"  --timeout SECONDS   idle: stop after this long (default: never)\n"
"  --sync-method M     sync: use no better than M (qresync, condstore, plain)\n"
"  imaps://            implicit TLS (port 993); needs a build with TLS\n"
"  --starttls          upgrade with STARTTLS; refuses a server without it\n"
"  --cafile FILE       trust these CA certificates (default: the system bundle)\n"
"  --insecure          do not check the certificate (loud; for tests only)\n"
"  -v, --verbose       show the protocol on stderr (credentials hidden)\n"
"  -h, --help          this text\n"
"\n"
"The password comes from $IMAP_PASSWORD, else ~/.netrc (machine HOST login\n"
"USER password ...; not if others may read it), else a prompt on the\n"
"terminal; never from the command line. Without USER in the URL, $USER is used.\n"
"A progress bar shows on stderr for long fetches when stderr is a terminal\n"
"and stdout is not.\n"
"\n"
"Exit codes:\n"
"  0  success\n"
"  1  usage: bad arguments or input\n"
"  2  connection, TLS or protocol failure (cannot connect, connection lost)\n"
"  3  authentication: login refused, or no password\n"
"  4  the server answered NO or BAD\n"
"  5  not found: no such mailbox, no message with that UID\n"
"  6  local I/O error: reading FILE, writing stdout\n"
"  7  stdout closed by its reader (imapcat ... | head): the rest is dropped\n"
"  8  sync interrupted (Ctrl-C): what is on disk is whole; sync again\n";

/* ---- what the command line asked for ---------------------------------- */

enum { SCHEME_IMAP, SCHEME_IMAPS, SCHEME_STREAM };

typedef struct target {
    int scheme;
    char user[256];             /* empty: $USER (if a login is needed) */
    char host[256];
    unsigned port;
    char mailbox[1024];         /* UTF-8 */
    unsigned long uidvalidity;  /* 0: not given */
    unsigned long uid;          /* 0: not given */
    int has_mailbox;            /* the URL named one */
    char auth[32];              /* ;AUTH=<mech> (RFC 5092 §3.2); "" or "*": LOGIN */
    char section[128];          /* /;SECTION=<section> */
    unsigned long partial_start, partial_len;   /* /;PARTIAL=<start>[.<len>] */
    int has_partial;
    char search[1024];          /* ?<search program>, decoded */
} target;

typedef struct options {
    const char *stream_cmd;
    int headers;
    const char *part;           /* fetch --part N (-o: its FILE) */
    long timeout_s;             /* idle: 0 = until interrupted */
    int verbose;
    /* TLS hooks: parsed now, used by the TLS layer when it is built in */
    int starttls;
    int insecure;
    const char *cafile;
    const char *outdir;         /* fetch -o DIR: a file per message */
} options;

typedef struct session {
    imap_client c;
    imap_transport t;
    imap_tcp tcp;
    imap_stream stream;
    unsigned char *mem;
    int open;
#ifdef IMAP_WITH_BEARSSL
    imap_tls tls;                   /* ~40 KiB of BearSSL state */
    unsigned char *tls_mem;         /* trust anchors */
#endif
} session;

#define TLS_MEM (512u * 1024)       /* the system bundle needs ~70 KiB */

#define SESSION_MEM (256u * 1024)   /* any message size: literals stream */

static session *g_session;          /* closed by die() */

static void session_close(session *s)
{
    if (s && s->open) {
        imap_client_close(&s->c);
        s->open = 0;
    }
}

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "imapcat: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    session_close(g_session);
    exit(code);
}

static void usage_error(const char *msg)
{
    fprintf(stderr, "imapcat: %s\n", msg);
    fprintf(stderr, "Try 'imapcat --help'.\n");
    exit(XC_USAGE);
}

/* ---- the URL (RFC 5092) ----------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into out (NUL-terminated). %00 is refused: IMAP
   strings cannot hold NUL. Returns 0, or -1. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            int hi, lo;
            if (i + 2 >= n) return -1;
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            ch = hi * 16 + lo;
            if (ch == 0) return -1;
            i += 2;
        }
        if (k + 1 >= cap) return -1;
        out[k++] = (char)ch;
    }
    out[k] = 0;
    return 0;
}

static int prefix_ci(const char *s, const char *p)
{
    for (; *p; s++, p++) {
        char a = *s, b = *p;
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

/* A decimal number 1..max, the whole of s[0..n). */
static int parse_num(const char *s, size_t n, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    size_t i;
    if (n == 0 || n > 10 || s[0] == '0') return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

/* imap[s]://[user[;AUTH=*]@]host[:port][/mailbox[;UIDVALIDITY=n][/;UID=n]] */
static const char *parse_url(const char *url, target *tg)
{
    const char *p, *auth_end, *at = NULL, *host, *host_end, *q;
    if (prefix_ci(url, "imap://")) {
        tg->scheme = SCHEME_IMAP;
        tg->port = 143;
        p = url + 7;
    } else if (prefix_ci(url, "imaps://")) {
        tg->scheme = SCHEME_IMAPS;
        tg->port = 993;
        p = url + 8;
    } else {
        return "the URL must start with imap:// or imaps://";
    }
    auth_end = p + strcspn(p, "/?#");
    for (q = p; q < auth_end; q++)
        if (*q == '@') at = q;
    if (at) {
        const char *semi = memchr(p, ';', (size_t)(at - p));
        const char *uend = semi ? semi : at;
        if (semi) {
            /* ;AUTH=* is LOGIN (or any); else a SASL mechanism's name */
            size_t n = (size_t)(at - semi), k;
            if (!prefix_ci(semi, ";AUTH=") || n <= 6 || n - 6 >= sizeof tg->auth)
                return "bad ;AUTH= in the URL";
            for (k = 6; k < n; k++) {
                char ch = semi[k];
                if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '*'))
                    return "bad ;AUTH= mechanism in the URL";
            }
            memcpy(tg->auth, semi + 6, n - 6);
            tg->auth[n - 6] = 0;
            if (strcmp(tg->auth, "*") == 0) tg->auth[0] = 0;
        }
        if (uend > p && pct_decode(p, (size_t)(uend - p), tg->user, sizeof tg->user) != 0)
            return "bad percent-encoding in the user name";
        host = at + 1;
    } else {
        host = p;
    }
    if (*host == '[') {                             /* [IPv6] */
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (!host_end) return "unterminated [ in the host";
        if ((size_t)(host_end - host - 1) >= sizeof tg->host) return "host name too long";
        memcpy(tg->host, host + 1, (size_t)(host_end - host - 1));
        tg->host[host_end - host - 1] = 0;
        host_end++;
    } else {
        host_end = host;
        while (host_end < auth_end && *host_end != ':') host_end++;
        if ((size_t)(host_end - host) >= sizeof tg->host) return "host name too long";
        memcpy(tg->host, host, (size_t)(host_end - host));
        tg->host[host_end - host] = 0;
    }
    if (host_end < auth_end) {
        unsigned long port;
        if (*host_end != ':' ||
            parse_num(host_end + 1, (size_t)(auth_end - host_end - 1), 65535, &port) != 0)
            return "bad port";
        tg->port = (unsigned)port;
    }
    p = auth_end;
    strcpy(tg->mailbox, "INBOX");
    if (*p == '?' || *p == '#') return "URL queries and fragments are not supported";
    if (*p == '/') {
        const char *mb = ++p, *mb_end = p + strcspn(p, ";?#");
        /* "/;UID=n" ends the mailbox part */
        if (mb_end > mb && mb_end[-1] == '/' && *mb_end == ';') mb_end--;
        if (mb_end > mb &&
            pct_decode(mb, (size_t)(mb_end - mb), tg->mailbox, sizeof tg->mailbox) != 0)
            return "bad percent-encoding in the mailbox";
        tg->has_mailbox = mb_end > mb;
        p = mb_end;
        if (prefix_ci(p, ";UIDVALIDITY=")) {
            size_t n;
            p += 13;
            n = strcspn(p, "/?#");
            if (parse_num(p, n, 4294967295ul, &tg->uidvalidity) != 0) return "bad UIDVALIDITY";
            p += n;
        }
        if (prefix_ci(p, "/;UID=")) {
            size_t n;
            p += 6;
            n = strcspn(p, "/?#");
            if (parse_num(p, n, 4294967295ul, &tg->uid) != 0) return "bad UID";
            p += n;
            if (prefix_ci(p, "/;SECTION=")) {
                size_t k;
                p += 10;
                n = strcspn(p, "/?#");
                if (n == 0 || pct_decode(p, n, tg->section, sizeof tg->section) != 0)
                    return "bad ;SECTION=";
                for (k = 0; tg->section[k]; k++) {
                    char ch = tg->section[k];
                    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                          (ch >= '0' && ch <= '9') || ch == '.' || ch == ' ' || ch == '(' ||
                          ch == ')' || ch == '-'))
                        return "bad ;SECTION= (a part number, HEADER, TEXT, MIME, ...)";
                }
                p += n;
            }
            if (prefix_ci(p, "/;PARTIAL=")) {
                const char *dot;
                p += 10;
                n = strcspn(p, "/?#");
                dot = memchr(p, '.', n);
                if ((p[0] == '0' && (n == 1 || p[1] == '.')) ? 0 :
                    parse_num(p, dot ? (size_t)(dot - p) : n, 4294967295ul, &tg->partial_start) != 0)
                    return "bad ;PARTIAL=";
                if (dot && parse_num(dot + 1, n - (size_t)(dot + 1 - p), 4294967295ul,
                                     &tg->partial_len) != 0)
                    return "bad ;PARTIAL= length";
                tg->has_partial = 1;
                p += n;
            }
        }
        if (*p == '?' && !tg->uid) {
            size_t n;
            p++;
            n = strcspn(p, "#");
            if (n == 0 || pct_decode(p, n, tg->search, sizeof tg->search) != 0)
                return "bad ?search in the URL";
            p += n;
        }
        if (*p) return "URL parts after the mailbox and UID are not supported";
    }
    return NULL;
}

/* ---- errors ------------------------------------------------------------ */

/* Did the last tagged response carry this response code (RFC 5530)? The
   client keeps codes in its store; take them out so they do not linger. */
static int had_code(session *s, const char *code)
{
    char buf[512];
    size_t n;
    int found = 0;
    while (imap_client_response(&s->c, code, buf, sizeof buf, &n) != 0) found = 1;
    return found;
}

/* Report a failed call and exit with the code a script can act on. */
static void fail(session *s, const char *what, int rc)
{
    const char *text = s->c.last_text;
    int code;
    if (rc == IMAP_E_NO || rc == IMAP_E_BAD)
        die(XC_SERVER, "%s: %s: %s", what, imap_result_str(rc), text);
    switch (imap_result_class_of(rc)) {
    case IMAP_CLASS_ABORT:
        code = XC_CONNECT;
        break;
    default:
        code = rc == IMAP_E_AUTH || rc == IMAP_E_PLAINTEXT ? XC_AUTH :
               rc == IMAP_E_ARGS ? XC_USAGE :
               rc == IMAP_E_SINK ? XC_LOCAL : XC_SERVER;
        break;
    }
    if (rc == IMAP_E_SINK) die(code, "%s: cannot write the message: %s", what, strerror(errno));
    if (rc == IMAP_E_CAPS_CUT) code = XC_AUTH;
    {
        char full[512];
        imap_error_text(full, sizeof full, rc, &s->c, NULL, NULL);
        die(code, "%s: %s", what, full);
    }
}

#ifdef IMAP_WITH_BEARSSL
/* A TLS failure in full (imap_error_text), and what to do about it. */
static void tls_die(session *s, const char *host, int rc)
{
    char full[512];
    const char *hint = NULL;
    imap_error_text(full, sizeof full, rc, &s->c, &s->tcp, &s->tls);
    switch (s->tls.cert_problem) {
    case IMAP_CERT_UNKNOWN_CA: case IMAP_CERT_SELF_SIGNED: case IMAP_CERT_INCOMPLETE_CHAIN:
        hint = "if you trust this server, give its CA certificate with --cafile FILE";
        break;
    case IMAP_CERT_IP:
        hint = "connect by the host name in the certificate, not by its IP address";
        break;
    case IMAP_CERT_HOSTNAME:
        hint = "the certificate is for another name: check the host in the URL";
        break;
    default:
        if (strstr(s->tls.detail, "plaintext"))
            hint = "this port does not speak TLS: use imap:// with --starttls (port 143)";
        break;
    }
    die(XC_CONNECT, "TLS with %s: %s%s%s", host, full, hint ? "\nhint: " : "", hint ? hint : "");
}
#endif

typedef struct list_match {
    const char *want;           /* UTF-8 */
    int found;
} list_match;

static void on_list_match(void *arg, imap_client *c, const imap_response *r)
{
    list_match *m = (list_match *)arg;
    imap_list_info li;
    char utf8[1024];
    long n;
    (void)c;
    if (imap_list_decode(r, &li) != 0 || !li.mailbox.ptr) return;
    n = imap_utf7_decode(li.mailbox.ptr, li.mailbox.len, utf8, sizeof utf8);
    if (n >= 0 && strlen(m->want) == (size_t)n && memcmp(utf8, m->want, (size_t)n) == 0)
        m->found = 1;
    if (n >= 0 && imap_str_is(li.mailbox, "INBOX") && imap_str_is(li.mailbox, m->want))
        m->found = 1;               /* INBOX in any case (RFC 3501 §5.1) */
}

/* A NO about a mailbox: exit 5 if it does not exist. Servers say so with
   [NONEXISTENT] or [TRYCREATE] (RFC 5530, RFC 3501 §6.3.11), or not at
   all (Dovecot 2.3 on STATUS and EXAMINE): then LIST tells. */
static void fail_mailbox(session *s, const char *mailbox, int rc)
{
    char text[sizeof s->c.last_text];
    list_match m;
    imap_call call;
    if (rc != IMAP_E_NO) fail(s, mailbox, rc);
    if (had_code(s, "NONEXISTENT") || had_code(s, "TRYCREATE"))
        die(XC_NOTFOUND, "%s: no such mailbox", mailbox);
    memcpy(text, s->c.last_text, sizeof text);
    memset(&m, 0, sizeof m);
    memset(&call, 0, sizeof call);
    m.want = mailbox;
    call.on_data = on_list_match;
    call.arg = &m;
    if (imap_list(&s->c, "", mailbox, &call) == IMAP_OK && !m.found)
        die(XC_NOTFOUND, "%s: no such mailbox", mailbox);
    die(XC_SERVER, "%s: %s: %s", mailbox, imap_result_str(rc), text);
}

/* ---- connecting --------------------------------------------------------- */

static long long now_ms(void *arg)
{
    struct timespec ts;
    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_debug(void *arg, const char *line, size_t len)
{
    (void)arg;
    fprintf(stderr, "  %.*s\n", (int)len, line);
}

/* The one place a transport is opened. TLS goes here: for imaps:// wrap
   s->t in the TLS transport before imap_client_open (certificate checked
   against o->cafile or the system store, unless o->insecure); for
   --starttls send imap_starttls after the greeting, wrap, and hand the
   new transport to imap_client_set_transport. */
static void session_open(session *s, const target *tg, const options *o)
{
    int rc;
    memset(s, 0, sizeof *s);
    s->mem = (unsigned char *)malloc(SESSION_MEM);
    if (!s->mem) die(XC_LOCAL, "out of memory");
    imap_client_init(&s->c, s->mem, SESSION_MEM);
    imap_client_set_clock(&s->c, now_ms, NULL);
    imap_client_set_timeout(&s->c, 60000);
    if (o->verbose) imap_client_set_debug(&s->c, IMAP_DEBUG_PROTOCOL, on_debug, NULL);

#ifdef IMAP_WITH_BEARSSL
    if (tg->scheme == SCHEME_IMAPS || o->starttls) {
        imap_tls_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.ca_file = o->cafile;          /* NULL: the system bundle */
        cfg.insecure = o->insecure;
        if (o->insecure)
            fprintf(stderr, "imapcat: WARNING: --insecure: the server's certificate is "
                    "NOT checked; anyone on the path can read and change this session\n");
        s->tls_mem = (unsigned char *)malloc(TLS_MEM);
        if (!s->tls_mem) die(XC_LOCAL, "out of memory");
        rc = imap_tls_init(&s->tls, &cfg, s->tls_mem, TLS_MEM);
        if (rc != IMAP_OK) {
            char full[512];
            imap_error_text(full, sizeof full, rc, NULL, NULL, &s->tls);
            die(XC_CONNECT, "TLS set-up (%s): %s", o->cafile ? o->cafile : "system CA bundle", full);
        }
    } else if (o->cafile || o->insecure) {
        die(XC_USAGE, "--cafile and --insecure go with imaps:// or --starttls");
    }
#else
    if (tg->scheme == SCHEME_IMAPS || o->starttls || o->cafile || o->insecure)
        die(XC_CONNECT, "TLS is not built into this imapcat (imaps://, --starttls, "
            "--cafile, --insecure; build with -DIMAP_WITH_BEARSSL -lbearssl); "
            "refusing to fall back to plaintext");
#endif

    if (tg->scheme == SCHEME_STREAM) {
        rc = imap_stream_open(&s->stream, o->stream_cmd, &s->t);
        if (rc != IMAP_OK)
            die(XC_CONNECT, "cannot start '%s': %s", o->stream_cmd, strerror(s->stream.error));
    } else {
        rc = imap_tcp_connect(&s->tcp, tg->host, tg->port, 15000, &s->t);
        if (rc != IMAP_OK) {
            if (s->tcp.gai_error)
                die(XC_CONNECT, "%s: %s", tg->host, gai_strerror(s->tcp.gai_error));
            die(XC_CONNECT, "connect to %s port %u: %s", tg->host, tg->port,
                rc == IMAP_E_TIMEOUT ? "timed out" :
                s->tcp.error ? strerror(s->tcp.error) : imap_result_str(rc));
        }
    }
    s->open = 1;
    g_session = s;
#ifdef IMAP_WITH_BEARSSL
    if (tg->scheme == SCHEME_IMAPS)
        rc = imap_client_open_tls(&s->c, &s->t, &s->tls, tg->host);
    else if (o->starttls)
        rc = imap_client_open_starttls(&s->c, &s->t, &s->tls, tg->host);
    else
#endif
    rc = imap_client_open(&s->c, &s->t);
#ifdef IMAP_WITH_BEARSSL
    if (rc != IMAP_OK && (tg->scheme == SCHEME_IMAPS || o->starttls) &&
        (imap_result_class_of(rc) == IMAP_CLASS_ABORT || rc == IMAP_E_CAPABILITY ||
         rc == IMAP_E_PLAINTEXT))
        tls_die(s, tg->host, rc);
#endif
    if (rc != IMAP_OK) {
        if (rc == IMAP_E_BYE)
            die(XC_CONNECT, "the server refused the connection: %s", s->c.last_text);
        if (rc == IMAP_E_CLOSED && tg->scheme == SCHEME_STREAM)
            die(XC_CONNECT, "'%s' ended without an IMAP greeting", o->stream_cmd);
        fail(s, "greeting", rc);
    }
}

/* ---- the password: $IMAP_PASSWORD or the terminal ----------------------- */

static int netrc_password(const char *host, const char *user, char *out, size_t cap);

static int tty_fd = -1;
static struct termios tty_saved;

/* Ctrl-C at the prompt: turn echo back on before dying of the signal. */
static void tty_restore(int sig)
{
    if (tty_fd >= 0) tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void read_password(const target *tg, const char *user, char *out, size_t cap)
{
    const char *env = getenv("IMAP_PASSWORD");
    struct termios quiet;
    struct sigaction sa, old_int, old_term, old_hup;
    size_t n = 0;
    char ch, prompt[600];
    int ok = 1;
    if (env) {
        if (strlen(env) >= cap) die(XC_AUTH, "IMAP_PASSWORD is too long");
        strcpy(out, env);
        return;
    }
    if (tg->scheme != SCHEME_STREAM && netrc_password(tg->host, user, out, cap)) return;
    tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty_fd < 0 || tcgetattr(tty_fd, &tty_saved) != 0)
        die(XC_AUTH, "no password: set IMAP_PASSWORD (no terminal to ask on)");
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tty_restore;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    quiet = tty_saved;
    quiet.c_lflag &= (tcflag_t)~ECHO;
    quiet.c_lflag |= ECHONL;                    /* still echo the Enter */
    sprintf(prompt, "Password for %.255s@%.255s: ", user,
            tg->scheme == SCHEME_STREAM ? "stream" : tg->host);
    if (write(tty_fd, prompt, strlen(prompt)) < 0) ok = 0;
    tcsetattr(tty_fd, TCSAFLUSH, &quiet);
    for (;;) {
        ssize_t k = read(tty_fd, &ch, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0 || ch == '\n' || ch == '\r') break;
        if (n + 1 < cap) out[n++] = ch;
        else ok = 0;
    }
    out[n] = 0;
    tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    close(tty_fd);
    tty_fd = -1;
    if (!ok) die(XC_AUTH, "could not read the password");
}

static void login(session *s, const target *tg)
{
    char password[1024];
    const char *user = tg->user[0] ? tg->user : getenv("USER");
    volatile char *wipe = password;
    size_t i;
    int rc;
    if (s->c.state != IMAP_STATE_NONAUTH) return;   /* PREAUTH */
    if (!user || !*user) die(XC_AUTH, "no user name: put it in the URL (imap://USER@host)");
    read_password(tg, user, password, sizeof password);
    rc = tg->auth[0] ? imap_login_sasl(&s->c, tg->auth, user, password, NULL)
                     : imap_login(&s->c, user, password, NULL);
    for (i = 0; i < sizeof password; i++) wipe[i] = 0;
    if (rc == IMAP_E_NO || rc == IMAP_E_BAD)
        die(XC_AUTH, "login as %s refused: %s", user, s->c.last_text);
    if (rc == IMAP_E_PLAINTEXT)
        die(XC_AUTH, "the server does not allow a password without TLS (LOGINDISABLED)");
    if (rc == IMAP_E_CAPABILITY || rc == IMAP_E_UNSUPPORTED)
        die(XC_AUTH, ";AUTH=%s: %s", tg->auth,
            rc == IMAP_E_CAPABILITY ? "the server does not offer it" : "not built in");
    if (rc != IMAP_OK) fail(s, "login", rc);
}

static void examine(session *s, const target *tg)
{
    int rc = imap_examine(&s->c, tg->mailbox, NULL);
    if (rc != IMAP_OK) fail_mailbox(s, tg->mailbox, rc);
    if (tg->uidvalidity) {
        char buf[32];
        size_t n;
        if (imap_client_response(&s->c, "UIDVALIDITY", buf, sizeof buf, &n) == 1 &&
            strtoul(buf, NULL, 10) != tg->uidvalidity)
            die(XC_NOTFOUND, "%s: UIDVALIDITY is %s, not %lu: the UIDs of the URL are stale",
                tg->mailbox, buf, tg->uidvalidity);
    }
}

/* ---- list ------------------------------------------------------------- */

static void print_mailbox(imap_str name)
{
    char utf8[1024];
    long n = imap_utf7_decode(name.ptr, name.len, utf8, sizeof utf8);
    if (n >= 0) fwrite(utf8, 1, (size_t)n, stdout);
    else fwrite(name.ptr, 1, name.len, stdout);     /* not modified UTF-7: as sent */
}

static void on_list(void *arg, imap_client *c, const imap_response *r)
{
    imap_list_info li;
    const imap_value *f;
    int first = 1;
    (void)arg;
    (void)c;
    if (imap_list_decode(r, &li) != 0 || !li.mailbox.ptr) return;
    print_mailbox(li.mailbox);
    for (f = li.attributes ? li.attributes->child : NULL; f; f = f->next) {
        if (f->type != IMAP_ATOM) continue;
        printf("%s%.*s", first ? "\t" : " ", (int)f->len, f->str);
        first = 0;
    }
    putchar('\n');
}

static void cmd_list(session *s, int argc, char **argv)
{
    imap_call call;
    int rc;
    if (argc > 1) usage_error("list takes at most one PATTERN");
    memset(&call, 0, sizeof call);
    call.on_data = on_list;
    rc = imap_list(&s->c, NULL, argc ? argv[0] : NULL, &call);
    if (rc != IMAP_OK) fail(s, "list", rc);
}

/* ---- stat ------------------------------------------------------------- */

static void on_status(void *arg, imap_client *c, const imap_response *r)
{
    imap_status_info *st = (imap_status_info *)arg;
    (void)c;
    imap_status_decode(r, st);
}

static void cmd_stat(session *s, const target *tg, int argc)
{
    imap_status_info st;
    imap_call call;
    int rc;
    if (argc) usage_error("stat takes no arguments");
    memset(&st, 0, sizeof st);
    memset(&call, 0, sizeof call);
    call.on_data = on_status;
    call.arg = &st;
    rc = imap_status(&s->c, tg->mailbox, "(MESSAGES UNSEEN UIDNEXT)", &call);
    if (rc != IMAP_OK) fail_mailbox(s, tg->mailbox, rc);
    if ((st.has & (IMAP_ST_MESSAGES | IMAP_ST_UNSEEN | IMAP_ST_UIDNEXT)) !=
        (IMAP_ST_MESSAGES | IMAP_ST_UNSEEN | IMAP_ST_UIDNEXT))
        die(XC_CONNECT, "%s: the server's STATUS answer lacks a count", tg->mailbox);
    printf("messages %llu\nunseen %llu\nuidnext %llu\n", (unsigned long long)st.messages,
           (unsigned long long)st.unseen, (unsigned long long)st.uidnext);
}

#include "imapcat_fetchset.c"

/* ---- search ----------------------------------------------------------- */

static void on_search(void *arg, imap_client *c, const imap_response *r)
{
    const imap_value *cur = r->args;
    imap_u64 uid;
    (void)arg;
    (void)c;
    if (!imap_response_is(r, "SEARCH")) return;
    while (imap_numbers_next(&cur, &uid) == 1) printf("%llu\n", (unsigned long long)uid);
}

static void cmd_search(session *s, const target *tg, int argc, char **argv)
{
    const char **args;
    imap_call call;
    int i, n = 0, eight_bit = 0, rc;
    if (argc == 0 && tg->search[0]) {
        search_url(s, tg);
        return;
    }
    if (argc == 0) usage_error("search needs CRITERIA, e.g. ALL, FROM alice, UNSEEN");
    args = (const char **)malloc(sizeof *args * (size_t)(argc + 2));
    if (!args) die(XC_LOCAL, "out of memory");
    for (i = 0; i < argc; i++) {
        const unsigned char *p;
        for (p = (const unsigned char *)argv[i]; *p; p++)
            if (*p >= 0x80) eight_bit = 1;
    }
    if (eight_bit) {                    /* RFC 3501 §6.4.4 */
        args[n++] = "CHARSET";
        args[n++] = "UTF-8";
    }
    for (i = 0; i < argc; i++) args[n++] = argv[i];
    examine(s, tg);
    memset(&call, 0, sizeof call);
    call.on_data = on_search;
    rc = imap_uid(&s->c, "SEARCH", args, (size_t)n, &call);
    free(args);
    if (rc != IMAP_OK) fail(s, "search", rc);
}

/* ---- fetch ------------------------------------------------------------ */

typedef struct fetch_state {
    unsigned long uid;
    imap_u64 msgno;             /* the message's number, from the first FETCH */
    imap_u64 size;              /* RFC822.SIZE */
    int found;
    int got;                    /* the body arrived */
    imap_u64 written;
    int bar;                    /* draw the progress bar */
    int bar_pct;
    int write_error;
} fetch_state;

static int is_body_item(imap_str item)
{
    return item.len >= 5 && prefix_ci(item.ptr, "BODY[");
}

static void progress(fetch_state *f, imap_u64 done, imap_u64 total)
{
    static const char hashes[] = "##############################";
    int pct, w;
    if (!f->bar || total == 0) return;
    pct = (int)(done * 100 / total);
    if (pct == f->bar_pct) return;
    f->bar_pct = pct;
    w = pct * 30 / 100;
    fprintf(stderr, "\rUID %lu [%-30.*s] %3d%%  %.1f of %.1f MB", f->uid, w, hashes, pct,
            (double)done / 1e6, (double)total / 1e6);
    if (done >= total) fputs("\n", stderr);
    fflush(stderr);
}

/* The literal sink: message bytes go to stdout as they arrive, so a
   message of any size needs only the parser's buffer (imap.h §4). */
static int on_literal(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    fetch_state *f = (fetch_state *)ctx;
    if (info->msgno != f->msgno || !is_body_item(info->item)) return 0;   /* not ours */
    if (len && fwrite(data, 1, len, stdout) != len) {
        f->write_error = errno ? errno : EIO;
        return 1;                       /* the parser drops the rest */
    }
    f->written += len;
    progress(f, info->offset + len, info->total);
    return 0;
}

static void on_size(void *arg, imap_client *c, const imap_response *r)
{
    fetch_state *f = (fetch_state *)arg;
    const imap_value *uid = imap_fetch_get(r, "UID"), *size = imap_fetch_get(r, "RFC822.SIZE");
    imap_u64 u;
    (void)c;
    if (!uid || imap_value_u64(uid, &u) != 0 || u != f->uid) return;
    f->found = 1;
    f->msgno = r->number;
    if (size) imap_value_u64(size, &f->size);
}

static void on_body(void *arg, imap_client *c, const imap_response *r)
{
    fetch_state *f = (fetch_state *)arg;
    imap_fetch_iter it;
    imap_fetch_attr a;
    (void)c;
    if (r->number != f->msgno || imap_fetch_begin(r, &it) != 0) return;
    while (imap_fetch_next(&it, &a) == 1) {
        imap_str v;
        if (!imap_str_is(a.name, "BODY") || !a.has_section) continue;
        f->got = 1;
        /* a short body stays in the parser (not sunk): write it here */
        if (!(a.value->flags & IMAP_VF_SUNK) && imap_value_str(a.value, &v) == 0 && v.len) {
            if (fwrite(v.ptr, 1, v.len, stdout) != v.len) f->write_error = errno ? errno : EIO;
            f->written += v.len;
        }
    }
}

static void cmd_fetch(session *s, const target *tg, const options *o, int argc, char **argv)
{
    fetch_state f;
    imap_call call;
    const char *args[2];
    char uidbuf[16], items[256];
    int rc;
    memset(&f, 0, sizeof f);
    f.bar_pct = -1;
    /* a set (1:5,9), a search URL or -o DIR: several messages */
    if ((argc == 1 && strspn(argv[0], "0123456789") != strlen(argv[0])) ||
        (argc == 0 && !tg->uid && tg->search[0]) || o->outdir) {
        cmd_fetch_set(s, tg, o, argc ? argv[0] : NULL);
        return;
    }
    if (argc > 1) usage_error("fetch takes one UID or a UID set");
    if (argc == 1) {
        if (parse_num(argv[0], strlen(argv[0]), 4294967295ul, &f.uid) != 0)
            usage_error("fetch: the UID must be a number from 1 to 4294967295");
    } else if (tg->uid) {
        f.uid = tg->uid;
    } else {
        usage_error("fetch needs a UID (an argument, or /;UID=N in the URL)");
    }
    sprintf(uidbuf, "%lu", f.uid);
    examine(s, tg);

    /* first the size (for the progress bar) and the message number */
    memset(&call, 0, sizeof call);
    call.on_data = on_size;
    call.arg = &f;
    args[0] = uidbuf;
    args[1] = "(UID RFC822.SIZE)";
    rc = imap_uid(&s->c, "FETCH", args, 2, &call);
    if (rc != IMAP_OK) fail(s, "fetch", rc);
    if (!f.found) die(XC_NOTFOUND, "%s: no message with UID %lu", tg->mailbox, f.uid);

    /* then the bytes, through the sink. A bar only when someone watches
       stderr, and not over message text going to the same terminal. */
    f.bar = !o->headers && f.size >= 256 * 1024 && isatty(2) && !isatty(1);
    imap_parser_set_sink(imap_client_parser(&s->c), 0, on_literal, &f);
    call.on_data = on_body;
    args[1] = body_items(tg, o, items, sizeof items);
    errno = 0;
    rc = imap_uid(&s->c, "FETCH", args, 2, &call);
    imap_parser_set_sink(imap_client_parser(&s->c), 0, NULL, NULL);
    if (f.bar && f.bar_pct >= 0 && f.bar_pct < 100) fputs("\n", stderr);
    if (f.write_error || fflush(stdout) != 0) stdout_failed(f.write_error ? f.write_error : errno);
    if (rc != IMAP_OK) fail(s, "fetch", rc);
    if (!f.got) die(XC_NOTFOUND, "%s: UID %lu disappeared", tg->mailbox, f.uid);
}

/* ---- append ----------------------------------------------------------- */

/* The whole file, bare LF line ends made CRLF (RFC 5322 §2.3). */
static char *read_message(const char *path, size_t *out_len)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL, *crlf;
    size_t len = 0, cap = 0, i, k, lfs = 0;
    if (!fp) die(XC_LOCAL, "%s: %s", path, strerror(errno));
    for (;;) {
        size_t got;
        if (len == cap) {
            char *nb;
            cap = cap ? cap * 2 : 64 * 1024;
            nb = (char *)realloc(buf, cap);
            if (!nb) die(XC_LOCAL, "%s: out of memory", path);
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        free(buf);
        die(XC_LOCAL, "%s: %s", path, strerror(errno));
    }
    if (fp != stdin) fclose(fp);
    if (memchr(buf, 0, len)) {
        free(buf);
        die(XC_USAGE, "%s holds a NUL byte, which an IMAP message cannot carry", path);
    }
    for (i = 0; i < len; i++)
        if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) lfs++;
    if (lfs == 0) {
        *out_len = len;
        return buf;
    }
    crlf = (char *)malloc(len + lfs);
    if (!crlf) die(XC_LOCAL, "%s: out of memory", path);
    for (i = k = 0; i < len; i++) {
        if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) crlf[k++] = '\r';
        crlf[k++] = buf[i];
    }
    free(buf);
    *out_len = k;
    return crlf;
}

static void cmd_append(session *s, const target *tg, int argc, char **argv)
{
    char *msg, buf[64];
    size_t len, n;
    int rc;
    if (argc != 1) usage_error("append takes one FILE (- for stdin)");
    msg = read_message(argv[0], &len);
    rc = imap_append(&s->c, tg->mailbox, NULL, NULL, msg, len, NULL);
    free(msg);
    if (rc != IMAP_OK) fail_mailbox(s, tg->mailbox, rc);
    /* RFC 4315: [APPENDUID uidvalidity uid] on the tagged OK */
    if (imap_client_response(&s->c, "APPENDUID", buf, sizeof buf, &n) == 1) {
        const char *sp = strchr(buf, ' ');
        if (sp) printf("%s\n", sp + 1);
    }
}

/* ---- idle ------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* New messages are those at or above the UIDNEXT seen last (RFC 3501
   §2.3.1.1): unlike message counts, UIDs survive expunges. */
typedef struct idle_state {
    imap_u64 next_uid;
    imap_u64 top;               /* highest UID printed this round */
    int changed;                /* an EXISTS came: look for new mail */
    int done;                   /* 0 while IDLE runs, then 1 or the failure */
} idle_state;

static idle_state idle_st;      /* static: an IDLE cut short by Ctrl-C
                                   completes later, during LOGOUT */

/* A decoded field on one line: TAB, CR, LF become spaces. */
static void print_clean(const char *s)
{
    for (; *s; s++) putchar(*s == '\t' || *s == '\r' || *s == '\n' ? ' ' : *s);
}

/* Charsets imap.h does not build in go through iconv (glibc has it). */
#ifdef __GLIBC__
#include <iconv.h>
static long iconv_convert(void *arg, imap_str charset, const void *in, size_t n,
                          char *out, size_t cap)
{
    char name[64], tmp[4 * IMAP_MIME_CONVERT_BYTES + 16], *ip = (char *)(size_t)in, *op = tmp;
    size_t il = n, ol = sizeof tmp;
    iconv_t cd;
    (void)arg;
    if (charset.len >= sizeof name) return -1;
    memcpy(name, charset.ptr, charset.len);
    name[charset.len] = 0;
    if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1) return -1;
    if (in && iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) op = NULL;
    iconv_close(cd);
    if (!op) return -1;
    if (out && (size_t)(op - tmp) <= cap) memcpy(out, tmp, (size_t)(op - tmp));
    return (long)(op - tmp);
}
static const imap_charset_conv charsets = {iconv_convert, NULL};
#define CHARSETS (&charsets)
#else
#define CHARSETS NULL
#endif

static void on_new(void *arg, imap_client *c, const imap_response *r)
{
    static char buf[16384];
    imap_summary sm;
    (void)arg;
    (void)c;
    if (imap_summary_decode(r, buf, sizeof buf, CHARSETS, &sm) == IMAP_E_SYNTAX || !sm.uid) return;
    /* "UID n:*" also returns the last message when all UIDs are below n */
    if (sm.uid < idle_st.next_uid) return;
    if (sm.uid > idle_st.top) idle_st.top = sm.uid;
    printf("%llu\t", (unsigned long long)sm.uid);
    print_clean(sm.from);
    putchar('\t');
    print_clean(sm.subject);
    putchar('\n');
    fflush(stdout);
}

/* EXISTS during IDLE (its on_data) or between commands (unsolicited). */
static void on_exists(void *arg, imap_client *c, const imap_response *r)
{
    (void)arg;
    (void)c;
    if (imap_response_is(r, "EXISTS")) idle_st.changed = 1;
}

static void on_idle_done(void *arg, imap_client *c, int result, const imap_response *t)
{
    (void)arg;
    (void)c;
    (void)t;
    idle_st.done = result == IMAP_OK ? 1 : result;
}

static void fetch_new(session *s)
{
    char set[32];
    const char *args[2];
    imap_call call;
    int rc;
    memset(&call, 0, sizeof call);
    call.on_data = on_new;
    sprintf(set, "%llu:*", (unsigned long long)idle_st.next_uid);
    args[0] = set;
    args[1] = "(UID ENVELOPE)";
    idle_st.top = 0;
    rc = imap_uid(&s->c, "FETCH", args, 2, &call);
    if (rc != IMAP_OK) fail(s, "fetch", rc);
    if (idle_st.top) idle_st.next_uid = idle_st.top + 1;
}

static void cmd_idle(session *s, const target *tg, const options *o, int argc)
{
    struct sigaction sa;
    long long deadline = o->timeout_s > 0 ? now_ms(NULL) + o->timeout_s * 1000LL : 0;
    char buf[32];
    size_t n;
    int rc;
    if (argc) usage_error("idle takes no arguments");
    if (!imap_client_has_cap(&s->c, "IDLE")) die(XC_SERVER, "the server does not support IDLE");
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    examine(s, tg);
    if (imap_client_response(&s->c, "UIDNEXT", buf, sizeof buf, &n) != 1)
        die(XC_CONNECT, "%s: the server did not say UIDNEXT", tg->mailbox);
    idle_st.next_uid = strtoull(buf, NULL, 10);
    imap_client_on_untagged(&s->c, on_exists, NULL);
    if (isatty(2))
        fprintf(stderr, "Waiting for new mail in %s (%llu messages); Ctrl-C to stop.\n",
                tg->mailbox, (unsigned long long)s->c.exists);
    while (!interrupted) {
        imap_call call;
        long slice = 29L * 60 * 1000;   /* RFC 2177: re-issue within 29 min */
        if (idle_st.changed) {
            /* and again if more came meanwhile: no IDLE would report it */
            idle_st.changed = 0;
            fetch_new(s);
            continue;
        }
        if (deadline) {
            long long left = deadline - now_ms(NULL);
            if (left <= 0) break;
            if (left < slice) slice = (long)left;
        }
        memset(&call, 0, sizeof call);
        call.on_data = on_exists;
        call.on_done = on_idle_done;
        idle_st.done = 0;
        /* asynchronous, so a signal is noticed between polls; the engine
           sends DONE when the server reports a change or time is up */
        rc = imap_idle(&s->c, slice, &call);
        if (rc != IMAP_OK) fail(s, "idle", rc);
        while (!idle_st.done && !interrupted) {
            rc = imap_client_poll(&s->c, 200);
            if (rc != IMAP_OK) fail(s, "idle", rc);
        }
        if (idle_st.done < 0) fail(s, "idle", idle_st.done);
    }
    /* a pending IDLE gets its DONE before LOGOUT (the engine does it) */
}

/* ---- summary ---------------------------------------------------------- */

static void on_summary(void *arg, const imap_summary *sm)
{
    (void)arg;
    if (sm->result) {
        fprintf(stderr, "imapcat: message %llu needs %lu bytes to decode; skipped\n",
                (unsigned long long)sm->msgno, (unsigned long)sm->needed);
        return;
    }
    printf("%llu\t", (unsigned long long)sm->uid);
    print_clean(sm->date);
    putchar('\t');
    print_clean(sm->from);
    putchar('\t');
    print_clean(sm->subject);
    putchar('\n');
}

static void cmd_summary(session *s, const target *tg, int argc, char **argv)
{
    static char buf[16384];
    unsigned long n = 20;
    imap_u64 lo;
    char set[48];
    int rc;
    if (argc > 1 || (argc == 1 && parse_num(argv[0], strlen(argv[0]), 1000000ul, &n) != 0))
        usage_error("summary takes at most one count N (1 to 1000000)");
    examine(s, tg);
    if (s->c.exists == 0) return;
    lo = s->c.exists > n ? s->c.exists - n + 1 : 1;
    sprintf(set, "%llu:%llu", (unsigned long long)lo, (unsigned long long)s->c.exists);
    rc = imap_fetch_summary(&s->c, set, 0, CHARSETS, buf, sizeof buf, on_summary, NULL);
    if (rc != IMAP_OK && rc != IMAP_E_NOMEM) fail(s, "summary", rc);
}

/* ---- fetch --part ------------------------------------------------------- */

static int write_part(void *arg, const void *data, size_t len)
{
    return fwrite(data, 1, len, (FILE *)arg) == len ? 0 : 1;
}

static void cmd_fetch_part(session *s, const target *tg, const options *o, int argc, char **argv)
{
    unsigned long uid = tg->uid;
    imap_part_info info;
    const char *p;
    FILE *out = stdout;
    int rc;
    if (argc > 1) usage_error("fetch takes one UID");
    if (argc == 1 && parse_num(argv[0], strlen(argv[0]), 4294967295ul, &uid) != 0)
        usage_error("fetch: the UID must be a number from 1 to 4294967295");
    if (!uid) usage_error("fetch --part needs a UID (an argument, or /;UID=N in the URL)");
    for (p = o->part; *p; p++)             /* 1, 2.1, 1.2.3: no empty or 0 piece */
        if (!((*p >= '1' && *p <= '9') || (*p == '0' && p > o->part && p[-1] != '.') ||
              (*p == '.' && p > o->part && p[-1] != '.' && p[1])))
            usage_error("--part takes a part number such as 2 or 1.2");
    examine(s, tg);
    if (o->outdir && !(out = fopen(o->outdir, "wb")))
        die(XC_LOCAL, "%s: %s", o->outdir, strerror(errno));
    errno = 0;
    rc = imap_fetch_part(&s->c, uid, o->part, 0, write_part, out, &info);
    if (out == stdout) {
        if (fflush(out) != 0 && rc == IMAP_OK) rc = IMAP_E_SINK;
    } else if (fclose(out) != 0 && rc == IMAP_OK) {
        rc = IMAP_E_SINK;
    }
    if (rc != IMAP_OK && o->outdir) remove(o->outdir);
    if (rc == IMAP_E_ARGS && info.found == 0)
        die(XC_NOTFOUND, "%s: no message with UID %lu", tg->mailbox, uid);
    if (rc == IMAP_E_ARGS)
        die(XC_NOTFOUND, "UID %lu has no part %s", uid, o->part);
    if (rc == IMAP_E_SINK) die(XC_LOCAL, "writing part %s: %s", o->part, strerror(errno ? errno : EIO));
    if (rc != IMAP_OK) fail(s, "fetch", rc);
}
#include "imapcat_sync.c"

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static session sess;
    options o;
    target tg;
    char **pos;
    const char *cmd;
    int npos = 0, i, dashdash = 0, rc;

    memset(&o, 0, sizeof o);
    memset(&tg, 0, sizeof tg);
    pos = argv + 1;                     /* positionals, compacted in place */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || a[1] == 0) {
            pos[npos++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            dashdash = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return XC_OK;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            o.verbose = 1;
        } else if (strcmp(a, "--headers") == 0) {
            o.headers = 1;
        } else if (strcmp(a, "--part") == 0) {
            if (i + 1 >= argc) usage_error("--part needs a part number");
            o.part = argv[++i];
        } else if (strcmp(a, "--starttls") == 0) {
            o.starttls = 1;
        } else if (strcmp(a, "--insecure") == 0) {
            o.insecure = 1;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) {
            o.outdir = argv[++i];
        } else if (strcmp(a, "--sync-method") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            sync_method_cap = strcmp(m, "qresync") == 0 ? IMAP_SYNC_QRESYNC :
                              strcmp(m, "condstore") == 0 ? IMAP_SYNC_CONDSTORE :
                              strcmp(m, "plain") == 0 ? IMAP_SYNC_PLAIN : -1;
            if (sync_method_cap < 0) usage_error("--sync-method: qresync, condstore or plain");
        } else if (strcmp(a, "--stream") == 0 || strcmp(a, "--cafile") == 0 ||
                   strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "imapcat: %s needs a value\n", a);
                usage_error("missing option value");
            }
            if (a[2] == 's') o.stream_cmd = argv[++i];
            else if (a[2] == 'c') o.cafile = argv[++i];
            else {
                unsigned long t;
                if (parse_num(argv[i + 1], strlen(argv[i + 1]), 100000000ul, &t) != 0)
                    usage_error("--timeout takes a number of seconds");
                o.timeout_s = (long)t;
                i++;
            }
        } else {
            fprintf(stderr, "imapcat: unknown option %s\n", a);
            usage_error("bad option");
        }
    }
    i = 0;
    if (i < npos && (prefix_ci(pos[i], "imap://") || prefix_ci(pos[i], "imaps://"))) {
        const char *err = parse_url(pos[i], &tg);
        if (err) usage_error(err);
        i++;
    } else if (!o.stream_cmd) {
        usage_error("expected an imap://USER@HOST/MAILBOX URL (or --stream CMD)");
    } else {
        strcpy(tg.mailbox, "INBOX");
    }
    if (o.stream_cmd) {
        if (tg.host[0]) usage_error("--stream replaces the URL's host: use imap:///MAILBOX");
        if (tg.scheme == SCHEME_IMAPS) usage_error("--stream and imaps:// do not mix");
        tg.scheme = SCHEME_STREAM;
    } else if (!tg.host[0]) {
        usage_error("the URL has no host");
    }
    if (i >= npos) usage_error("expected a command: list, stat, search, fetch, append, idle or sync");
    cmd = pos[i++];
    if (strcmp(cmd, "list") && strcmp(cmd, "stat") && strcmp(cmd, "search") &&
        strcmp(cmd, "fetch") && strcmp(cmd, "append") && strcmp(cmd, "idle") &&
        strcmp(cmd, "sync") && strcmp(cmd, "summary")) {
        fprintf(stderr, "imapcat: unknown command %s\n", cmd);
        usage_error("commands: list, stat, search, fetch, append, idle, sync, summary");
    }
    if (strcmp(cmd, "fetch") != 0 && o.headers) usage_error("--headers goes with fetch");
    if (strcmp(cmd, "fetch") != 0 && o.outdir) usage_error("-o goes with fetch");
    if (strcmp(cmd, "fetch") != 0 && o.part) usage_error("--part goes with fetch");
    /* a reader that goes away (| head) is an EPIPE on write, not a signal */
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(cmd, "idle") != 0 && o.timeout_s) usage_error("--timeout goes with idle");

    session_open(&sess, &tg, &o);
    login(&sess, &tg);
    if (strcmp(cmd, "list") == 0) cmd_list(&sess, npos - i, pos + i);
    else if (strcmp(cmd, "stat") == 0) cmd_stat(&sess, &tg, npos - i);
    else if (strcmp(cmd, "search") == 0) cmd_search(&sess, &tg, npos - i, pos + i);
    else if (strcmp(cmd, "fetch") == 0 && o.part) cmd_fetch_part(&sess, &tg, &o, npos - i, pos + i);
    else if (strcmp(cmd, "fetch") == 0) cmd_fetch(&sess, &tg, &o, npos - i, pos + i);
    else if (strcmp(cmd, "summary") == 0) cmd_summary(&sess, &tg, npos - i, pos + i);
    else if (strcmp(cmd, "append") == 0) cmd_append(&sess, &tg, npos - i, pos + i);
    else if (strcmp(cmd, "sync") == 0) cmd_sync(&sess, &tg, npos - i, pos + i);
    else cmd_idle(&sess, &tg, &o, npos - i);

    if (fflush(stdout) != 0) stdout_failed(errno);
    rc = imap_logout(&sess.c, NULL);
    session_close(&sess);
    free(sess.mem);
#ifdef IMAP_WITH_BEARSSL
    free(sess.tls_mem);
#endif
    (void)rc;                           /* the work is done; a BYE race is fine */
    return XC_OK;
}
