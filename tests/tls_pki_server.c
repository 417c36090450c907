/* tls_pki_server.c - the TLS servers of tests/it_tls_pki.c: OpenSSL
   (an implementation other than the client's), one port on 127.0.0.1
   per certificate of tests/tls_pki.sh, each greeting in IMAP after its
   handshake; "plain" ports greet without TLS (TLS to a plaintext port).
     tls_pki_server DIR PORTSFILE NAME...
   serves DIR/NAME.chain with DIR/NAME.key (or plaintext for "plain"),
   writes "NAME PORT" lines to PORTSFILE once all are listening, and runs until
   killed. NAME "inject" is a STARTTLS server that adds plaintext after
   its OK (good_rsa's certificate after that). Security level 0: it must be able to serve SHA-1, MD5 and
   RSA-1024 certificates, which the client is the one to refuse.
   Build: cc -std=c99 tests/tls_pki_server.c -lssl -lcrypto */
#define _POSIX_C_SOURCE 200809L
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAXS 32

static const char greeting[] = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] pki test ready\r\n";

/* A few commands, enough for the examples: CAPABILITY, LOGIN, EXAMINE
   (3 messages), LOGOUT; anything else is BAD. 0 go on, -1 end. */
static int answer(SSL *ssl, int fd, char *line)
{
    char out[800], *sp = strchr(line, ' ');
    int end = 0;
    if (!sp) return -1;
    *sp++ = 0;
    if (strncmp(sp, "CAPABILITY", 10) == 0)
        snprintf(out, sizeof out, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s OK done\r\n", line);
    else if (strncmp(sp, "LOGIN", 5) == 0)
        snprintf(out, sizeof out, "%s OK logged in\r\n", line);
    else if (strncmp(sp, "EXAMINE", 7) == 0)
        snprintf(out, sizeof out, "* 3 EXISTS\r\n* FLAGS ()\r\n%s OK [READ-ONLY] done\r\n", line);
    else if (strncmp(sp, "LOGOUT", 6) == 0)
        snprintf(out, sizeof out, "* BYE bye\r\n%s OK LOGOUT done\r\n", line), end = 1;
    else
        snprintf(out, sizeof out, "%s BAD not here\r\n", line);
    if (ssl ? SSL_write(ssl, out, (int)strlen(out)) <= 0 : write(fd, out, strlen(out)) < 0)
        return -1;
    return end ? -1 : 0;
}

/* Read one line (commands here are short); 0 or -1. */
static int get_line(SSL *ssl, int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        int k = ssl ? SSL_read(ssl, buf + n, 1) : (int)read(fd, buf + n, 1);
        if (k <= 0) return -1;
        if (buf[n++] == '\n') break;
    }
    buf[n] = 0;
    return 0;
}

static void session(SSL *ssl, int fd)
{
    char buf[512];
    if (ssl ? SSL_write(ssl, greeting, (int)strlen(greeting)) <= 0
            : write(fd, greeting, strlen(greeting)) < 0)
        return;
    while (get_line(ssl, fd, buf, sizeof buf) == 0 && answer(ssl, fd, buf) == 0) {}
}

/* "inject": plaintext with STARTTLS, and after its OK, in the same write,
   what an attacker in the middle would add (RFC 2595 §3.1; CVE-2011-0411):
   an EXISTS, forged capabilities, a BYE. Then TLS and a normal session. */
static void inject(SSL_CTX *ctx, int fd)
{
    static const char g[] = "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] inject test\r\n";
    char buf[512], out[800], *sp;
    SSL *ssl;
    if (write(fd, g, sizeof g - 1) < 0 || get_line(NULL, fd, buf, sizeof buf) != 0) return;
    sp = strchr(buf, ' ');
    if (!sp || strncmp(sp + 1, "STARTTLS", 8) != 0) return;
    *sp = 0;
    snprintf(out, sizeof out, "%s OK Begin TLS negotiation now\r\n* 777 EXISTS\r\n"
             "* CAPABILITY IMAP4rev1 LOGINDISABLED\r\n* BYE forged\r\n", buf);
    if (write(fd, out, strlen(out)) < 0) return;
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        while (get_line(ssl, fd, buf, sizeof buf) == 0 && answer(ssl, fd, buf) == 0) {}
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    ERR_clear_error();
}

int main(int argc, char **argv)
{
    struct pollfd pf[MAXS];
    SSL_CTX *ctx[MAXS];
    int isinj[MAXS];
    FILE *ports;
    char tmp[1024];
    int n = 0, i;
    if (argc < 4 || argc - 3 > MAXS) {
        fprintf(stderr, "usage: %s DIR PORTSFILE NAME...\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    ports = fopen(tmp, "w");
    if (!ports) return 1;
    for (i = 3; i < argc; i++, n++) {
        struct sockaddr_in a;
        socklen_t al = sizeof a;
        int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
        char chain[1024], key[1024];
        ctx[n] = NULL;
        isinj[n] = strcmp(argv[i], "inject") == 0;
        if (strcmp(argv[i], "plain") != 0) {
            const char *cert = isinj[n] ? "good_rsa" : argv[i];
            ctx[n] = SSL_CTX_new(TLS_server_method());
            SSL_CTX_set_security_level(ctx[n], 0);
            snprintf(chain, sizeof chain, "%s/%s.chain", argv[1], cert);
            snprintf(key, sizeof key, "%s/%s.key", argv[1], cert);
            if (SSL_CTX_use_certificate_chain_file(ctx[n], chain) != 1 ||
                SSL_CTX_use_PrivateKey_file(ctx[n], key, SSL_FILETYPE_PEM) != 1) {
                fprintf(stderr, "tls_pki_server: cannot load %s\n", chain);
                ERR_print_errors_fp(stderr);
                return 1;
            }
        }
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 8) != 0 ||
            getsockname(s, (struct sockaddr *)&a, &al) != 0) {
            perror("tls_pki_server: bind");
            return 1;
        }
        pf[n].fd = s;
        pf[n].events = POLLIN;
        fprintf(ports, "%s %u\n", argv[i], (unsigned)ntohs(a.sin_port));
    }
    fclose(ports);
    if (rename(tmp, argv[2]) != 0) return 1;   /* whole, or not there */
    for (;;) {
        if (poll(pf, (nfds_t)n, -1) < 0) continue;
        for (i = 0; i < n; i++) {
            struct timeval tv;
            int c;
            if (!(pf[i].revents & POLLIN)) continue;
            c = accept(pf[i].fd, NULL, NULL);
            if (c < 0) continue;
            tv.tv_sec = 5;
            tv.tv_usec = 0;
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            if (isinj[i]) {
                inject(ctx[i], c);
            } else if (ctx[i]) {
                SSL *ssl = SSL_new(ctx[i]);
                SSL_set_fd(ssl, c);
                if (SSL_accept(ssl) == 1) {
                    session(ssl, c);
                    SSL_shutdown(ssl);
                }
                SSL_free(ssl);
                ERR_clear_error();
            } else {
                session(NULL, c);
            }
            close(c);
        }
    }
}
