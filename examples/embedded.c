/* embedded - imap.h on a microcontroller: no OS, no heap, no POSIX.

   Build and run on the host (the "UART" is simulated, see below):
       cc -O2 -I. examples/embedded.c -o embedded && ./embedded
   Compile for a Cortex-M4 (newlib-nano; link it into your firmware):
       arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os --specs=nano.specs \
           -DNO_PRINTF -I. -c examples/embedded.c

   What it shows:
   - IMAP_NO_POSIX: no sockets, no fork; the library needs only <string.h>.
   - Static memory only: the client struct and one buffer, sized at compile
     time with imap.h's limits (IMAP_MAX_PENDING ...), printed at start.
   - A custom transport: read/write callbacks over a UART. Here the UART is
     a pair of small FIFOs, and a few lines of "modem" code on the other
     side play an IMAP server (a canned session: greeting, LOGIN, EXAMINE,
     IDLE until new mail arrives, FETCH of its ENVELOPE, LOGOUT), so the
     example runs on any host and checks what it got: exit 0 on success.
   - A millisecond tick for the timeouts (imap_client_set_clock): a read
     that returns 0 at once tells no time, and the engine refuses a
     timeout it cannot measure (IMAP_E_ARGS). Here the tick is simulated:
     the line is polled every 10 ms.
   The library prints nothing; this file prints through LOG(), which
   -DNO_PRINTF compiles away for a firmware image without stdio. */

/* Tune imap.h's fixed memory for a small device. These change struct
   layouts: every file that includes imap.h must see the same values. */
#define IMAP_NO_POSIX
#define IMAP_MAX_PENDING 4          /* commands in flight at once */
#define IMAP_CMD_MAX_SEGMENTS 4     /* pieces of one command (literals) */
#define IMAP_CAPS_BYTES 1024        /* the server's capability list: Dovecot's
                                       is ~400 bytes after login, Cyrus's 924 */
#define IMAP_READ_CHUNK 64          /* bytes taken from the UART at a time */
#define IMAP_INJECT_BYTES 32        /* DONE (and SASL lines, unused here) */
#define IMAP_DEBUG_LINES 4          /* protocol lines kept for error reports */
#define IMAP_DEBUG_LINE_BYTES 64
#define IMAP_MAX_DEPTH 16           /* list nesting: ENVELOPE needs 3 */
#define IMAP_IMPLEMENTATION
#include "imap.h"

#ifdef NO_PRINTF
#define LOG(...) ((void)0)
#else
#include <stdio.h>
#define LOG(...) printf(__VA_ARGS__)
#endif

/* ---- the simulated UART and the modem's canned IMAP server ------------ */

#define FIFO_SIZE 256u              /* a power of two */
#define UART_BURST 16               /* bytes per read or write call */
#define MODEM_CONNECT_TICKS 70      /* empty reads before the greeting */
#define MAIL_TICKS 3                /* empty reads in IDLE before new mail */

typedef struct modem {
    unsigned char rx[FIFO_SIZE];    /* modem -> device */
    unsigned rx_head, rx_tail;
    char line[160];                 /* the device's current command line */
    unsigned line_len;
    char idle_tag[16];              /* the tag of the IDLE in progress */
    unsigned ticks;                 /* reads so far */
    int connect_in;                 /* ticks until the greeting */
    int mail_in;                    /* ticks until the new mail (0: none) */
    int logged_out;
    int failed;                     /* the device sent something wrong */
} modem;

static modem the_modem;

static void modem_send(modem *m, const char *s)
{
    while (*s) {
        if (m->rx_head - m->rx_tail == FIFO_SIZE) {
            m->failed = 1;          /* a reply longer than the FIFO */
            return;
        }
        m->rx[m->rx_head++ % FIFO_SIZE] = (unsigned char)*s++;
    }
}

/* tag + " " + text + CRLF, for tagged replies */
static void modem_reply(modem *m, const char *tag, const char *text)
{
    modem_send(m, tag);
    modem_send(m, " ");
    modem_send(m, text);
    modem_send(m, "\r\n");
}

static int word_is(const char *s, unsigned n, const char *w)
{
    unsigned i;
    for (i = 0; i < n && w[i]; i++)
        if (s[i] != w[i]) return 0;
    return i == n && w[i] == 0;
}

/* One complete command line from the device (without CRLF). */
static void modem_command(modem *m, const char *s, unsigned n)
{
    char tag[16];
    unsigned t = 0, c, e;
    if (word_is(s, n, "DONE")) {    /* RFC 2177: ends IDLE, no tag */
        if (!m->idle_tag[0]) m->failed = 1;
        if (m->mail_in > 0) m->failed = 1;      /* gave up before the mail */
        modem_reply(m, m->idle_tag, "OK IDLE terminated");
        m->idle_tag[0] = 0;
        return;
    }
    while (t < n && t < sizeof tag - 1 && s[t] != ' ') {
        tag[t] = s[t];
        t++;
    }
    tag[t] = 0;
    c = t + 1;
    e = c;
    while (e < n && s[e] != ' ') e++;
    if (t == 0 || c > n) {
        m->failed = 1;
        return;
    }
    if (word_is(s + c, e - c, "LOGIN")) {
        /* the exact bytes: the password always goes as a quoted string */
        if (word_is(s + e, n - e, " device42 \"s3cret pw\""))
            modem_reply(m, tag, "OK [CAPABILITY IMAP4rev1 IDLE] logged in");
        else
            modem_reply(m, tag, "NO [AUTHENTICATIONFAILED] wrong password");
    } else if (word_is(s + c, e - c, "EXAMINE")) {
        modem_send(m, "* FLAGS (\\Seen \\Answered)\r\n* 3 EXISTS\r\n"
                      "* OK [UIDVALIDITY 7] ok\r\n");
        modem_reply(m, tag, "OK [READ-ONLY] EXAMINE done");
    } else if (word_is(s + c, e - c, "IDLE")) {
        memcpy(m->idle_tag, tag, t + 1);
        modem_send(m, "+ idling\r\n");
        m->mail_in = MAIL_TICKS;
    } else if (word_is(s + c, e - c, "FETCH") && word_is(s + e, n - e, " 4 (UID ENVELOPE)")) {
        modem_send(m, "* 4 FETCH (UID 104 ENVELOPE (\"Mon, 4 Mar 2024 09:12:00 +0100\" "
                      "\"Pump 3: pressure low\" ((\"Field Sensor\" NIL \"sensor\" "
                      "\"plant.example\")) NIL NIL ((NIL NIL \"device42\" "
                      "\"plant.example\")) NIL NIL NIL \"<p3@plant.example>\"))\r\n");
        modem_reply(m, tag, "OK FETCH done");
    } else if (word_is(s + c, e - c, "LOGOUT")) {
        modem_send(m, "* BYE see you\r\n");
        modem_reply(m, tag, "OK LOGOUT done");
        m->logged_out = 1;
    } else {
        modem_reply(m, tag, "BAD not in this script");
        m->failed = 1;
    }
}

/* The transport callbacks (imap.h section 8): BearSSL's shape. On real
   hardware these move bytes to and from the UART driver's FIFOs. */
static int uart_write(void *ctx, const unsigned char *buf, size_t len)
{
    modem *m = (modem *)ctx;
    size_t i, n = len < UART_BURST ? len : UART_BURST;
    if (m->logged_out) return -1;
    for (i = 0; i < n; i++) {
        if (buf[i] == '\n' && m->line_len > 0 && m->line[m->line_len - 1] == '\r') {
            modem_command(m, m->line, m->line_len - 1);
            m->line_len = 0;
        } else if (m->line_len < sizeof m->line) {
            m->line[m->line_len++] = (char)buf[i];
        } else {
            m->failed = 1;          /* a line longer than the modem takes */
        }
    }
    return (int)n;
}

static int uart_read(void *ctx, unsigned char *buf, size_t len)
{
    modem *m = (modem *)ctx;
    size_t n = 0;
    m->ticks++;
    if (m->connect_in > 0 && --m->connect_in == 0)
        modem_send(m, "* OK [CAPABILITY IMAP4rev1 IDLE] modem IMAP ready\r\n");
    if (m->mail_in > 0 && --m->mail_in == 0) modem_send(m, "* 4 EXISTS\r\n");
    /* a slow line: every other poll finds the FIFO empty */
    if (m->ticks % 2) return 0;
    while (n < len && n < UART_BURST && m->rx_tail != m->rx_head)
        buf[n++] = m->rx[m->rx_tail++ % FIFO_SIZE];
    if (n == 0 && m->logged_out) return -1;     /* the line dropped */
    return (int)n;
}

/* ---- the device's side: what firmware would do ------------------------ */

/* SysTick in firmware; here each UART poll is 10 ms of simulated time */
static long long tick_ms(void *arg)
{
    return (long long)((const modem *)arg)->ticks * 10;
}

static unsigned char imap_mem[6 * 1024];    /* output, store and parser */
static imap_client client;

typedef struct new_mail {
    int seen;
    int from_ok;
    int subject_ok;
} new_mail;

/* Each "* n FETCH" of the command, as it arrives (valid during the call). */
static void on_fetch(void *arg, imap_client *c, const imap_response *r)
{
    new_mail *nm = (new_mail *)arg;
    const imap_value *v = imap_fetch_get(r, "ENVELOPE");
    imap_envelope env;
    imap_address a;
    const imap_value *cur;
    (void)c;
    if (!v || imap_envelope_decode(v, &env) != 0) return;
    nm->seen = 1;
    nm->subject_ok = imap_str_is(env.subject, "Pump 3: pressure low");
    LOG("new mail %lu: \"%.*s\"\n", (unsigned long)r->number,
        (int)env.subject.len, env.subject.ptr ? env.subject.ptr : "");
    cur = env.from;
    while (imap_address_next(&cur, &a) == 1) {
        if (a.group_start || a.group_end) continue;
        if (imap_str_is(a.mailbox, "sensor") && imap_str_is(a.host, "plant.example"))
            nm->from_ok = 1;
        LOG("  from %.*s <%.*s@%.*s>\n", (int)a.name.len, a.name.ptr ? a.name.ptr : "",
            (int)a.mailbox.len, a.mailbox.ptr ? a.mailbox.ptr : "",
            (int)a.host.len, a.host.ptr ? a.host.ptr : "");
    }
}

static int fail(const char *what, int rc)
{
    LOG("%s failed: %s (%s)\n", what, imap_result_str(rc), client.last_text);
    (void)what;
    (void)rc;
    return 1;
}

int main(void)
{
    imap_transport uart;
    imap_call call;
    new_mail nm;
    imap_u64 before;
    int rc;

    the_modem.connect_in = MODEM_CONNECT_TICKS;
    uart.read = uart_read;
    uart.write = uart_write;
    uart.close = NULL;                /* nothing to release */
    uart.wait = NULL;                 /* read returns 0 at once when empty */
    uart.ctx = &the_modem;

    LOG("sizeof(imap_client) = %lu bytes, buffer = %lu bytes "
        "(output %lu, store %lu, parser %lu)\n",
        (unsigned long)sizeof client, (unsigned long)sizeof imap_mem,
        (unsigned long)(sizeof imap_mem / 8), (unsigned long)(sizeof imap_mem / 8),
        (unsigned long)(sizeof imap_mem - 2 * (sizeof imap_mem / 8)));

    imap_client_init(&client, imap_mem, sizeof imap_mem);
    /* 120 s without an answer ends the session */
    imap_client_set_clock(&client, tick_ms, &the_modem);
    imap_client_set_timeout(&client, 120000);
    rc = imap_client_open(&client, &uart);
    if (rc != IMAP_OK) return fail("connect", rc);
    LOG("connected: %s\n", client.last_text);

    rc = imap_login(&client, "device42", "s3cret pw", NULL);
    if (rc != IMAP_OK) return fail("login", rc);
    rc = imap_examine(&client, "INBOX", NULL);
    if (rc != IMAP_OK) return fail("examine", rc);
    before = client.exists;
    LOG("INBOX has %lu messages; waiting for new mail (IDLE)\n", (unsigned long)before);

    /* IDLE ends when the server reports a change or after 60 s. */
    while (client.exists <= before) {
        rc = imap_idle(&client, 60000, NULL);
        if (rc != IMAP_OK) return fail("idle", rc);
    }

    memset(&call, 0, sizeof call);
    memset(&nm, 0, sizeof nm);
    call.on_data = on_fetch;
    call.arg = &nm;
    rc = imap_fetch(&client, "4", "(UID ENVELOPE)", &call);
    if (rc != IMAP_OK) return fail("fetch", rc);
    rc = imap_logout(&client, NULL);
    if (rc != IMAP_OK) return fail("logout", rc);
    imap_client_close(&client);

    LOG("parser high-water mark: %lu of %lu bytes; %u UART polls\n",
        (unsigned long)imap_parser_high_water(imap_client_parser(&client)),
        (unsigned long)(sizeof imap_mem - 2 * (sizeof imap_mem / 8)), the_modem.ticks);
    if (the_modem.failed || !nm.seen || !nm.from_ok || !nm.subject_ok || !the_modem.logged_out) {
        LOG("FAILED: the session did not go as scripted\n");
        return 1;
    }
    LOG("ok\n");
    return 0;
}
