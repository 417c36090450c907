/* A stand-in firmware program for tests/firmware/build.sh until
   examples/embedded.c exists: the imaplib-shaped client over a transport
   that plays a tiny server from flash, as a board would over a UART or a
   TCP/IP stack. No OS, no stdio, no heap: static buffers only. */
#define IMAP_IMPLEMENTATION
#include "../../imap.h"

/* The fake server: answers each command line by its tag. */
static struct {
    unsigned char in[512];          /* what the client wrote, one line */
    size_t in_len;
    char out[512];                  /* what the client reads next */
    size_t out_len, out_off;
} srv;

static void srv_put(const char *s)
{
    size_t n = strlen(s);
    if (srv.out_len + n <= sizeof srv.out) {
        memcpy(srv.out + srv.out_len, s, n);
        srv.out_len += n;
    }
}

static void srv_line(void)
{
    const unsigned char *sp = (const unsigned char *)memchr(srv.in, ' ', srv.in_len);
    size_t tl = sp ? (size_t)(sp - srv.in) : 0;
    if (!sp) return;
    if (srv.in_len > tl + 6 && memcmp(sp + 1, "SELECT", 6) == 0)
        srv_put("* 2 EXISTS\r\n* FLAGS (\\Seen \\Flagged)\r\n");
    else if (srv.in_len > tl + 5 && memcmp(sp + 1, "FETCH", 5) == 0)
        srv_put("* 1 FETCH (UID 4 FLAGS (\\Seen) ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" "
                "\"hi\" ((\"A\" NIL \"a\" \"example.org\")) NIL NIL NIL NIL NIL NIL \"<x@y>\") "
                "BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 "
                "NIL NIL NIL NIL) BODY[] {5}\r\nhello)\r\n");
    else if (srv.in_len > tl + 6 && memcmp(sp + 1, "LOGOUT", 6) == 0)
        srv_put("* BYE bye\r\n");
    if (srv.out_len + tl + 11 <= sizeof srv.out) {
        memcpy(srv.out + srv.out_len, srv.in, tl);
        srv.out_len += tl;
        srv_put(" OK done\r\n");
    }
}

static int fake_read(void *ctx, unsigned char *buf, size_t len)
{
    size_t n = srv.out_len - srv.out_off;
    (void)ctx;
    if (n == 0) return 0;
    if (n > len) n = len;
    memcpy(buf, srv.out + srv.out_off, n);
    srv.out_off += n;
    if (srv.out_off == srv.out_len) srv.out_off = srv.out_len = 0;
    return (int)n;
}

static int fake_write(void *ctx, const unsigned char *buf, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) {
        if (srv.in_len < sizeof srv.in) srv.in[srv.in_len++] = buf[i];
        if (buf[i] == '\n') {
            srv_line();
            srv.in_len = 0;
        }
    }
    return (int)len;
}

static unsigned char client_mem[16 * 1024];
static imap_client client;
static volatile int outcome;

int main(void)
{
    imap_transport t;
    int rc;
    t.read = fake_read;
    t.write = fake_write;
    t.close = NULL;
    t.wait = NULL;
    t.ctx = NULL;
    srv_put("* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] firmware test\r\n");
    imap_client_init(&client, client_mem, sizeof client_mem);
    rc = imap_client_open(&client, &t);
    if (rc == IMAP_OK) rc = imap_login(&client, "user", "secret", NULL);
    if (rc == IMAP_OK) rc = imap_select(&client, "INBOX", 0, NULL);
    if (rc == IMAP_OK) rc = imap_fetch(&client, "1", "(UID FLAGS ENVELOPE BODYSTRUCTURE BODY[])", NULL);
    if (rc == IMAP_OK) rc = imap_logout(&client, NULL);
    outcome = rc;
    return rc;
}
