/* libFuzzer / AFL++ target for TLS (section 8d): what a hostile server
   sends during the handshake, and the PEM a configuration may hold.

   Build (libFuzzer):
     clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_tls.c -o fuzz_tls -lbearssl
   Replay files without libFuzzer:
     cc -g -I. fuzz/fuzz_tls.c fuzz/main.c -o fuzz_tls_replay -lbearssl

   Input: byte 0 picks the target, the rest is its data.
     0  a server: the test CA of tests/tls_data.h is trusted and the data
        is what the server says, byte for byte (a recorded flight works
        as a seed), read in pieces of the size byte 2 gives with a
        would-block before every other one; the client's bytes are
        taken and dropped. Byte 1 picks the level, insecure and a pinning
        callback. imap_tls_start must end with a code of its list,
        recorded in t.result, and never spin (calls are counted); wait()
        says "nothing" once the data is spent.
     1  a configuration: the data, cut at 0xFF, is ca_pem, cert_pem and
        key_pem; byte 1 the buffer's size. imap_tls_init returns a code
        of its list; after IMAP_E_NOMEM the size it asks for is enough. */
#define IMAP_WITH_BEARSSL
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include "../tests/tls_data.h"

#include <stdlib.h>
#include <string.h>

static imap_tls tls;
static unsigned char mem[1 << 16];

typedef struct peer {
    const unsigned char *d;
    size_t n, off, piece;
    unsigned long calls;
} peer;

static int peer_read(void *ctx, unsigned char *buf, size_t len)
{
    peer *p = (peer *)ctx;
    size_t k = p->n - p->off;
    if (++p->calls > 200000) abort();          /* a spin, not a handshake */
    if (k == 0) return -1;                      /* the server hung up */
    if (p->calls & 1) return 0;                 /* would block */
    if (k > len) k = len;
    if (k > p->piece) k = p->piece;
    memcpy(buf, p->d + p->off, k);
    p->off += k;
    return (int)k;
}

static int peer_write(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    return len > 4096 ? 4096 : (int)len;        /* taken, a few KiB at a time */
}

static int peer_close(void *ctx)
{
    (void)ctx;
    return 0;
}

static int peer_wait(void *ctx, int for_write, long timeout_ms)
{
    peer *p = (peer *)ctx;
    (void)timeout_ms;
    if (++p->calls > 200000) abort();
    return for_write || p->off < p->n;
}

static const char *pin(void *arg, const unsigned char *der, size_t len, const char *name)
{
    (void)arg;
    (void)name;
    return len > 0 && der[len - 1] & 1 ? "odd" : NULL;
}

static void server(const unsigned char *d, size_t n)
{
    static const int codes[] = {
        IMAP_E_TLS_UNKNOWN_CA, IMAP_E_TLS_EXPIRED, IMAP_E_TLS_HOSTNAME, IMAP_E_TLS_HANDSHAKE,
        IMAP_E_TLS_POLICY,
        IMAP_E_TLS, IMAP_E_TLS_CLOSED, IMAP_E_TIMEOUT, IMAP_E_IO, IMAP_E_CLOSED, IMAP_OK
    };
    imap_tls_config cfg;
    imap_transport lower, out;
    peer p;
    int rc, known = 0;
    unsigned i;
    if (n < 2) return;
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_pem = CA_PEM;
    cfg.tls_level = (d[0] & 3) % 3;
    cfg.insecure = (d[0] >> 2) & 1;
    if ((d[0] >> 3) & 1) cfg.cert_verify_cb = pin;
    cfg.entropy = "fuzz_tls: a fixed seed";
    cfg.entropy_len = 22;
    cfg.verify_time = 1800000000;       /* 2027: inside the test CA's dates */
    if (imap_tls_init(&tls, &cfg, mem, sizeof mem) != IMAP_OK) abort();
    /* no system entropy, only cfg.entropy: the client says the same every
       run, so a server's recorded answer (fuzz/record_tls_seed.c) still
       fits it and the handshake goes through to application data */
    tls.cc.eng.rng_os_rand_done = 1;
    memset(&p, 0, sizeof p);
    p.d = d + 2;
    p.n = n - 2;
    p.piece = d[1] ? d[1] : 4096;
    lower.read = peer_read;
    lower.write = peer_write;
    lower.close = peer_close;
    lower.wait = peer_wait;
    lower.ctx = &p;
    rc = imap_tls_start(&tls, &lower, "localhost", &out);
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (rc == codes[i]) known = 1;
    if (!known) abort();
    if (rc != IMAP_OK && tls.result != rc) abort();
    if (rc == IMAP_OK) {
        /* a finished handshake (a recorded flight, or its mutation):
           read what is left through the TLS transport, then close */
        unsigned char buf[256];
        int k, rounds = 0;
        while ((k = out.read(out.ctx, buf, sizeof buf)) > 0 && ++rounds < 1000) {}
        out.close(out.ctx);
    }
}

static void config(const unsigned char *d, size_t n)
{
    static char text[3][4096];
    size_t len[3] = { 0, 0, 0 }, cap, i;
    int part = 0, rc;
    imap_tls_config cfg;
    if (n < 1) return;
    cap = 64 + (size_t)d[0] * 200;             /* 64 B .. 51 KiB */
    for (i = 1; i < n && part < 3; i++) {
        if (d[i] == 0xff) {
            part++;
            continue;
        }
        if (len[part] < sizeof text[0]) text[part][len[part]++] = (char)d[i];
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_pem = text[0];
    cfg.ca_pem_len = len[0] ? len[0] : 1;      /* never strlen: not NUL-ended */
    if (len[1]) {
        cfg.cert_pem = text[1];
        cfg.cert_pem_len = len[1];
    }
    if (len[2]) {
        cfg.key_pem = text[2];
        cfg.key_pem_len = len[2];
    }
    rc = imap_tls_init(&tls, &cfg, mem, cap);
    if (rc != IMAP_OK && rc != IMAP_E_NOMEM && rc != IMAP_E_ARGS && rc != IMAP_E_LIMIT &&
        rc != IMAP_E_UNSUPPORTED) abort();
    if (rc == IMAP_E_NOMEM) {
        size_t need = tls.needed;
        if (need <= cap) abort();               /* "needed" is more than it had */
        if (need > sizeof mem) return;
        if (imap_tls_init(&tls, &cfg, mem, need) == IMAP_E_NOMEM) abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1) config(data + 1, size - 1);
    else server(data + 1, size - 1);
    return 0;
}
