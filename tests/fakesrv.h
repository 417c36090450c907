/* fakesrv.h - a small reactive IMAP server behind an imap_transport, on
   a fake clock, for the engine's timing, re-entrancy and model tests
   (tests/test_reentry.c, tests/test_model.c, fuzz/fuzz_model.c).

   It answers each command line it reads: "+" for IDLE, AUTHENTICATE and
   synchronizing literals, SEARCH with numbers, FETCH with a literal per
   message (each with a UID never sent before, so a response delivered
   twice shows), SELECT with EXISTS and FLAGS, LOGOUT with BYE, anything
   else with OK. Knobs: bytes per read, would-block reads, a delay before
   each answer, silence, a drop, junk or a trickle instead of answers.
   Time passes only when the client waits (wait() that finds nothing
   advances the clock by its timeout) or when a knob says so. */
#ifndef FAKESRV_H
#define FAKESRV_H
#include <stdio.h>
#include <string.h>

#define FS_OUT 65536

typedef struct fsrv {
    long long now;              /* the fake clock (ms) */
    /* knobs */
    size_t max_read;            /* bytes per read (0: any) */
    int would_block;            /* every other read returns 0 */
    long delay_ms;              /* an answer is readable this long after the command */
    int silent;                 /* answers nothing */
    int drop_after;             /* drop the connection after this many commands (0: never) */
    const char *endless;        /* once the greeting is out: these bytes forever */
    long endless_ms;            /* time each read of them takes */
    size_t lit_bytes;           /* FETCH literal size */
    long read_ms;               /* time each read that returns bytes takes */
    /* state */
    char out[FS_OUT];
    size_t out_len, out_off;
    long long ready_at;         /* out is readable from this time */
    char line[2048];
    size_t line_len;
    unsigned long lit_left;     /* literal bytes the client still sends */
    char tag[32];               /* the command a literal or "+" belongs to */
    int idling, authing;
    int closed, client_closed;
    unsigned ncmds;
    unsigned long uid;          /* last UID sent */
    unsigned long reads, writes;
    int unexpected;             /* the client wrote what no command asked */
    unsigned long endless_sent;
} fsrv;

static void fs_say(fsrv *s, const char *fmt, const char *a, const char *b)
{
    int n;
    if (s->out_off == s->out_len) s->out_off = s->out_len = 0;
    n = snprintf(s->out + s->out_len, FS_OUT - s->out_len, fmt, a, b);
    if (n > 0 && (size_t)n < FS_OUT - s->out_len) s->out_len += (size_t)n;
    s->ready_at = s->now + s->delay_ms;
}

static void fs_fetch(fsrv *s, const char *tag, const char *set)
{
    unsigned long lo = 1, hi = 1, i;
    char head[96], body[4096];
    size_t k = s->lit_bytes < sizeof body - 1 ? s->lit_bytes : sizeof body - 1;
    if (sscanf(set, "%lu:%lu", &lo, &hi) < 2) hi = lo;
    if (hi > lo + 8) hi = lo + 8;
    memset(body, 'x', k);
    body[k] = 0;
    for (i = lo; i <= hi; i++) {
        snprintf(head, sizeof head, "* %lu FETCH (UID %lu BODY[] {%lu}\r\n", i, ++s->uid,
                 (unsigned long)k);
        fs_say(s, "%s%s)\r\n", head, body);
    }
    fs_say(s, "%s OK Fetch completed%s\r\n", tag, "");
}

/* One whole command line from the client (CRLF stripped). */
static void fs_command(fsrv *s, char *l)
{
    char tag[32], cmd[32];
    const char *rest;
    size_t n = strlen(l);
    if (s->idling) {
        if (strcmp(l, "DONE") == 0) fs_say(s, "%s OK Idle completed%s\r\n", s->tag, "");
        else s->unexpected = 1;
        s->idling = 0;
        return;
    }
    if (s->authing) {
        s->authing = 0;
        if (strcmp(l, "*") == 0) fs_say(s, "%s BAD cancelled%s\r\n", s->tag, "");
        else fs_say(s, "%s OK Logged in%s\r\n", s->tag, "");
        return;
    }
    if (sscanf(l, "%31s %31s", tag, cmd) != 2) {
        s->unexpected = 1;
        return;
    }
    s->ncmds++;
    if (s->drop_after && s->ncmds >= (unsigned)s->drop_after) {
        s->closed = 1;
        return;
    }
    if (s->silent) return;
    rest = l + strlen(tag) + 1 + strlen(cmd);
    if (*rest == ' ') rest++;
    if (!strcmp(cmd, "IDLE")) {
        memcpy(s->tag, tag, sizeof tag);
        s->idling = 1;
        fs_say(s, "+ idling%s%s\r\n", "", "");
    } else if (!strcmp(cmd, "AUTHENTICATE")) {
        if (strchr(rest, ' ')) {
            fs_say(s, "%s OK Logged in%s\r\n", tag, "");    /* SASL-IR */
        } else {
            memcpy(s->tag, tag, sizeof tag);
            s->authing = 1;
            fs_say(s, "+ %s%s\r\n", "", "");
        }
    } else if (!strcmp(cmd, "LOGOUT")) {
        fs_say(s, "* BYE Logging out\r\n%s OK Logout completed%s\r\n", tag, "");
    } else if (!strcmp(cmd, "SEARCH")) {
        fs_say(s, "* SEARCH 1 2 3\r\n%s OK Search completed%s\r\n", tag, "");
    } else if (!strcmp(cmd, "FETCH")) {
        fs_fetch(s, tag, rest);
    } else if (!strcmp(cmd, "SELECT") || !strcmp(cmd, "EXAMINE")) {
        fs_say(s, "* 3 EXISTS\r\n* FLAGS (\\Seen)\r\n%s OK [READ-WRITE] Select completed%s\r\n",
               tag, "");
    } else if (!strcmp(cmd, "NOOP") && n > 0) {
        fs_say(s, "%s OK NOOP completed%s\r\n", tag, "");
    } else {
        fs_say(s, "%s OK done%s\r\n", tag, "");
    }
}

static int fs_write(void *ctx, const unsigned char *buf, size_t len)
{
    fsrv *s = (fsrv *)ctx;
    size_t i;
    if (s->closed || s->client_closed) return -1;
    s->writes++;
    for (i = 0; i < len; i++) {
        unsigned char ch = buf[i];
        if (s->lit_left) {
            s->lit_left--;
            continue;
        }
        if (s->line_len + 1 >= sizeof s->line) {
            s->unexpected = 1;
            s->line_len = 0;
        }
        s->line[s->line_len++] = (char)ch;
        if (ch == '\n' && s->line_len >= 2 && s->line[s->line_len - 2] == '\r') {
            char *l = s->line;
            size_t n = s->line_len - 2;
            unsigned long lit;
            l[n] = 0;
            /* a literal at the end of the line: its bytes follow */
            if (n > 2 && l[n - 1] == '}') {
                char *o = strrchr(l, '{');
                int plus = l[n - 2] == '+';
                if (o && sscanf(o + 1, "%lu", &lit) == 1) {
                    s->lit_left = lit;
                    if (!plus) fs_say(s, "+ go ahead%s%s\r\n", "", "");
                    /* the command goes on after the literal: keep the line */
                    s->line_len = (size_t)(o - l);
                    continue;
                }
            }
            fs_command(s, l);
            s->line_len = 0;
        }
    }
    return (int)len;
}

static int fs_read(void *ctx, unsigned char *buf, size_t len)
{
    fsrv *s = (fsrv *)ctx;
    size_t n;
    s->reads++;
    if (s->closed || s->client_closed) return -1;
    if (s->would_block && (s->reads & 1)) return 0;
    if (s->endless && s->out_off == s->out_len) {
        size_t k = strlen(s->endless), i;
        n = s->max_read && s->max_read < len ? s->max_read : len;
        for (i = 0; i < n; i++) buf[i] = (unsigned char)s->endless[(s->endless_sent + i) % k];
        s->endless_sent += n;
        s->now += s->endless_ms;
        return (int)n;
    }
    if (s->out_off == s->out_len || s->now < s->ready_at) return 0;
    n = s->out_len - s->out_off;
    if (n > len) n = len;
    if (s->max_read && n > s->max_read) n = s->max_read;
    memcpy(buf, s->out + s->out_off, n);
    s->out_off += n;
    s->now += s->read_ms;
    return (int)n;
}

static int fs_wait(void *ctx, int for_write, long timeout_ms)
{
    fsrv *s = (fsrv *)ctx;
    if (s->closed || for_write) return 1;
    if (s->endless) return 1;
    if (s->out_off < s->out_len) {
        if (s->now >= s->ready_at) return 1;
        /* the answer comes during the wait, or the wait ends first */
        if (timeout_ms < 0 || s->now + timeout_ms >= s->ready_at) {
            s->now = s->ready_at;
            return 1;
        }
    }
    s->now += timeout_ms > 0 ? timeout_ms : 1;
    return 0;
}

static int fs_close(void *ctx)
{
    ((fsrv *)ctx)->client_closed = 1;
    return 0;
}

static long long fs_clock(void *arg)
{
    return ((fsrv *)arg)->now;
}

/* A server that greets with `greeting` (NULL: a standard one). */
static void fs_init(fsrv *s, imap_transport *t, const char *greeting)
{
    memset(s, 0, sizeof *s);
    s->now = 1000000;
    s->lit_bytes = 40;
    fs_say(s, "%s%s", greeting ? greeting :
           "* OK [CAPABILITY IMAP4rev1 IDLE LITERAL+ AUTH=PLAIN] ready\r\n", "");
    t->read = fs_read;
    t->write = fs_write;
    t->close = fs_close;
    t->wait = fs_wait;
    t->ctx = s;
}
#endif
