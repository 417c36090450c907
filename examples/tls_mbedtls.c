/* build: -lmbedtls -lmbedx509 -lmbedcrypto */
/* tls_mbedtls - imap.h over Mbed TLS (what ESP-IDF and Zephyr ship): the
   same four transport callbacks as examples/tls_openssl.c, here around
   an mbedtls_ssl_context whose BIO is imap.h's own TCP socket. Implicit
   TLS (993) and STARTTLS through the two-step call (imap_starttls_begin,
   the handshake, imap_starttls_finish). TLS 1.2, the certificate and the
   host name verified against --cafile or /etc/ssl/certs. (Mbed TLS 2.28
   matches DNS names only: connect by name.) On firmware the socket calls
   below become your network stack's.

   Build:  cc -O2 -I. examples/tls_mbedtls.c -o tls_mbedtls \
              -lmbedtls -lmbedx509 -lmbedcrypto   (Debian: libmbedtls-dev)
   Usage:  IMAP_PASSWORD=secret ./tls_mbedtls [--starttls] [--cafile PEM] HOST PORT USER
           Logs in, examines INBOX, prints "N messages in INBOX", logs out. */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>  /* its MBEDTLS_ERR_NET_* codes only */
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct mtls {
    mbedtls_ssl_context ssl;
    imap_tcp *tcp;
} mtls;

static int sock_wait(int fd, int for_write, long timeout_ms)
{
    struct pollfd p;
    int r;
    p.fd = fd;
    p.events = for_write ? POLLOUT : POLLIN;
    r = poll(&p, 1, (int)timeout_ms);
    return r < 0 ? -1 : r > 0;
}

/* Mbed TLS's BIO on the (non-blocking) socket */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    imap_tcp *t = (imap_tcp *)ctx;
    ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE
                                                                     : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    imap_tcp *t = (imap_tcp *)ctx;
    ssize_t n = recv(t->fd, buf, len, 0);
    if (n > 0) return (int)n;
    if (n == 0) return MBEDTLS_ERR_NET_CONN_RESET;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
                                                                     : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* imap.h's transport contract: bytes, 0 for "not now", -1 to end */
static int t_read(void *ctx, unsigned char *buf, size_t len)
{
    mtls *m = (mtls *)ctx;
    int n = mbedtls_ssl_read(&m->ssl, buf, len);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) {
        if (sock_wait(m->tcp->fd, n == MBEDTLS_ERR_SSL_WANT_WRITE, m->tcp->timeout_ms) < 0)
            return -1;
        n = mbedtls_ssl_read(&m->ssl, buf, len);
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
    }
    return n > 0 ? n : -1;          /* 0 and close_notify end the stream too */
}

static int t_write(void *ctx, const unsigned char *buf, size_t len)
{
    mtls *m = (mtls *)ctx;
    int n = mbedtls_ssl_write(&m->ssl, buf, len);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
    return n > 0 ? n : -1;
}

static int t_wait(void *ctx, int for_write, long timeout_ms)
{
    mtls *m = (mtls *)ctx;
    if (!for_write && mbedtls_ssl_get_bytes_avail(&m->ssl) > 0) return 1;
    return sock_wait(m->tcp->fd, for_write, timeout_ms);
}

static int t_close(void *ctx)
{
    mtls *m = (mtls *)ctx;
    mbedtls_ssl_close_notify(&m->ssl);
    return imap_tcp_close(m->tcp);
}

static int handshake(mtls *m, const mbedtls_ssl_config *conf, imap_tcp *tcp, const char *host)
{
    long left = 30000;
    int r;
    m->tcp = tcp;
    if (mbedtls_ssl_setup(&m->ssl, conf) != 0 || mbedtls_ssl_set_hostname(&m->ssl, host) != 0)
        return -1;
    mbedtls_ssl_set_bio(&m->ssl, tcp, bio_send, bio_recv, NULL);
    while ((r = mbedtls_ssl_handshake(&m->ssl)) != 0) {
        if ((r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) || left <= 0 ||
            sock_wait(tcp->fd, r == MBEDTLS_ERR_SSL_WANT_WRITE, 1000) < 0) {
            char why[256];
            uint32_t flags = mbedtls_ssl_get_verify_result(&m->ssl);
            if (flags && flags != (uint32_t)-1)
                mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
            else
                mbedtls_strerror(r, why, sizeof why);
            fprintf(stderr, "tls_mbedtls: TLS handshake failed: %s\n", why);
            return -1;
        }
        left -= 1000;
    }
    return 0;
}

static mtls m;
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_x509_crt ca;
static mbedtls_ssl_config conf;
static imap_client c;

/* Everything Mbed TLS holds goes back, on every way out. */
static int done(int rc)
{
    imap_client_close(&c);
    mbedtls_ssl_free(&m.ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return rc;
}

static int fail(const char *what, int rc, imap_client *cl, imap_tcp *tcp)
{
    char text[512];
    imap_error_text(text, sizeof text, rc, cl, tcp, NULL);
    fprintf(stderr, "tls_mbedtls: %s: %s\n", what, text);
    return done(2);
}

int main(int argc, char **argv)
{
    static unsigned char mem[64 * 1024];
    imap_tcp tcp;
    imap_transport plain, tt;
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

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&ca);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&m.ssl);
    imap_client_init(&c, mem, sizeof mem);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                              (const unsigned char *)"imap.h", 6) != 0 ||
        (cafile ? mbedtls_x509_crt_parse_file(&ca, cafile) != 0
                : mbedtls_x509_crt_parse_path(&ca, "/etc/ssl/certs") < 0) ||
        mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        fprintf(stderr, "tls_mbedtls: set-up failed (trust anchors %s)\n", cafile ? cafile : "");
        return done(2);
    }
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);

    imap_client_set_timeout(&c, 30000);
    rc = imap_tcp_connect(&tcp, host, port, 10000, &plain);
    if (rc != IMAP_OK) return fail("connect", rc, NULL, &tcp);
    tt.read = t_read;
    tt.write = t_write;
    tt.wait = t_wait;
    tt.close = t_close;
    tt.ctx = &m;
    if (starttls) {
        imap_client_require_tls(&c, 1);             /* PREAUTH in plaintext: refused */
        rc = imap_client_open(&c, &plain);
        if (rc == IMAP_OK) rc = imap_starttls_begin(&c, NULL);
        if (rc != IMAP_OK) return fail("STARTTLS", rc, &c, &tcp);
        if (handshake(&m, &conf, &tcp, host) != 0) return done(2);
        rc = imap_starttls_finish(&c, &tt);
        if (rc != IMAP_OK) return fail("CAPABILITY after STARTTLS", rc, &c, &tcp);
        printf("after STARTTLS: %llu EXISTS known, capabilities: %.*s\n",
               (unsigned long long)c.exists, (int)imap_client_capabilities(&c).len,
               imap_client_capabilities(&c).ptr);
    } else {
        if (handshake(&m, &conf, &tcp, host) != 0) {
            imap_tcp_close(&tcp);
            return done(2);
        }
        imap_client_mark_tls(&c, 1);
        rc = imap_client_open(&c, &tt);
        if (rc != IMAP_OK) return fail("greeting", rc, &c, &tcp);
    }
    printf("%s, %s\n", mbedtls_ssl_get_version(&m.ssl), mbedtls_ssl_get_ciphersuite(&m.ssl));
    rc = imap_login(&c, user, pass, NULL);
    if (rc != IMAP_OK) return fail("LOGIN", rc, &c, &tcp);
    rc = imap_examine(&c, "INBOX", NULL);
    if (rc != IMAP_OK) return fail("EXAMINE", rc, &c, &tcp);
    printf("%llu messages in INBOX\n", (unsigned long long)c.exists);
    imap_logout(&c, NULL);
    return done(0);
}
