/* Unit tests of the Winsock TCP transport (imap.h 8f), for Windows: built
   with mingw-w64 and run under wine by tests/windows/build.sh. Loopback
   sockets the test makes itself; a thread plays a small IMAP server for
   a whole client session. */
#define IMAP_IMPLEMENTATION
#include "../../imap.h"
#include "../test.h"

#include <stdlib.h>

#define SZ(lit) (sizeof(lit) - 1)
#define CHECK_BYTES(buf, lit) CHECK(memcmp((buf), (lit), SZ(lit)) == 0)

static int w(imap_transport *tr, const char *s, size_t n)
{
    return tr->write(tr->ctx, (const unsigned char *)s, n);
}

static int r(imap_transport *tr, char *buf, size_t n)
{
    return tr->read(tr->ctx, (unsigned char *)buf, n);
}

/* Read exactly n bytes, retrying "nothing now" up to `spins` times. */
static int get_n(imap_transport *tr, char *buf, size_t n, int spins)
{
    size_t off = 0;
    while (off < n) {
        int k = r(tr, buf + off, n - off);
        if (k < 0) return -1;
        if (k == 0 && --spins < 0) return -2;
        off += (size_t)k;
    }
    return 0;
}

/* A listening socket on 127.0.0.1, any free port (in *port). */
static SOCKET listen_any(unsigned *port)
{
    struct sockaddr_in a;
    int al = (int)sizeof a;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) return s;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, (int)sizeof a) != 0 || listen(s, 4) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) != 0) {
        closesocket(s);
        return INVALID_SOCKET;
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* Accept within ms, so a broken connect cannot hang the test. */
static SOCKET accept_within(SOCKET l, long ms)
{
    fd_set rs;
    struct timeval tv;
    FD_ZERO(&rs);
    FD_SET(l, &rs);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = ms % 1000 * 1000;
    if (select(0, &rs, NULL, NULL, &tv) != 1) return INVALID_SOCKET;
    return accept(l, NULL, NULL);
}

TEST(bad_arguments)
{
    imap_tcp t;
    imap_transport tr;
    CHECK_EQ_INT(imap_tcp_connect(&t, NULL, 143, 100, &tr), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_tcp_connect(&t, "", 143, 100, &tr), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_tcp_connect(&t, "127.0.0.1", 0, 100, &tr), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_tcp_connect(&t, "127.0.0.1", 65536, 100, &tr), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_tcp_attach(&t, IMAP_TCP_NO_SOCKET, 100, &tr), IMAP_E_ARGS);
    CHECK(t.sock == IMAP_TCP_NO_SOCKET);
}

TEST(round_trip_timeout_nonblocking_wait_and_eof)
{
    imap_tcp t;
    imap_transport tr;
    unsigned port = 0;
    SOCKET l = listen_any(&port), s;
    char buf[64];
    int one = 0, ol = (int)sizeof one;
    CHECK(l != INVALID_SOCKET);
    if (l == INVALID_SOCKET) return;
    CHECK_EQ_INT(imap_tcp_connect(&t, "127.0.0.1", port, 5000, &tr), IMAP_OK);
    s = accept_within(l, 5000);
    CHECK(s != INVALID_SOCKET);
    CHECK(tr.ctx == &t);
    CHECK(t.sock != IMAP_TCP_NO_SOCKET);
    CHECK_EQ_INT(t.timeout_ms, 5000);
    CHECK(getsockopt((SOCKET)t.sock, IPPROTO_TCP, TCP_NODELAY, (char *)&one, &ol) == 0 && one != 0);
    CHECK(send(s, "* OK hi\r\n", 9, 0) == 9);
    CHECK_EQ_INT(get_n(&tr, buf, 9, 2), 0);
    CHECK_BYTES(buf, "* OK hi\r\n");
    CHECK_EQ_INT(w(&tr, "A1 NOOP\r\n", 9), 9);
    CHECK(recv(s, buf, 9, MSG_WAITALL) == 9);
    CHECK_BYTES(buf, "A1 NOOP\r\n");
    /* blocking with a timeout: nothing comes, so 0 ("nothing now") */
    imap_tcp_set_timeout(&t, 100);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);
    /* non-blocking: 0 at once, even with a long timeout */
    imap_tcp_set_nonblocking(&t, 1);
    imap_tcp_set_timeout(&t, -1);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 0);
    /* wait: times out, says writable, then sees data */
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 50), 0);
    CHECK_EQ_INT(tr.wait(tr.ctx, 1, 1000), 1);
    CHECK(send(s, "+ ok\r\n", 6, 0) == 6);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 5000), 1);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), 6);
    CHECK_BYTES(buf, "+ ok\r\n");
    CHECK(!t.eof);
    /* the peer closes: -1 with eof set */
    imap_tcp_set_nonblocking(&t, 0);
    imap_tcp_set_timeout(&t, 5000);
    closesocket(s);
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    CHECK(t.eof);
    CHECK_EQ_INT(tr.close(tr.ctx), 0);
    CHECK(t.sock == IMAP_TCP_NO_SOCKET);
    CHECK_EQ_INT(tr.close(tr.ctx), 0);            /* twice is harmless */
    CHECK_EQ_INT(r(&tr, buf, sizeof buf), -1);
    CHECK_EQ_INT(w(&tr, "x", 1), -1);
    CHECK_EQ_INT(tr.wait(tr.ctx, 0, 10), -1);
    closesocket(l);
}

TEST(refused_port_is_io_error)
{
    imap_tcp t;
    imap_transport tr;
    unsigned port = 0;
    SOCKET l = listen_any(&port);
    CHECK(l != INVALID_SOCKET);
    closesocket(l);                               /* nothing listens now */
    memset(&tr, 0, sizeof tr);
    CHECK_EQ_INT(imap_tcp_connect(&t, "127.0.0.1", port, 10000, &tr), IMAP_E_IO);
    CHECK_EQ_INT(t.error, WSAECONNREFUSED);
    CHECK(t.sock == IMAP_TCP_NO_SOCKET);
    CHECK(tr.read == NULL);                       /* untouched on failure */
}

TEST(unresolvable_name_is_io_error_with_gai_code)
{
    imap_tcp t;
    imap_transport tr;
    /* a numeric-looking name no resolver accepts: fails without DNS */
    CHECK_EQ_INT(imap_tcp_connect(&t, "256.256.256.256.", 143, 1000, &tr), IMAP_E_IO);
    CHECK(t.gai_error != 0);
    CHECK(t.sock == IMAP_TCP_NO_SOCKET);
}

TEST(attach_a_socket_of_ones_own)
{
    imap_tcp t;
    imap_transport tr;
    unsigned port = 0;
    SOCKET l = listen_any(&port), c, s;
    struct sockaddr_in a;
    u_long avail = 0;
    char buf[16];
    CHECK(l != INVALID_SOCKET);
    if (l == INVALID_SOCKET) return;
    c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((u_short)port);
    CHECK(connect(c, (struct sockaddr *)&a, (int)sizeof a) == 0);
    s = accept_within(l, 5000);
    CHECK(s != INVALID_SOCKET);
    CHECK_EQ_INT(imap_tcp_attach(&t, (size_t)c, 2000, &tr), IMAP_OK);
    CHECK(t.sock == (size_t)c);
    CHECK_EQ_INT(w(&tr, "ping", 4), 4);
    CHECK(recv(s, buf, 4, MSG_WAITALL) == 4);
    CHECK_BYTES(buf, "ping");
    /* made non-blocking: a bare recv on it says would-block */
    CHECK(recv(c, buf, 1, 0) == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK);
    CHECK(send(s, "pong", 4, 0) == 4);
    CHECK_EQ_INT(get_n(&tr, buf, 4, 2), 0);
    CHECK_BYTES(buf, "pong");
    CHECK(ioctlsocket(c, FIONREAD, &avail) == 0 && avail == 0);
    CHECK_EQ_INT(tr.close(tr.ctx), 0);
    CHECK(closesocket(c) == SOCKET_ERROR);        /* already closed by us */
    closesocket(s);
    closesocket(l);
}

/* ---- a whole client session against a server thread -------------------- */

typedef struct fake_server {
    SOCKET l;
    int commands;
    char seen[512];
} fake_server;

/* Read one CRLF line into buf (NUL-terminated, CRLF stripped). */
static int read_line(SOCKET s, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char ch;
        if (recv(s, &ch, 1, 0) != 1) return -1;
        if (ch == '\n') break;
        if (n + 1 < cap && ch != '\r') buf[n++] = ch;
    }
    buf[n] = 0;
    return (int)n;
}

static int say(SOCKET s, const char *text)
{
    return send(s, text, (int)strlen(text), 0) == (int)strlen(text) ? 0 : -1;
}

static DWORD WINAPI serve(LPVOID arg)
{
    fake_server *f = (fake_server *)arg;
    SOCKET s = accept_within(f->l, 10000);
    char line[256], out[300];
    if (s == INVALID_SOCKET) return 1;
    say(s, "* OK [CAPABILITY IMAP4rev1 LITERAL+] fake ready\r\n");
    while (read_line(s, line, sizeof line) >= 0) {
        char *sp = strchr(line, ' ');
        f->commands++;
        if (strlen(f->seen) + strlen(line) + 2 < sizeof f->seen) {
            strcat(f->seen, line);
            strcat(f->seen, "|");
        }
        if (!sp) break;
        *sp = 0;
        if (strncmp(sp + 1, "LOGIN", 5) == 0) {
            sprintf(out, "%s OK [CAPABILITY IMAP4rev1 IDLE] welcome\r\n", line);
        } else if (strncmp(sp + 1, "SELECT", 6) == 0) {
            sprintf(out, "* 3 EXISTS\r\n* FLAGS (\\Seen)\r\n%s OK [READ-WRITE] done\r\n", line);
        } else if (strncmp(sp + 1, "FETCH", 5) == 0) {
            sprintf(out, "* 2 FETCH (UID 7 BODY[] {5}\r\nhello)\r\n%s OK done\r\n", line);
        } else if (strncmp(sp + 1, "LOGOUT", 6) == 0) {
            sprintf(out, "* BYE see you\r\n%s OK bye\r\n", line);
            say(s, out);
            break;
        } else {
            sprintf(out, "%s BAD what\r\n", line);
        }
        if (say(s, out) != 0) break;
    }
    closesocket(s);
    return 0;
}

static long long tick_ms(void *arg)
{
    (void)arg;
    return (long long)GetTickCount64();
}

static int fetched;

static void on_fetch(void *arg, imap_client *c, const imap_response *rsp)
{
    imap_fetch_iter it;
    imap_fetch_attr a;
    (void)arg;
    (void)c;
    if (imap_fetch_begin(rsp, &it) != 0) return;
    while (imap_fetch_next(&it, &a) == 1)
        if (imap_str_is(a.name, "BODY") && a.has_section && a.section.len == 0 &&
            a.value->len == 5 &&
            memcmp(a.value->str, "hello", 5) == 0) fetched++;
}

TEST(client_session_over_winsock)
{
    static unsigned char mem[1 << 16];
    static fake_server f;
    imap_client c;
    imap_tcp t;
    imap_transport tr;
    imap_call call;
    unsigned port = 0;
    HANDLE th;
    memset(&f, 0, sizeof f);
    f.l = listen_any(&port);
    CHECK(f.l != INVALID_SOCKET);
    if (f.l == INVALID_SOCKET) return;
    th = CreateThread(NULL, 0, serve, &f, 0, NULL);
    CHECK(th != NULL);
    imap_client_init(&c, mem, sizeof mem);
    imap_client_set_clock(&c, tick_ms, NULL);
    imap_client_set_timeout(&c, 10000);
    CHECK_EQ_INT(imap_tcp_connect(&t, "localhost", port, 5000, &tr), IMAP_OK);
    CHECK_EQ_INT(imap_client_open(&c, &tr), IMAP_OK);
    CHECK(imap_client_has_cap(&c, "LITERAL+"));
    CHECK_EQ_INT(imap_login(&c, "user", "pass word", NULL), IMAP_OK);
    CHECK(imap_client_has_cap(&c, "IDLE"));
    CHECK_EQ_INT(imap_select(&c, "INBOX", 0, NULL), IMAP_OK);
    CHECK(c.exists == 3);
    memset(&call, 0, sizeof call);
    call.on_data = on_fetch;
    CHECK_EQ_INT(imap_fetch(&c, "2", "(UID BODY[])", &call), IMAP_OK);
    CHECK_EQ_INT(fetched, 1);
    CHECK_EQ_INT(imap_noop(&c, NULL), IMAP_E_BAD);
    CHECK_EQ_INT(imap_logout(&c, NULL), IMAP_OK);
    CHECK_EQ_INT(c.state, IMAP_STATE_LOGOUT);
    imap_client_close(&c);
    CHECK(t.sock == IMAP_TCP_NO_SOCKET);
    CHECK(th == NULL || WaitForSingleObject(th, 10000) == WAIT_OBJECT_0);
    if (th) CloseHandle(th);
    CHECK_EQ_INT(f.commands, 5);
    CHECK(strstr(f.seen, " LOGIN user \"pass word\"|") != NULL);
    CHECK(strstr(f.seen, " FETCH 2 (UID BODY[])|") != NULL);
    closesocket(f.l);
}

int main(void)
{
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        printf("WSAStartup failed\n0 passed, 1 failed\n");
        return 1;
    }
    RUN(bad_arguments);
    RUN(round_trip_timeout_nonblocking_wait_and_eof);
    RUN(refused_port_is_io_error);
    RUN(unresolvable_name_is_io_error_with_gai_code);
    RUN(attach_a_socket_of_ones_own);
    RUN(client_session_over_winsock);
    WSACleanup();
    return test_summary();
}
