/* tls_pki_server.c - the TLS servers of tests/it_tls_pki.c: OpenSSL
   (an implementation other than the client's), one port on 127.0.0.1
   per certificate of tests/tls_pki.sh, each greeting in IMAP after its
   handshake; "plain" ports greet without TLS (TLS to a plaintext port).
     tls_pki_server DIR PORTSFILE NAME...
   serves DIR/NAME.chain with DIR/NAME.key (or plaintext for "plain"),
   writes "NAME PORT" lines to PORTSFILE once all are listening, and runs until
   killed. Security level 0: it must be able to serve SHA-1, MD5 and
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

/* After the greeting: answer LOGOUT, then close; anything else, BAD. */
static void session(SSL *ssl, int fd)
{
    char buf[512];
    int n;
    if (ssl ? SSL_write(ssl, greeting, (int)strlen(greeting)) <= 0
            : write(fd, greeting, strlen(greeting)) < 0)
        return;
    for (;;) {
        char out[600], *sp;
        n = ssl ? SSL_read(ssl, buf, sizeof buf - 1) : (int)read(fd, buf, sizeof buf - 1);
        if (n <= 0) return;
        buf[n] = 0;
        sp = strchr(buf, ' ');
        if (!sp) return;
        *sp = 0;
        if (strstr(sp + 1, "LOGOUT"))
            snprintf(out, sizeof out, "* BYE bye\r\n%s OK LOGOUT done\r\n", buf);
        else
            snprintf(out, sizeof out, "%s BAD not here\r\n", buf);
        if (ssl ? SSL_write(ssl, out, (int)strlen(out)) <= 0 : write(fd, out, strlen(out)) < 0)
            return;
        if (strstr(sp + 1, "LOGOUT")) return;
    }
}

int main(int argc, char **argv)
{
    struct pollfd pf[MAXS];
    SSL_CTX *ctx[MAXS];
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
        if (strcmp(argv[i], "plain") != 0) {
            ctx[n] = SSL_CTX_new(TLS_server_method());
            SSL_CTX_set_security_level(ctx[n], 0);
            snprintf(chain, sizeof chain, "%s/%s.chain", argv[1], argv[i]);
            snprintf(key, sizeof key, "%s/%s.key", argv[1], argv[i]);
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
            if (ctx[i]) {
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
