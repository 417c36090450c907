/* e2e_raw - the limit: the same FETCH over the same kind of socket, its
   answer read and thrown away, parsing nothing (issue 6, e2e.sh).

   Usage: e2e_raw HOST PORT USER PASS MAILBOX meta|bodies
   Sends LOGIN and EXAMINE (read up to their tagged lines), then times one
   UID FETCH 1:* and reads until "\r\nZ9 " (the tagged answer) appears in
   the stream. Prints "result ..." like the other e2e clients. */
#include "bench_common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 16];

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Read until `needle` has been seen; returns bytes read, -1 on EOF. The
   last few bytes of each read are kept to catch a needle split in two. */
static long long read_until(int fd, const char *needle)
{
    size_t nl = strlen(needle), keep = 0;
    long long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf + keep, sizeof buf - keep);
        if (n <= 0) return -1;
        total += n;
        if (memmem(buf, keep + (size_t)n, needle, nl)) return total;
        {
            size_t have = keep + (size_t)n, k = have < nl ? have : nl - 1;
            memmove(buf, buf + have - k, k);
            keep = k;
        }
    }
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) { perror("write"); exit(1); }
        s += w;
        n -= (size_t)w;
    }
}

/* A quoted string: backslash and double quote escaped (RFC 3501 §4.3). */
static void quoted(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    out[o++] = '"';
    for (; *s && o + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') out[o++] = '\\';
        out[o++] = *s;
    }
    out[o++] = '"';
    out[o] = 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    char cmd[1024], qu[256], qp[256];
    int fd, one = 1, bodies;
    long long got;
    double w0, c0, wall, cpu;
    if (argc != 7) {
        fprintf(stderr, "usage: e2e_raw HOST PORT USER PASS MAILBOX meta|bodies\n");
        return 2;
    }
    bodies = strcmp(argv[6], "bodies") == 0;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); return 1; }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (read_until(fd, "\r\n") < 0) return 1;
    quoted(qu, sizeof qu, argv[3]);
    quoted(qp, sizeof qp, argv[4]);
    snprintf(cmd, sizeof cmd, "Z7 LOGIN %s %s\r\nZ8 EXAMINE %s\r\n", qu, qp, argv[5]);
    send_all(fd, cmd, strlen(cmd));
    if (read_until(fd, "\r\nZ8 ") < 0) return 1;
    snprintf(cmd, sizeof cmd, "Z9 UID FETCH 1:* %s\r\n",
             bodies ? "(UID BODY.PEEK[])" : "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)");
    w0 = bench_now();
    c0 = cpu_now();
    send_all(fd, cmd, strlen(cmd));
    got = read_until(fd, "\r\nZ9 ");
    wall = bench_now() - w0;
    cpu = cpu_now() - c0;
    if (got < 0) { fprintf(stderr, "e2e_raw: connection closed\n"); return 1; }
    send_all(fd, "Z10 LOGOUT\r\n", 12);
    close(fd);
    printf("result client=raw test=%s inflight=1 wall=%.4f cpu=%.4f bytes=%lld\n",
           argv[6], wall, cpu, got);
    return 0;
}
