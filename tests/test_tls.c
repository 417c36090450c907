/* build: -DIMAP_WITH_BEARSSL -lbearssl */
/* Unit tests of the TLS transport (8d) and STARTTLS (9c). The server is
   BearSSL's own, run in this process: the client's lower transport hands
   its bytes to the server engine and takes the server's records back, so
   every handshake is real and the run is deterministic. The client runs
   half duplex here (BR_SSL_BUFSIZE_MONO); tests/it_dovecot.c runs the
   default full-duplex buffer against Dovecot. Certificates: tls_data.h. */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#define IMAP_TLS_BUFSIZE BR_SSL_BUFSIZE_MONO
#include "../imap.h"
#include "test.h"
#include "tls_data.h"

#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#ifndef IMAP_WITH_BEARSSL
#error "build with -DIMAP_WITH_BEARSSL -lbearssl"
#endif

/* ---- PEM and DER on the test side ------------------------------------ */

typedef struct der {
    unsigned char *p;
    size_t n, cap;
} der;

static void der_put(void *ctx, const void *b, size_t n)
{
    der *d = (der *)ctx;
    if (d->n + n > d->cap) {
        d->cap = (d->n + n) * 2 + 64;
        d->p = (unsigned char *)realloc(d->p, d->cap);
    }
    memcpy(d->p + d->n, b, n);
    d->n += n;
}

/* The index-th object of a PEM text. */
static der pem_obj(const char *pem, int index)
{
    br_pem_decoder_context pc;
    der d;
    size_t len = strlen(pem);
    int seen = -1;
    memset(&d, 0, sizeof d);
    br_pem_decoder_init(&pc);
    while (len > 0) {
        size_t k = br_pem_decoder_push(&pc, pem, len);
        pem += k;
        len -= k;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            seen++;
            br_pem_decoder_setdest(&pc, seen == index ? der_put : NULL, &d);
            break;
        case BR_PEM_END_OBJ:
            if (seen == index) return d;
            break;
        default:
            break;
        }
    }
    return d;
}

/* A trust anchor made from a CA's PEM (test side: the server's view). */
typedef struct anchor {
    br_x509_decoder_context dc;
    der dn;
    br_x509_trust_anchor ta;
} anchor;

static void anchor_make(anchor *a, const char *pem)
{
    der c = pem_obj(pem, 0);
    br_x509_pkey *pk;
    memset(a, 0, sizeof *a);
    br_x509_decoder_init(&a->dc, der_put, &a->dn);
    br_x509_decoder_push(&a->dc, c.p, c.n);
    pk = br_x509_decoder_get_pkey(&a->dc);
    a->ta.dn.data = a->dn.p;
    a->ta.dn.len = a->dn.n;
    a->ta.flags = BR_X509_TA_CA;
    a->ta.pkey = *pk;
    free(c.p);
}

static char *cat(const char *a, const char *b)
{
    char *s = (char *)malloc(strlen(a) + strlen(b) + 1);
    strcpy(s, a);
    strcat(s, b);
    return s;
}

/* ---- the in-process server --------------------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t len, off, cap;
} buf;

static void buf_put(buf *b, const void *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = (unsigned char *)realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void buf_puts(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

typedef struct srv {
    /* knobs, set before srv_start */
    int rsa;                    /* RSA certificate (else EC P-256) */
    int implicit;               /* TLS from the first byte (IMAP4_SSL) */
    const char *greeting;       /* NULL: none */
    const char *caps_plain;     /* CAPABILITY before TLS */
    const char *caps_tls;       /* and after */
    int starttls_no;            /* STARTTLS is answered NO */
    const char *after_ok;       /* plaintext sent right after STARTTLS's OK */
    int after_ok_later;         /* ... in a read of its own */
    size_t max_read;            /* most bytes a client read gets (0: all) */
    int would_block;            /* every other read and write returns 0 */
    const uint16_t *suites;     /* restrict the server's suites */
    size_t nsuites;
    unsigned vmin, vmax;        /* restrict its versions */
    int want_client_cert;       /* require a client certificate */
    size_t big;                 /* FETCH answers with a literal this long */
    size_t cert_pad;            /* zero bytes after its certificate's DER */
    /* state */
    br_ssl_server_context sc;
    br_skey_decoder_context sk;
    br_x509_certificate chain;
    br_x509_minimal_context xc;
    anchor ca;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
    der cert, key;
    int tls;                    /* what the client sends goes to the engine */
    buf plain;                  /* cleartext bytes to send */
    size_t split;               /* a read stops here (after_ok_later) */
    buf app;                    /* bytes to send inside TLS */
    char in[8192];
    size_t in_len;
    unsigned long reads, writes;
    int client_closed;
    int tls_commands;           /* commands received inside TLS */
    int tls_capability;         /* CAPABILITY received inside TLS */
} srv;

static void srv_reply(srv *s, const char *text)
{
    buf_puts(s->tls ? &s->app : &s->plain, text);
}

static void srv_line(srv *s, const char *line)
{
    char tag[32], cmd[32], out[512];
    if (sscanf(line, "%31s %31s", tag, cmd) != 2) {
        srv_reply(s, "* BAD what\r\n");
        return;
    }
    if (s->tls) s->tls_commands++;
    if (strcmp(cmd, "CAPABILITY") == 0) {
        if (s->tls) s->tls_capability++;
        sprintf(out, "* CAPABILITY %s\r\n%s OK done\r\n",
                s->tls ? s->caps_tls : s->caps_plain, tag);
        srv_reply(s, out);
    } else if (strcmp(cmd, "STARTTLS") == 0 && !s->tls) {
        if (s->starttls_no) {
            sprintf(out, "%s NO not today\r\n", tag);
            srv_reply(s, out);
            return;
        }
        sprintf(out, "%s OK begin TLS now\r\n", tag);
        srv_reply(s, out);
        if (s->after_ok) {
            if (s->after_ok_later) s->split = s->plain.len;
            srv_reply(s, s->after_ok);
        }
        s->tls = 1;
    } else if (strcmp(cmd, "LOGIN") == 0) {
        sprintf(out, "%s OK logged in\r\n", tag);
        srv_reply(s, out);
    } else if (strcmp(cmd, "NOOP") == 0) {
        sprintf(out, "%s OK\r\n", tag);
        srv_reply(s, out);
    } else if (strcmp(cmd, "FETCH") == 0) {
        size_t i;
        unsigned char chunk[4096];
        sprintf(out, "* 1 FETCH (BODY[] {%lu}\r\n", (unsigned long)s->big);
        srv_reply(s, out);
        for (i = 0; i < s->big;) {
            size_t k = s->big - i < sizeof chunk ? s->big - i : sizeof chunk, j;
            for (j = 0; j < k; j++) chunk[j] = (unsigned char)((i + j) * 7 + (i + j) / 251);
            buf_put(s->tls ? &s->app : &s->plain, chunk, k);
            i += k;
        }
        sprintf(out, ")\r\n%s OK fetched\r\n", tag);
        srv_reply(s, out);
    } else if (strcmp(cmd, "LOGOUT") == 0) {
        sprintf(out, "* BYE\r\n%s OK\r\n", tag);
        srv_reply(s, out);
    } else {
        sprintf(out, "%s BAD unknown\r\n", tag);
        srv_reply(s, out);
    }
}

static void srv_take(srv *s, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (s->in_len + 1 >= sizeof s->in) s->in_len = 0;
        s->in[s->in_len++] = (char)p[i];
        if (p[i] == '\n') {
            s->in[s->in_len] = 0;
            s->in_len = 0;
            srv_line(s, s->in);
        }
    }
}

/* Move application data through the server engine both ways. */
static void srv_engine(srv *s)
{
    for (;;) {
        unsigned st = br_ssl_engine_current_state(&s->sc.eng);
        size_t n;
        unsigned char *p;
        if (st & BR_SSL_RECVAPP) {
            p = br_ssl_engine_recvapp_buf(&s->sc.eng, &n);
            srv_take(s, p, n);
            br_ssl_engine_recvapp_ack(&s->sc.eng, n);
            continue;
        }
        if ((st & BR_SSL_SENDAPP) && s->app.off < s->app.len) {
            p = br_ssl_engine_sendapp_buf(&s->sc.eng, &n);
            if (n > s->app.len - s->app.off) n = s->app.len - s->app.off;
            memcpy(p, s->app.p + s->app.off, n);
            s->app.off += n;
            br_ssl_engine_sendapp_ack(&s->sc.eng, n);
            br_ssl_engine_flush(&s->sc.eng, 0);
            continue;
        }
        return;
    }
}

static int srv_read(void *ctx, unsigned char *out, size_t len)
{
    srv *s = (srv *)ctx;
    if (s->client_closed) return -1;
    if (s->would_block && (s->reads++ & 1u) == 0) return 0;
    if (s->max_read && len > s->max_read) len = s->max_read;
    if (s->plain.off < s->plain.len) {
        size_t end = s->plain.len, n;
        if (s->split > s->plain.off) end = s->split;
        n = end - s->plain.off < len ? end - s->plain.off : len;
        memcpy(out, s->plain.p + s->plain.off, n);
        s->plain.off += n;
        return (int)n;
    }
    if (!s->tls) return 0;
    srv_engine(s);
    if (br_ssl_engine_current_state(&s->sc.eng) & BR_SSL_SENDREC) {
        size_t n;
        unsigned char *p = br_ssl_engine_sendrec_buf(&s->sc.eng, &n);
        if (n > len) n = len;
        memcpy(out, p, n);
        br_ssl_engine_sendrec_ack(&s->sc.eng, n);
        return (int)n;
    }
    if (br_ssl_engine_current_state(&s->sc.eng) & BR_SSL_CLOSED) return -1;
    return 0;
}

static int srv_write(void *ctx, const unsigned char *p, size_t len)
{
    srv *s = (srv *)ctx;
    size_t done = 0;
    if (s->client_closed) return -1;
    if (s->would_block && (s->writes++ & 1u) == 0) return 0;
    if (!s->tls) {
        srv_take(s, p, len);
        return (int)len;
    }
    while (done < len) {
        unsigned st = br_ssl_engine_current_state(&s->sc.eng);
        if (st & BR_SSL_CLOSED) return (int)len;   /* a dead peer's socket */
        if (st & BR_SSL_RECVREC) {
            size_t n;
            unsigned char *q = br_ssl_engine_recvrec_buf(&s->sc.eng, &n);
            if (n > len - done) n = len - done;
            memcpy(q, p + done, n);
            br_ssl_engine_recvrec_ack(&s->sc.eng, n);
            done += n;
            srv_engine(s);
            continue;
        }
        if (st & BR_SSL_RECVAPP) {
            srv_engine(s);
            continue;
        }
        break;
    }
    return (int)done;
}

static int srv_close(void *ctx)
{
    ((srv *)ctx)->client_closed++;
    return 0;
}

static int srv_wait(void *ctx, int for_write, long timeout_ms)
{
    srv *s = (srv *)ctx;
    (void)timeout_ms;
    if (for_write || s->client_closed || s->plain.off < s->plain.len) return 1;
    if (!s->tls) return 0;
    srv_engine(s);
    return (br_ssl_engine_current_state(&s->sc.eng) & (BR_SSL_SENDREC | BR_SSL_CLOSED)) != 0;
}

/* Defaults: an EC server for "localhost" that speaks TLS at once. */
static void srv_init(srv *s)
{
    memset(s, 0, sizeof *s);
    s->implicit = 1;
    s->caps_plain = "IMAP4rev1 STARTTLS LOGINDISABLED";
    s->caps_tls = "IMAP4rev1 AUTH=PLAIN";
}

static void srv_start(srv *s, imap_transport *t)
{
    s->cert = pem_obj(s->rsa ? SRV_RSA_PEM : SRV_EC_PEM, 0);
    s->key = pem_obj(s->rsa ? SRV_RSA_KEY : SRV_EC_KEY, 0);
    while (s->cert.n && s->cert_pad-- > 0) der_put(&s->cert, "", 1);
    br_skey_decoder_init(&s->sk);
    br_skey_decoder_push(&s->sk, s->key.p, s->key.n);
    s->chain.data = s->cert.p;
    s->chain.data_len = s->cert.n;
    if (s->rsa)
        br_ssl_server_init_full_rsa(&s->sc, &s->chain, 1, br_skey_decoder_get_rsa(&s->sk));
    else
        br_ssl_server_init_full_ec(&s->sc, &s->chain, 1, BR_KEYTYPE_EC,
                                   br_skey_decoder_get_ec(&s->sk));
    if (s->nsuites) br_ssl_engine_set_suites(&s->sc.eng, s->suites, s->nsuites);
    if (s->vmin) br_ssl_engine_set_versions(&s->sc.eng, s->vmin, s->vmax);
    if (s->want_client_cert) {
        anchor_make(&s->ca, CA_PEM);
        br_x509_minimal_init_full(&s->xc, &s->ca.ta, 1);
        br_ssl_engine_set_x509(&s->sc.eng, &s->xc.vtable);
        br_ssl_server_set_trust_anchor_names_alt(&s->sc, &s->ca.ta, 1);
        /* to verify the client's signature */
        br_ssl_engine_set_default_rsavrfy(&s->sc.eng);
        br_ssl_engine_set_default_ecdsa(&s->sc.eng);
    }
    br_ssl_engine_set_buffer(&s->sc.eng, s->iobuf, sizeof s->iobuf, 1);
    br_ssl_server_reset(&s->sc);
    s->tls = s->implicit;
    if (s->greeting) srv_reply(s, s->greeting);
    t->read = srv_read;
    t->write = srv_write;
    t->close = srv_close;
    t->wait = srv_wait;
    t->ctx = s;
}

static void srv_free(srv *s)
{
    free(s->cert.p);
    free(s->key.p);
    free(s->plain.p);
    free(s->app.p);
    free(s->ca.dn.p);
}

/* ---- client-side helpers ---------------------------------------------- */

static unsigned char tamem[1 << 16];

static imap_tls_config cfg_ca(const char *pem)
{
    imap_tls_config c;
    memset(&c, 0, sizeof c);
    c.ca_pem = pem;
    return c;
}

/* Handshake against a server set up by the caller. */
static int handshake(srv *s, imap_tls *t, const imap_tls_config *cfg, const char *name,
                     imap_transport *out)
{
    imap_transport lower;
    int rc = imap_tls_init(t, cfg, tamem, sizeof tamem);
    if (rc != IMAP_OK) return 1000 + rc;
    srv_start(s, &lower);
    return imap_tls_start(t, &lower, name, out);
}

/* Write all, read until `want` appears (or a failure): through the TLS
   transport as a client would, with its wait. */
static int roundtrip(imap_transport *t, const char *cmd, const char *want)
{
    char got[512];
    size_t n = 0, off = 0, len = strlen(cmd);
    int spins = 0;
    while (off < len) {
        int k = t->write(t->ctx, (const unsigned char *)cmd + off, len - off);
        if (k < 0) return -1;
        if (k == 0 && (t->wait(t->ctx, 1, 10) < 0 || ++spins > 10000)) return -2;
        off += (size_t)(k > 0 ? k : 0);
    }
    while (spins++ < 100000) {
        int k;
        if (t->wait(t->ctx, 0, 10) < 0) return -3;
        k = t->read(t->ctx, (unsigned char *)got + n, sizeof got - 1 - n);
        if (k < 0) return -4;
        n += (size_t)k;
        got[n] = 0;
        if (strstr(got, want)) return 0;
        if (n == sizeof got - 1) n = 0;
    }
    return -5;
}

static int is_secure_suite(unsigned s)
{
    return s == BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 ||
           s == BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 ||
           s == BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ||
           s == BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 ||
           s == BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ||
           s == BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384;
}

static imap_tls tls;       /* ~23 KiB: not on the stack */
static srv S;

/* ---- loading ------------------------------------------------------------ */

TEST(init_reports_the_memory_it_needs)
{
    char *two = cat(CA_PEM, OTHER_CA_PEM);
    char *three = cat(two, CA_PEM);                 /* CA twice */
    imap_tls_config c = cfg_ca(three);
    static unsigned char small[100];
    size_t need;
    unsigned char *m;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, small, sizeof small), IMAP_E_NOMEM);
    CHECK_EQ_INT(tls.result, IMAP_E_NOMEM);
    need = tls.needed;
    CHECK(need > sizeof small);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, NULL, 0), IMAP_E_NOMEM);
    CHECK_EQ_INT(tls.needed, need);                 /* same answer with no memory */
    m = (unsigned char *)malloc(need);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, m, need), IMAP_OK);
    CHECK_EQ_INT(tls.anchors, 2);                   /* the duplicate went */
    CHECK(tls.needed <= need);
    printf("    3 PEM certificates (2 distinct EC CAs): needed %lu, used %lu bytes\n",
           (unsigned long)need, (unsigned long)tls.needed);
    /* the memory is really used: a handshake verifies with it */
    srv_init(&S);
    {
        imap_transport lower, t;
        srv_start(&S, &lower);
        CHECK_EQ_INT(imap_tls_start(&tls, &lower, "localhost", &t), IMAP_OK);
    }
    srv_free(&S);
    free(m);
    free(two);
    free(three);
}

TEST(init_refuses_bad_options)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    char *five, *ec_in_cert;
    imap_transport lower, t;
    c.tls_level = IMAP_TLS_SECURE;
    c.ssl_version = BR_TLS11;                       /* secure is 1.2 only */
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
    c.tls_level = IMAP_TLS_NO_SSL;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    c.ssl_version = 0x0300;                         /* SSLv3: BearSSL has none */
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
    c.ssl_version = 0;
    c.tls_level = 7;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
    c = cfg_ca("no certificate in here\n");
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
    c = cfg_ca(CA_PEM);
    c.key_pem = CLI_EC_KEY;                         /* a key without a certificate */
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
    c = cfg_ca(CA_PEM);
    c.cert_pem = CLI_EC_PEM;                        /* a certificate without a key */
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
    c.key_pem = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_UNSUPPORTED);
    five = cat(CA_PEM, CA_PEM);
    {
        char *f2 = cat(five, CA_PEM), *f3 = cat(f2, CA_PEM);
        free(five);
        five = cat(f3, CA_PEM);
        free(f2);
        free(f3);
    }
    c.cert_pem = five;                              /* > IMAP_TLS_MAX_CHAIN */
    c.key_pem = CLI_EC_KEY;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_LIMIT);
    c = cfg_ca(NULL);
    c.ca_file = "/nonexistent/ca.pem";
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_IO);
    c.ca_file = NULL;
    c.verify_time = -1;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
    /* insecure needs no anchor; verifying needs a name */
    memset(&c, 0, sizeof c);
    c.insecure = 1;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, NULL, 0), IMAP_OK);
    CHECK_EQ_INT(tls.anchors, 0);
    c = cfg_ca(CA_PEM);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    srv_init(&S);
    srv_start(&S, &lower);
    CHECK_EQ_INT(imap_tls_start(&tls, &lower, NULL, &t), IMAP_E_ARGS);
    CHECK_EQ_INT(imap_tls_start(&tls, &lower, "", &t), IMAP_E_ARGS);
    CHECK_EQ_INT(S.reads + S.writes, 0);            /* nothing went out */
    srv_free(&S);
    /* a failed init leaves nothing to start */
    c.tls_level = 9;
    imap_tls_init(&tls, &c, tamem, sizeof tamem);
    CHECK_EQ_INT(imap_tls_start(&tls, &lower, "localhost", &t), IMAP_E_STATE);
    /* the key may sit in the certificate's PEM (certfile alone) */
    ec_in_cert = cat(CLI_EC_PEM, CLI_EC_KEY);
    c = cfg_ca(CA_PEM);
    c.cert_pem = ec_in_cert;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    free(ec_in_cert);
    free(five);
}

TEST(system_bundle_and_directories)
{
    static unsigned char big[1 << 20];
    imap_tls_config c;
    char dir[] = "/tmp/imaph-tls-XXXXXX", path[256];
    size_t bundle;
    FILE *f;
    int i;
    memset(&c, 0, sizeof c);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, big, sizeof big), IMAP_OK);   /* system bundle */
    bundle = tls.anchors;
    CHECK(bundle > 50);
    printf("    system bundle: %lu anchors in %lu bytes (sizeof(imap_tls) %lu here, "
           "buffer %d)\n", (unsigned long)bundle, (unsigned long)tls.needed,
           (unsigned long)sizeof(imap_tls), (int)IMAP_TLS_BUFSIZE);
    /* a directory: duplicates, bundles, junk, dot files and subdirectories */
    CHECK(mkdtemp(dir) != NULL);
    {
        static const struct { const char *name; const char *a, *b; } files[] = {
            { "ca.pem", CA_PEM, "" }, { "other.crt", OTHER_CA_PEM, "" },
            { "again.pem", CA_PEM, "" }, { "bundle", CA_PEM, OTHER_CA_PEM },
            { "junk.txt", "hello\n", "" }, { "key.pem", CLI_EC_KEY, "" },
            { ".hidden", SRV_EC_PEM, "" }
        };
        for (i = 0; i < 7; i++) {
            sprintf(path, "%s/%s", dir, files[i].name);
            f = fopen(path, "w");
            fputs(files[i].a, f);
            fputs(files[i].b, f);
            fclose(f);
        }
        sprintf(path, "%s/sub", dir);
        mkdir(path, 0700);
        c.ca_dir = dir;
        CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
        CHECK_EQ_INT(tls.anchors, 2);
        c.ca_dir = NULL;
        sprintf(path, "%s/bundle", dir);
        c.ca_file = path;                            /* ca_certs */
        CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
        CHECK_EQ_INT(tls.anchors, 2);
        sprintf(path, "%s/junk.txt", dir);
        CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
        for (i = 0; i < 7; i++) {
            sprintf(path, "%s/%s", dir, files[i].name);
            unlink(path);
        }
        sprintf(path, "%s/sub", dir);
        rmdir(path);
        rmdir(dir);
    }
    /* the system directory holds the bundle and its parts: no double */
    c.ca_file = NULL;
    c.ca_dir = "/etc/ssl/certs";
    CHECK_EQ_INT(imap_tls_init(&tls, &c, big, sizeof big), IMAP_OK);
    CHECK(tls.anchors >= bundle && tls.anchors < bundle + bundle / 10 + 5);
}

/* ---- handshakes ------------------------------------------------------------ */

TEST(handshake_verifies_and_carries_data)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    srv_init(&S);
    S.greeting = "* OK over TLS\r\n";
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(tls.version, BR_TLS12);
    CHECK(is_secure_suite(tls.suite));
    CHECK(t.ctx == &tls);
    CHECK_EQ_INT(roundtrip(&t, "", "* OK over TLS\r\n"), 0);
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    CHECK_EQ_INT(tls.result, 0);
    srv_free(&S);
    /* an RSA server certificate, the level's RSA suites */
    srv_init(&S);
    S.rsa = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK(is_secure_suite(tls.suite));
    CHECK_EQ_INT(roundtrip(&t, "a2 NOOP\r\n", "a2 OK\r\n"), 0);
    srv_free(&S);
}

/* Bytes after a certificate's DER (in a PEM body, or in the server's
   Certificate message) once drove BearSSL's decoder past its end, a
   crash fuzz_tls found. Now such a certificate is refused, however the
   PEM lines fall, and insecure or not. */
TEST(bytes_after_a_certificate_are_refused)
{
    static char b64[4096], pem[4096];
    static unsigned char raw[2048];
    imap_tls_config c;
    imap_transport t;
    der d = pem_obj(CA_PEM, 0);
    size_t n, i;
    int k, lines;
    CHECK(d.n > 0 && d.n + 16 <= sizeof raw);
    memcpy(raw, d.p, d.n);
    memset(raw + d.n, 0, 16);
    k = imap_base64_encode(raw, d.n + 16, b64, sizeof b64);
    CHECK(k > 0);
    for (lines = 0; lines < 4; lines++) {
        /* one long line, then lines of 64 (the DER then ends mid-push);
           then the same with a broken first byte (the decoder fails on
           the first line and later lines must not reach it) */
        if (lines == 2) {
            raw[0] ^= 0x01;
            k = imap_base64_encode(raw, d.n + 16, b64, sizeof b64);
        }
        n = (size_t)sprintf(pem, "-----BEGIN CERTIFICATE-----\n");
        for (i = 0; i < (size_t)(k > 0 ? k : 0); i++) {
            pem[n++] = b64[i];
            if (lines & 1 && i % 64 == 63) pem[n++] = '\n';
        }
        sprintf(pem + n, "\n-----END CERTIFICATE-----\n");
        c = cfg_ca(pem);
        CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_E_ARGS);
        CHECK_EQ_INT(tls.anchors, 0);
    }
    free(d.p);
    /* the server's certificate with 16 bytes after it */
    for (i = 0; i < 2; i++) {
        srv_init(&S);
        S.cert_pad = 16;
        c = cfg_ca(CA_PEM);
        c.insecure = (int)i;
        k = handshake(&S, &tls, &c, "localhost", &t);
        CHECK(k != IMAP_OK && imap_result_class_of(k) == IMAP_CLASS_ABORT);
        srv_free(&S);
    }
    /* unpadded, insecure still connects */
    srv_init(&S);
    c = cfg_ca(CA_PEM);
    c.insecure = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    srv_free(&S);
}

TEST(handshake_a_byte_at_a_time_with_would_block)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    srv_init(&S);
    S.max_read = 1;
    S.would_block = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK(S.reads > 1000);                           /* it really was byte by byte */
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    CHECK_EQ_INT(roundtrip(&t, "a2 NOOP\r\n", "a2 OK\r\n"), 0);
    srv_free(&S);
}

TEST(each_certificate_failure_has_its_code)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "wronghost.test", &t), IMAP_E_TLS_HOSTNAME);
    CHECK_EQ_INT(tls.bearssl_error, BR_ERR_X509_BAD_SERVER_NAME);
    CHECK_EQ_INT(tls.result, IMAP_E_TLS_HOSTNAME);
    srv_free(&S);
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "127.0.0.1", &t), IMAP_E_TLS_HOSTNAME);
    srv_free(&S);
    c = cfg_ca(OTHER_CA_PEM);
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_UNKNOWN_CA);
    CHECK_EQ_INT(tls.bearssl_error, BR_ERR_X509_NOT_TRUSTED);
    srv_free(&S);
    c = cfg_ca(CA_PEM);
    c.verify_time = 7258118400LL;                    /* 2200-01-01: expired */
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_EXPIRED);
    CHECK_EQ_INT(tls.bearssl_error, BR_ERR_X509_EXPIRED);
    srv_free(&S);
    c.verify_time = 946684800LL;                     /* 2000-01-01: not yet valid */
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_EXPIRED);
    srv_free(&S);
    c.verify_time = 2000000000LL;                    /* 2033: fine */
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    srv_free(&S);
    /* pinning: the server's own (non-CA) certificate as the only anchor */
    c = cfg_ca(SRV_EC_PEM);
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    srv_free(&S);
    srv_init(&S);
    S.rsa = 1;                                       /* another key: refused */
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_UNKNOWN_CA);
    srv_free(&S);
}

typedef struct cb_seen {
    int calls;
    der cert;
    char name[64];
    const char *answer;
} cb_seen;

static const char *verify_cb(void *arg, const unsigned char *d, size_t len, const char *name)
{
    cb_seen *s = (cb_seen *)arg;
    s->calls++;
    free(s->cert.p);
    memset(&s->cert, 0, sizeof s->cert);
    der_put(&s->cert, d, len);
    snprintf(s->name, sizeof s->name, "%s", name);
    return s->answer;
}

TEST(cert_verify_cb_sees_the_certificate_and_may_refuse)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    cb_seen seen;
    der want = pem_obj(SRV_EC_PEM, 0);
    memset(&seen, 0, sizeof seen);
    c.cert_verify_cb = verify_cb;
    c.cert_verify_arg = &seen;
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(seen.cert.n == want.n && memcmp(seen.cert.p, want.p, want.n) == 0);
    CHECK(strcmp(seen.name, "localhost") == 0);
    srv_free(&S);
    /* refused: its reason is kept */
    seen.answer = "fingerprint does not match the pin";
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_HANDSHAKE);
    CHECK_EQ_INT(seen.calls, 2);
    CHECK(strcmp(tls.reason, "fingerprint does not match the pin") == 0);
    CHECK_EQ_INT(tls.bearssl_error, BR_ERR_X509_NOT_TRUSTED);
    srv_free(&S);
    /* not called when the chain already failed */
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "wronghost.test", &t), IMAP_E_TLS_HOSTNAME);
    CHECK_EQ_INT(seen.calls, 2);
    CHECK_EQ_INT(tls.reason[0], 0);
    srv_free(&S);
    /* a certificate larger than the room kept for it fails, uncalled */
    seen.answer = NULL;
    c.peer_cert_max = 100;
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_HANDSHAKE);
    CHECK(strstr(tls.reason, "peer_cert_max") != NULL);
    CHECK_EQ_INT(seen.calls, 2);
    srv_free(&S);
    free(seen.cert.p);
    free(want.p);
}

TEST(insecure_is_explicit_and_skips_checks)
{
    imap_tls_config c;
    imap_transport t;
    cb_seen seen;
    der want = pem_obj(SRV_RSA_PEM, 0);
    memset(&c, 0, sizeof c);
    memset(&seen, 0, sizeof seen);
    c.insecure = 1;
    c.cert_verify_cb = verify_cb;
    c.cert_verify_arg = &seen;
    srv_init(&S);
    S.rsa = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "wrong.test", &t), IMAP_OK);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(seen.cert.n == want.n && memcmp(seen.cert.p, want.p, want.n) == 0);
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    srv_free(&S);
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, NULL, &t), IMAP_OK);   /* no SNI at all */
    srv_free(&S);
    free(seen.cert.p);
    free(want.p);
}

TEST(tls_level_and_ssl_version)
{
    static const uint16_t cbc[] = { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 };
    static const uint16_t rsa_kx[] = { BR_TLS_RSA_WITH_AES_128_GCM_SHA256 };
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    /* a server with CBC only: not secure, fine for no_ssl */
    srv_init(&S);
    S.suites = cbc;
    S.nsuites = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_HANDSHAKE);
    CHECK(tls.bearssl_error >= BR_ERR_RECV_FATAL_ALERT);   /* the server said no */
    srv_free(&S);
    c.tls_level = IMAP_TLS_NO_SSL;
    srv_init(&S);
    S.suites = cbc;
    S.nsuites = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(tls.suite, BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256);
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    srv_free(&S);
    /* a TLS 1.0 server */
    c.tls_level = IMAP_TLS_SECURE;
    srv_init(&S);
    S.vmin = S.vmax = BR_TLS10;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_HANDSHAKE);
    srv_free(&S);
    c.tls_level = IMAP_TLS_NO_SSL;
    srv_init(&S);
    S.vmin = S.vmax = BR_TLS10;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(tls.version, BR_TLS10);
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    srv_free(&S);
    /* ssl_version pins one version */
    c.ssl_version = BR_TLS11;
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(tls.version, BR_TLS11);
    srv_free(&S);
    srv_init(&S);
    S.vmin = S.vmax = BR_TLS10;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_HANDSHAKE);
    srv_free(&S);
    /* RSA key exchange (no forward secrecy): compat only */
    c.ssl_version = 0;
    srv_init(&S);
    S.rsa = 1;
    S.suites = rsa_kx;
    S.nsuites = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_TLS_HANDSHAKE);
    srv_free(&S);
    c.tls_level = IMAP_TLS_COMPAT;
    srv_init(&S);
    S.rsa = 1;
    S.suites = rsa_kx;
    S.nsuites = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(tls.suite, BR_TLS_RSA_WITH_AES_128_GCM_SHA256);
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    srv_free(&S);
}

TEST(client_certificates_rsa_and_ec)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    srv_init(&S);
    S.want_client_cert = 1;
    /* BearSSL's server hangs up without an alert: the lower read fails */
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_E_IO);
    CHECK_EQ_INT(br_ssl_engine_last_error(&S.sc.eng), BR_ERR_NO_CLIENT_AUTH);
    srv_free(&S);
    c.cert_pem = CLI_EC_PEM;                         /* SEC1 key */
    c.key_pem = CLI_EC_KEY;
    srv_init(&S);
    S.want_client_cert = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    srv_free(&S);
    c.cert_pem = CLI_RSA_PEM;                        /* PKCS#1 key */
    c.key_pem = CLI_RSA_KEY;
    srv_init(&S);
    S.want_client_cert = 1;
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    srv_free(&S);
    c.cert_pem = CLI_RSA_PEM;                        /* the key of another cert */
    c.key_pem = CLI_EC_KEY;
    srv_init(&S);
    S.want_client_cert = 1;
    CHECK(handshake(&S, &tls, &c, "localhost", &t) < 0);
    srv_free(&S);
    c.cert_pem = SRV_EC_PEM;                         /* PKCS#8 loads too */
    c.key_pem = SRV_EC_KEY;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
}

TEST(close_notify_both_ways)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    unsigned char b[64];
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    CHECK_EQ_INT(roundtrip(&t, "a1 NOOP\r\n", "a1 OK\r\n"), 0);
    CHECK_EQ_INT(t.close(t.ctx), 0);
    CHECK_EQ_INT(S.client_closed, 1);                /* the lower one too */
    /* the server got a clean close_notify */
    CHECK(!(br_ssl_engine_current_state(&S.sc.eng) & BR_SSL_SENDAPP));
    CHECK_EQ_INT(br_ssl_engine_last_error(&S.sc.eng), 0);
    srv_free(&S);
    /* the server closes: the client sees IMAP_E_TLS_CLOSED */
    srv_init(&S);
    CHECK_EQ_INT(handshake(&S, &tls, &c, "localhost", &t), IMAP_OK);
    br_ssl_engine_close(&S.sc.eng);
    {
        int k, spins = 0;
        while ((k = t.read(t.ctx, b, sizeof b)) == 0 && spins++ < 1000) {}
        CHECK_EQ_INT(k, -1);
    }
    CHECK_EQ_INT(tls.result, IMAP_E_TLS_CLOSED);
    CHECK_EQ_INT(t.write(t.ctx, (const unsigned char *)"x", 1), -1);
    srv_free(&S);
}

static int silent_read(void *ctx, unsigned char *b, size_t n)
{
    (void)ctx;
    (void)b;
    (void)n;
    return 0;
}

static int silent_write(void *ctx, const unsigned char *b, size_t n)
{
    (void)ctx;
    (void)b;
    return (int)n;
}

static int silent_wait(void *ctx, int for_write, long ms)
{
    (void)ctx;
    (void)ms;
    return for_write;
}

TEST(garbage_and_hangups_end_cleanly)
{
    static const imap_script_step text[] = {
        { IMAP_SCRIPT_REPLY, "* OK this is IMAP, not TLS\r\n", 0 },
    };
    static const imap_script_step hangup[] = {
        { IMAP_SCRIPT_CLOSE, NULL, 0 },
    };
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport lower, t;
    imap_script sc;
    unsigned char junk[600];
    unsigned seed = 12345;
    int i, j;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    /* the script takes no ClientHello: the write fails */
    imap_script_init(&sc, text, 1, &lower);
    CHECK_EQ_INT(imap_tls_start(&tls, &lower, "localhost", &t), IMAP_E_IO);
    CHECK(sc.mismatch && sc.mismatch_got[0] == 0x16 && sc.mismatch_got[1] == 0x03);
    imap_script_init(&sc, hangup, 1, &lower);
    CHECK_EQ_INT(imap_tls_start(&tls, &lower, "localhost", &t), IMAP_E_IO);
    c.timeout_ms = 3000;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    lower.read = silent_read;                        /* takes all, says nothing */
    lower.write = silent_write;
    lower.wait = silent_wait;
    lower.close = NULL;
    lower.ctx = &sc;
    CHECK_EQ_INT(imap_tls_start(&tls, &lower, "localhost", &t), IMAP_E_TIMEOUT);
    lower.wait = NULL;                               /* a read that blocks by itself */
    CHECK_EQ_INT(imap_tls_start(&tls, &lower, "localhost", &t), IMAP_E_TIMEOUT);
    /* a server that answers the ClientHello with noise */
    for (i = 0; i < 40; i++) {
        srv_init(&S);
        srv_start(&S, &lower);
        for (j = 0; j < (int)sizeof junk; j++) {
            seed = seed * 1103515245u + 12345u;
            junk[j] = (unsigned char)(seed >> 16);
        }
        if (i & 1) {                                 /* a plausible record header */
            junk[0] = 0x16;
            junk[1] = 0x03;
            junk[2] = 0x03;
        }
        S.tls = 0;                                   /* the server is replaced by noise */
        buf_put(&S.plain, junk, sizeof junk);
        {
            int rc = imap_tls_start(&tls, &lower, "localhost", &t);
            CHECK(rc == IMAP_E_TLS_HANDSHAKE || rc == IMAP_E_TIMEOUT || rc == IMAP_E_IO);
        }
        srv_free(&S);
    }
}

/* ---- STARTTLS and implicit TLS through the client ----------------------- */

static unsigned char cmem[1 << 16];
static imap_client cl;

typedef struct logbuf {
    char text[8192];
    size_t n;
    int untagged;
} logbuf;

static void log_line(void *arg, const char *line, size_t len)
{
    logbuf *l = (logbuf *)arg;
    if (l->n + len + 2 < sizeof l->text) {
        memcpy(l->text + l->n, line, len);
        l->n += len;
        l->text[l->n++] = '\n';
        l->text[l->n] = 0;
    }
}

static void on_untagged(void *arg, imap_client *c, const imap_response *r)
{
    (void)c;
    (void)r;
    ((logbuf *)arg)->untagged++;
}

static logbuf lg;

static void client_init(void)
{
    imap_client_init(&cl, cmem, sizeof cmem);
    imap_client_set_timeout(&cl, 5000);
    memset(&lg, 0, sizeof lg);
    imap_client_set_debug(&cl, IMAP_DEBUG_PROTOCOL, log_line, &lg);
    imap_client_on_untagged(&cl, on_untagged, &lg);
}

static void starttls_server(srv *s)
{
    srv_init(s);
    s->implicit = 0;
    s->greeting = "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] plain\r\n";
}

TEST(starttls_upgrades_then_asks_capabilities_again)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport plain;
    client_init();
    starttls_server(&S);
    srv_start(&S, &plain);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    CHECK_EQ_INT(imap_client_open(&cl, &plain), IMAP_OK);
    CHECK_EQ_INT(imap_login(&cl, "u", "p", NULL), IMAP_E_PLAINTEXT);   /* LOGINDISABLED */
    CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", NULL), IMAP_OK);
    CHECK_EQ_INT(S.tls_capability, 1);               /* asked again, inside TLS */
    CHECK(!imap_client_has_cap(&cl, "STARTTLS"));
    CHECK(!imap_client_has_cap(&cl, "LOGINDISABLED"));
    CHECK(imap_client_has_cap(&cl, "AUTH=PLAIN"));
    CHECK_EQ_INT(imap_login(&cl, "u", "p", NULL), IMAP_OK);
    CHECK_EQ_INT(cl.state, IMAP_STATE_AUTH);
    CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", NULL), IMAP_E_STATE);  /* twice */
    CHECK_EQ_INT(imap_logout(&cl, NULL), IMAP_OK);
    imap_client_close(&cl);
    CHECK_EQ_INT(S.client_closed, 1);
    CHECK_EQ_INT(br_ssl_engine_last_error(&S.sc.eng), 0);
    srv_free(&S);
}

TEST(bytes_after_the_starttls_ok_are_discarded)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport plain;
    char v[64];
    size_t n;
    client_init();
    starttls_server(&S);
    /* arrives in the same read as the OK: the client holds it, unread */
    S.after_ok = "* OK [ALERT] injected\r\n* 7 EXISTS\r\n";
    srv_start(&S, &plain);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    CHECK_EQ_INT(imap_client_open(&cl, &plain), IMAP_OK);
    lg.untagged = 0;
    CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", NULL), IMAP_OK);
    CHECK_EQ_INT(imap_client_response(&cl, "ALERT", v, sizeof v, &n), 0);
    CHECK_EQ_INT(imap_client_response(&cl, "EXISTS", v, sizeof v, &n), 0);
    CHECK(cl.exists == 0);
    CHECK_EQ_INT(lg.untagged, 0);
    CHECK(strstr(lg.text, "injected") == NULL);      /* never parsed */
    CHECK(strstr(lg.text, "discarded") != NULL);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_OK);     /* the session goes on in TLS */
    imap_client_close(&cl);
    srv_free(&S);
    /* arriving later it reaches the TLS engine, which refuses it */
    client_init();
    starttls_server(&S);
    S.after_ok = "* OK [ALERT] injected\r\n";
    S.after_ok_later = 1;
    srv_start(&S, &plain);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    CHECK_EQ_INT(imap_client_open(&cl, &plain), IMAP_OK);
    CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", NULL), IMAP_E_TLS_HANDSHAKE);
    CHECK_EQ_INT(cl.error, IMAP_E_TLS_HANDSHAKE);
    CHECK_EQ_INT(imap_client_response(&cl, "ALERT", v, sizeof v, &n), 0);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_E_TLS_HANDSHAKE);   /* finished */
    imap_client_close(&cl);
    CHECK_EQ_INT(S.client_closed, 1);
    srv_free(&S);
}

/* The same with the scripted transport: after the OK and the injected
   line, the next bytes the client writes are a TLS ClientHello. */
TEST(scripted_starttls_goes_straight_to_the_handshake)
{
    imap_tagger tg;
    char tag[16], cmd[40], ok[80];
    imap_script_step steps[3];
    imap_script sc;
    imap_transport t;
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_tagger_init(&tg, 77);
    imap_tagger_next(&tg, tag);
    sprintf(cmd, "%s STARTTLS\r\n", tag);
    sprintf(ok, "%s OK begin TLS\r\n* OK injected\r\n", tag);
    steps[0].kind = IMAP_SCRIPT_REPLY;
    steps[0].data = "* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n";
    steps[0].len = 0;
    steps[1].kind = IMAP_SCRIPT_EXPECT;
    steps[1].data = cmd;
    steps[1].len = 0;
    steps[2].kind = IMAP_SCRIPT_REPLY;
    steps[2].data = ok;
    steps[2].len = 0;
    client_init();
    imap_client_seed_tags(&cl, 77);
    imap_script_init(&sc, steps, 3, &t);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    CHECK_EQ_INT(imap_client_open(&cl, &t), IMAP_OK);
    CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", NULL), IMAP_E_IO);
    CHECK(sc.mismatch);
    CHECK_EQ_INT(sc.mismatch_step, 3);                /* past the script's end */
    CHECK_EQ_INT(sc.mismatch_got[0], 0x16);           /* a handshake record */
    CHECK_EQ_INT(sc.mismatch_got[5], 0x01);           /* ClientHello */
    CHECK_EQ_INT(lg.untagged, 0);
    CHECK(strstr(lg.text, "injected") == NULL);
    imap_client_close(&cl);
    CHECK(sc.client_closed);
}

TEST(no_starttls_no_fallback)
{
    static const imap_script_step steps[] = {
        { IMAP_SCRIPT_REPLY, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n", 0 },
    };
    imap_script sc;
    imap_transport t;
    imap_tls_config c = cfg_ca(CA_PEM);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    client_init();
    imap_script_init(&sc, steps, 1, &t);
    CHECK_EQ_INT(imap_client_open(&cl, &t), IMAP_OK);
    CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", NULL), IMAP_E_CAPABILITY);
    CHECK_EQ_INT(sc.bytes_written, 0);
    CHECK(!sc.mismatch);
    imap_client_close(&cl);
    /* the TLS-required opener finishes the session */
    client_init();
    imap_script_init(&sc, steps, 1, &t);
    CHECK_EQ_INT(imap_client_open_starttls(&cl, &t, &tls, "localhost"), IMAP_E_CAPABILITY);
    CHECK_EQ_INT(cl.error, IMAP_E_CAPABILITY);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_E_CAPABILITY);          /* finished */
    CHECK_EQ_INT(imap_login(&cl, "u", "p", NULL), IMAP_E_PLAINTEXT);
    CHECK_EQ_INT(sc.bytes_written, 0);
    imap_client_close(&cl);
    /* a NO to STARTTLS is reported; the session stays plaintext */
    client_init();
    starttls_server(&S);
    S.starttls_no = 1;
    {
        imap_transport plain;
        srv_start(&S, &plain);
        CHECK_EQ_INT(imap_client_open(&cl, &plain), IMAP_OK);
        CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", NULL), IMAP_E_NO);
        CHECK_EQ_INT(cl.error, 0);
        CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_OK);
        imap_client_require_tls(&cl, 1);
        CHECK_EQ_INT(imap_login(&cl, "u", "p", NULL), IMAP_E_PLAINTEXT);
        imap_client_close(&cl);
    }
    srv_free(&S);
    /* not after login (PREAUTH here, TLS not required) */
    {
        static const imap_script_step pre[] = {
            { IMAP_SCRIPT_REPLY, "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n", 0 },
        };
        client_init();
        imap_script_init(&sc, pre, 1, &t);
        CHECK_EQ_INT(imap_client_open(&cl, &t), IMAP_OK);    /* TLS not required */
        CHECK_EQ_INT(cl.state, IMAP_STATE_AUTH);
        /* PREAUTH in plaintext may be forged to skip TLS: said so */
        CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", NULL), IMAP_E_PLAINTEXT);
        CHECK_EQ_INT(sc.bytes_written, 0);
        imap_client_close(&cl);
    }
}

static void done_cb(void *arg, imap_client *c, int result, const imap_response *r)
{
    (void)arg;
    (void)c;
    (void)result;
    (void)r;
}

TEST(preauth_in_plaintext_is_refused_when_tls_is_required)
{
    static const imap_script_step pre[] = {
        { IMAP_SCRIPT_REPLY, "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n", 0 },
    };
    imap_script sc;
    imap_transport t;
    imap_call call;
    imap_tls_config c = cfg_ca(CA_PEM);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    client_init();
    imap_script_init(&sc, pre, 1, &t);
    CHECK_EQ_INT(imap_client_open_starttls(&cl, &t, &tls, "localhost"), IMAP_E_PLAINTEXT);
    CHECK_EQ_INT(cl.state, IMAP_STATE_LOGOUT);
    CHECK_EQ_INT(sc.bytes_written, 0);
    CHECK_EQ_INT(imap_noop(&cl, NULL), IMAP_E_PLAINTEXT);
    imap_client_close(&cl);
    /* imap_client_require_tls alone does the same in imap_client_open */
    client_init();
    imap_client_require_tls(&cl, 1);
    imap_script_init(&sc, pre, 1, &t);
    CHECK_EQ_INT(imap_client_open(&cl, &t), IMAP_E_PLAINTEXT);
    CHECK_EQ_INT(sc.bytes_written, 0);
    imap_client_close(&cl);
    /* STARTTLS is blocking only */
    memset(&call, 0, sizeof call);
    call.on_done = done_cb;
    client_init();
    starttls_server(&S);
    srv_start(&S, &t);
    CHECK_EQ_INT(imap_client_open(&cl, &t), IMAP_OK);
    CHECK_EQ_INT(imap_starttls(&cl, &tls, "localhost", &call), IMAP_E_ARGS);
    imap_client_close(&cl);
    srv_free(&S);
}

TEST(open_starttls_and_open_tls)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    client_init();
    starttls_server(&S);
    srv_start(&S, &t);
    CHECK_EQ_INT(imap_client_open_starttls(&cl, &t, &tls, "localhost"), IMAP_OK);
    CHECK_EQ_INT(imap_login(&cl, "u", "p", NULL), IMAP_OK);
    imap_client_close(&cl);
    srv_free(&S);
    /* implicit TLS (IMAP4_SSL): the greeting comes inside TLS */
    client_init();
    srv_init(&S);
    S.greeting = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] secure\r\n";
    srv_start(&S, &t);
    imap_client_require_tls(&cl, 1);
    CHECK_EQ_INT(imap_client_open_tls(&cl, &t, &tls, "localhost"), IMAP_OK);
    CHECK_EQ_INT(imap_login(&cl, "u", "p", NULL), IMAP_OK);
    imap_client_close(&cl);
    srv_free(&S);
    /* a failed handshake finishes the session; close closes the socket */
    client_init();
    srv_init(&S);
    S.greeting = "* OK hi\r\n";
    srv_start(&S, &t);
    CHECK_EQ_INT(imap_client_open_tls(&cl, &t, &tls, "wronghost.test"), IMAP_E_TLS_HOSTNAME);
    CHECK_EQ_INT(cl.error, IMAP_E_TLS_HOSTNAME);
    imap_client_close(&cl);
    CHECK_EQ_INT(S.client_closed, 1);
    srv_free(&S);
}

typedef struct sum_sink {
    size_t got;
    int bad;
} sum_sink;

static int check_sink(void *arg, const imap_literal_info *info, const void *data, size_t len)
{
    sum_sink *s = (sum_sink *)arg;
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < len; i++) {
        size_t k = (size_t)info->offset + i;
        if (p[i] != (unsigned char)(k * 7 + k / 251)) s->bad++;
    }
    s->got += len;
    return 0;
}

TEST(large_literal_through_half_duplex_tls)
{
    imap_tls_config c = cfg_ca(CA_PEM);
    imap_transport t;
    sum_sink sk;
    int i;
    memset(&sk, 0, sizeof sk);
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    client_init();
    imap_client_set_debug(&cl, 0, NULL, NULL);
    srv_init(&S);
    S.greeting = "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n";
    S.big = 3u << 20;
    S.max_read = 4093;                               /* records split across reads */
    srv_start(&S, &t);
    CHECK_EQ_INT(imap_client_open_tls(&cl, &t, &tls, "localhost"), IMAP_OK);
    imap_parser_set_sink(imap_client_parser(&cl), 4096, check_sink, &sk);
    CHECK_EQ_INT(imap_fetch(&cl, "1", "(BODY[])", NULL), IMAP_OK);
    CHECK_EQ_INT(sk.got, S.big);
    CHECK_EQ_INT(sk.bad, 0);
    /* pipelined small commands while data flows both ways */
    for (i = 0; i < 50; i++) {
        imap_call call;
        memset(&call, 0, sizeof call);
        call.on_done = done_cb;
        CHECK_EQ_INT(imap_noop(&cl, &call), IMAP_OK);
    }
    CHECK_EQ_INT(imap_client_wait_all(&cl), 0);
    CHECK_EQ_INT(S.tls_commands, 51);
    imap_client_close(&cl);
    srv_free(&S);
}

/* IP literals for the iPAddress check: what is one, what is a name. */
TEST(ip_literals_parse)
{
    static const struct { const char *s; size_t n; const char *bytes; } ok[] = {
        { "127.0.0.1", 4, "\x7f\x00\x00\x01" },
        { "::1", 16, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" },
        { "[::1]", 16, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" },
        { "2001:db8::8:1", 16, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\x08\0\x01" },
        { "::ffff:192.0.2.1", 16, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x01" },
        { "1:2:3:4:5:6:7:8", 16, "\0\x01\0\x02\0\x03\0\x04\0\x05\0\x06\0\x07\0\x08" },
    };
    static const char *const names[] = {
        "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4.", "a::b::c",
        "1:2:3:4:5:6:7:8:9", ":1::2", "1::2:", "12345::1", "::1.2.3", "[::1", "", "1..2.3",
        "example.com", "::g"
    };
    unsigned char out[16];
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_EQ_INT(imap__ip_parse(ok[i].s, out), ok[i].n);
        CHECK(memcmp(out, ok[i].bytes, ok[i].n) == 0);
    }
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (imap__ip_parse(names[i], out) != 0) printf("    taken as an IP: %s\n", names[i]);
        CHECK_EQ_INT(imap__ip_parse(names[i], out), 0);
    }
}

/* The certificate reader over hostile bytes: every truncation of a real
   certificate is "bad" (refused), every one-byte change is survived
   (ASan watches), and the whole certificate is read right. */
static imap_tls dert;
static int der_read(const unsigned char *d, size_t n, size_t split)
{
    memset(&dert, 0, sizeof dert);
    imap__der_start(&dert, (uint32_t)n);
    if (split > n) split = n;
    imap__der_push(&dert, d, split);
    imap__der_push(&dert, d + split, n - split);
    imap__der_end(&dert);
    return dert._seen[0].bad;
}

TEST(certificate_reader_hostile_bytes)
{
    imap_tls_config c;
    unsigned char buf[4096];
    const unsigned char *der;
    size_t n, i;
    memset(&c, 0, sizeof c);
    c.insecure = 1;
    c.cert_pem = SRV_RSA_PEM;
    c.key_pem = SRV_RSA_KEY;
    CHECK_EQ_INT(imap_tls_init(&tls, &c, tamem, sizeof tamem), IMAP_OK);
    der = tls._chain[0].data;
    n = tls._chain[0].data_len;
    CHECK(n > 500 && n <= sizeof buf);
    if (n > sizeof buf) return;
    for (i = 0; i <= n; i += 97) {
        CHECK_EQ_INT(der_read(der, n, i), 0);
        CHECK_EQ_INT(dert._seen[0].key_type, 1);
        CHECK_EQ_INT(dert._seen[0].key_bits, 2048);
        CHECK_EQ_INT(dert._seen[0].sig, 0);
        CHECK_EQ_INT(dert._eku, 2);
        CHECK(dert._has_dns);
        CHECK(!dert._seen[0].self_issued);
        CHECK(dert._seen[0].not_after > dert._seen[0].not_before);
    }
    for (i = 1; i < n; i++) {
        memset(&dert, 0, sizeof dert);
        imap__der_start(&dert, (uint32_t)n);
        imap__der_push(&dert, der, i);
        imap__der_end(&dert);               /* cut short */
        if (!dert._seen[0].bad) printf("    truncation at %lu not seen\n", (unsigned long)i);
        CHECK(dert._seen[0].bad);
    }
    for (i = 0; i < n; i++) {
        memcpy(buf, der, n);
        buf[i] ^= 0xff;
        der_read(buf, n, i / 2);
        buf[i] = (unsigned char)(i * 7);
        der_read(buf, n, n);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(init_reports_the_memory_it_needs);
    RUN(init_refuses_bad_options);
    RUN(system_bundle_and_directories);
    RUN(handshake_verifies_and_carries_data);
    RUN(bytes_after_a_certificate_are_refused);
    RUN(handshake_a_byte_at_a_time_with_would_block);
    RUN(each_certificate_failure_has_its_code);
    RUN(cert_verify_cb_sees_the_certificate_and_may_refuse);
    RUN(insecure_is_explicit_and_skips_checks);
    RUN(tls_level_and_ssl_version);
    RUN(client_certificates_rsa_and_ec);
    RUN(close_notify_both_ways);
    RUN(garbage_and_hangups_end_cleanly);
    RUN(starttls_upgrades_then_asks_capabilities_again);
    RUN(bytes_after_the_starttls_ok_are_discarded);
    RUN(scripted_starttls_goes_straight_to_the_handshake);
    RUN(no_starttls_no_fallback);
    RUN(preauth_in_plaintext_is_refused_when_tls_is_required);
    RUN(open_starttls_and_open_tls);
    RUN(large_literal_through_half_duplex_tls);
    RUN(ip_literals_parse);
    RUN(certificate_reader_hostile_bytes);
    return test_summary();
}
