/* build: -lssl -lcrypto */
/* tls_openssl - imap.h over OpenSSL instead of BearSSL: a transport of
   four callbacks around an SSL object on imap.h's own TCP socket, for
   implicit TLS (port 993) and for STARTTLS through the two-step call
   (imap_starttls_begin, your handshake, imap_starttls_finish), which
   drops anything the server slipped in before TLS. TLS 1.2 or 1.3,
   certificates verified (host name or IP literal) against the system
   store or --cafile.

   Build:  cc -O2 -I. examples/tls_openssl.c -o tls_openssl -lssl -lcrypto
           (Debian: apt-get install libssl-dev)
   Usage:  IMAP_PASSWORD=secret ./tls_openssl [--starttls] [--cafile PEM] HOST PORT USER
           Logs in, examines INBOX, prints "N messages in INBOX", logs out. */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ossl {
    SSL *ssl;
    imap_tcp *tcp;        /* the socket under it (non-blocking) */
} ossl;

/* Wait for the socket as OpenSSL asked: 1 ready, 0 timed out, -1 error. */
static int sock_wait(int fd, int for_write, long timeout_ms)
{
    struct pollfd p;
    int r;
    p.fd = fd;
    p.events = for_write ? POLLOUT : POLLIN;
    r = poll(&p, 1, (int)timeout_ms);
    return r < 0 ? -1 : r > 0;
}

/* The transport contract (imap.h section 8): bytes, 0 for "not now", -1. */
static int t_read(void *ctx, unsigned char *buf, size_t len)
{
    ossl *o = (ossl *)ctx;
    int n, e;
    if (len > 1 << 30) len = 1 << 30;
    n = SSL_read(o->ssl, buf, (int)len);
    if (n > 0) return n;
    e = SSL_get_error(o->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        /* one wait, as imap_tcp's blocking mode does, then "nothing" */
        if (sock_wait(o->tcp->fd, e == SSL_ERROR_WANT_WRITE, o->tcp->timeout_ms) < 0) return -1;
        n = SSL_read(o->ssl, buf, (int)len);
        if (n > 0) return n;
        e = SSL_get_error(o->ssl, n);
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
    }
    return -1;                      /* close_notify or an error: both end it */
}

static int t_write(void *ctx, const unsigned char *buf, size_t len)
{
    ossl *o = (ossl *)ctx;
    int n, e;
    if (len > 1 << 30) len = 1 << 30;
    n = SSL_write(o->ssl, buf, (int)len);
    if (n > 0) return n;
    e = SSL_get_error(o->ssl, n);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

static int t_wait(void *ctx, int for_write, long timeout_ms)
{
    ossl *o = (ossl *)ctx;
    if (!for_write && SSL_pending(o->ssl) > 0) return 1;    /* decrypted, unread */
    return sock_wait(o->tcp->fd, for_write, timeout_ms);
}

static int t_close(void *ctx)
{
    ossl *o = (ossl *)ctx;
    SSL_shutdown(o->ssl);           /* close_notify, not waiting for the reply */
    SSL_free(o->ssl);
    o->ssl = NULL;
    return imap_tcp_close(o->tcp);
}

/* The handshake on tcp's socket, verifying host (a name or an IP
   literal). 0, or -1 with the reason printed. */
static int handshake(ossl *o, SSL_CTX *ctx, imap_tcp *tcp, const char *host)
{
    X509_VERIFY_PARAM *vp;
    long left = 30000;
    o->tcp = tcp;
    o->ssl = SSL_new(ctx);
    SSL_set_fd(o->ssl, tcp->fd);
    vp = SSL_get0_param(o->ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {     /* not an IP: a name */
        SSL_set_tlsext_host_name(o->ssl, host);             /* SNI: names only */
        X509_VERIFY_PARAM_set1_host(vp, host, 0);
    }
    for (;;) {
        int r = SSL_connect(o->ssl), e;
        if (r == 1) return 0;
        e = SSL_get_error(o->ssl, r);
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || left <= 0 ||
            sock_wait(tcp->fd, e == SSL_ERROR_WANT_WRITE, 1000) < 0) {
            long v = SSL_get_verify_result(o->ssl);
            fprintf(stderr, "tls_openssl: TLS handshake failed: %s\n",
                    v != X509_V_OK ? X509_verify_cert_error_string(v)
                                   : ERR_reason_error_string(ERR_get_error()));
            SSL_free(o->ssl);
            o->ssl = NULL;
            return -1;
        }
        left -= 1000;
    }
}

static imap_client c;
static SSL_CTX *ctx;

/* Close the session (the transport frees the SSL) and the context. */
static int done(int rc)
{
    imap_client_close(&c);
    SSL_CTX_free(ctx);
    return rc;
}

static int fail(const char *what, int rc, imap_client *cl, imap_tcp *tcp)
{
    char text[512];
    imap_error_text(text, sizeof text, rc, cl, tcp, NULL);
    fprintf(stderr, "tls_openssl: %s: %s\n", what, text);
    return done(2);
}

int main(int argc, char **argv)
{
    static unsigned char mem[64 * 1024];
    imap_tcp tcp;
    imap_transport plain, tt;
    ossl o;
    const char *cafile = NULL, *host, *user, *pass = getenv("IMAP_PASSWORD");
    int starttls = 0, i = 1, rc;
    unsigned port;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--starttls") == 0) starttls = 1;
        else if (strcmp(argv[i], "--cafile") == 0 && i + 1 < argc) cafile = argv[++i];
        else break;
    }
    if (argc - i != 3 || !pass) {
        fprintf(stderr, "usage: IMAP_PASSWORD=... %s [--starttls] [--cafile PEM] HOST PORT USER\n",
                argv[0]);
        return 1;
    }
    host = argv[i];
    port = (unsigned)atoi(argv[i + 1]);
    user = argv[i + 2];

    imap_client_init(&c, mem, sizeof mem);
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cafile ? SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1
               : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        fprintf(stderr, "tls_openssl: cannot load the trust anchors %s\n", cafile ? cafile : "");
        return done(2);
    }
    imap_client_set_timeout(&c, 30000);
    rc = imap_tcp_connect(&tcp, host, port, 10000, &plain);
    if (rc != IMAP_OK) return fail("connect", rc, NULL, &tcp);
    tt.read = t_read;
    tt.write = t_write;
    tt.wait = t_wait;
    tt.close = t_close;
    tt.ctx = &o;
    if (starttls) {
        /* plaintext first, TLS required: a PREAUTH greeting is refused */
        imap_client_require_tls(&c, 1);
        rc = imap_client_open(&c, &plain);
        if (rc == IMAP_OK) rc = imap_starttls_begin(&c, NULL);
        if (rc != IMAP_OK) return fail("STARTTLS", rc, &c, &tcp);
        if (handshake(&o, ctx, &tcp, host) != 0) return done(2);
        rc = imap_starttls_finish(&c, &tt);
        if (rc != IMAP_OK) return fail("CAPABILITY after STARTTLS", rc, &c, &tcp);
        printf("after STARTTLS: %llu EXISTS known, capabilities: %.*s\n",
               (unsigned long long)c.exists, (int)imap_client_capabilities(&c).len,
               imap_client_capabilities(&c).ptr);
    } else {
        if (handshake(&o, ctx, &tcp, host) != 0) {
            imap_tcp_close(&tcp);
            return done(2);
        }
        imap_client_mark_tls(&c, 1);
        rc = imap_client_open(&c, &tt);
        if (rc != IMAP_OK) return fail("greeting", rc, &c, &tcp);
    }
    printf("%s, %s\n", SSL_get_version(o.ssl), SSL_get_cipher_name(o.ssl));
    rc = imap_login(&c, user, pass, NULL);
    if (rc != IMAP_OK) return fail("LOGIN", rc, &c, &tcp);
    rc = imap_examine(&c, "INBOX", NULL);
    if (rc != IMAP_OK) return fail("EXAMINE", rc, &c, &tcp);
    printf("%llu messages in INBOX\n", (unsigned long long)c.exists);
    imap_logout(&c, NULL);
    return done(0);
}
