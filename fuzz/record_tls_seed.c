/* Records a fuzz_tls seed: what a real server answers to fuzz_tls's own
   client (the same configuration, entropy and no system seeding, so the
   answer replays whole and the handshake reaches application data).

     cc -I. fuzz/record_tls_seed.c -o record_tls_seed -lbearssl
     ./record_tls_seed PORT LEVEL OUT     (a TLS port on 127.0.0.1: the
                                          private Dovecot's IMAP_TEST_SSL_PORT)

   The client is insecure (the test server's CA is not fuzz_tls's), so the
   seed's byte 1 says insecure; LEVEL is 0, 1 or 2 (imap_tls_level). */
#define _POSIX_C_SOURCE 200809L
#define IMAP_WITH_BEARSSL
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include "../tests/tls_data.h"

#include <stdio.h>
#include <stdlib.h>

static imap_transport inner;
static FILE *out;
static imap_tls tls;
static unsigned char mem[1 << 16];

static int rec_read(void *ctx, unsigned char *b, size_t n)
{
    int k = inner.read(inner.ctx, b, n);
    (void)ctx;
    if (k > 0) fwrite(b, 1, (size_t)k, out);
    return k;
}
static int rec_write(void *ctx, const unsigned char *b, size_t n) { (void)ctx; return inner.write(inner.ctx, b, n); }
static int rec_close(void *ctx) { (void)ctx; return inner.close(inner.ctx); }
static int rec_wait(void *ctx, int w, long t) { (void)ctx; return inner.wait(inner.ctx, w, t); }

int main(int argc, char **argv)
{
    imap_tcp tcp;
    imap_transport lower, tr;
    imap_tls_config cfg;
    unsigned char buf[512];
    int rc, k;
    if (argc != 4) {
        fprintf(stderr, "usage: record_tls_seed PORT LEVEL OUT\n");
        return 2;
    }
    /* exactly fuzz_tls's server() with byte 1 = LEVEL | insecure */
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_pem = CA_PEM;
    cfg.tls_level = atoi(argv[2]) % 3;
    cfg.insecure = 1;
    cfg.entropy = "fuzz_tls: a fixed seed";
    cfg.entropy_len = 22;
    cfg.verify_time = 1800000000;
    if (imap_tls_init(&tls, &cfg, mem, sizeof mem) != IMAP_OK) return 1;
    tls.cc.eng.rng_os_rand_done = 1;
    if (!(out = fopen(argv[3], "wb"))) return 1;
    fputc(0, out);                                  /* fuzz_tls: a server */
    fputc(cfg.tls_level | 4, out);                  /* level, insecure */
    fputc(0, out);                                  /* reads of up to 4096 */
    if (imap_tcp_connect(&tcp, "127.0.0.1", (unsigned)atoi(argv[1]), 5000, &inner) != IMAP_OK)
        return 1;
    lower.read = rec_read;
    lower.write = rec_write;
    lower.close = rec_close;
    lower.wait = rec_wait;
    lower.ctx = NULL;
    rc = imap_tls_start(&tls, &lower, "localhost", &tr);
    if (rc == IMAP_OK) {
        while ((k = tr.read(tr.ctx, buf, sizeof buf)) == 0) tr.wait(tr.ctx, 0, 5000);
        if (k > 0) fwrite(buf, 1, (size_t)k, stdout);
        tr.close(tr.ctx);
    }
    fclose(out);
    fprintf(stderr, "handshake %s, suite 0x%04x\n", imap_result_name(rc), tls.suite);
    return rc == IMAP_OK ? 0 : 1;
}
