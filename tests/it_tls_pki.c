/* it_tls_pki.c - imap.h's BearSSL layer against a private PKI
   (tests/tls_pki.sh) served by OpenSSL on 127.0.0.1
   (tests/tls_pki_server.c): each bad certificate is refused with its
   code, its imap_cert_problem and words that say which; the good ones
   (RSA-2048 chain with an intermediate, ECDSA P-256, an IP SAN reached
   by IP) are accepted, as the relaxed ones are when asked.
     it_tls_pki DIR PORTSFILE
   Build: -DIMAP_WITH_BEARSSL -lbearssl */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include "test.h"
#include <stdio.h>
#include <stdlib.h>

static const char *dir;
static char ports[4096];
static unsigned char anchors[16 * 1024];
static unsigned char mem[64 * 1024];
static imap_tls tls;
static imap_client cl;

static unsigned port_of(const char *name)
{
    const char *p = ports;
    size_t n = strlen(name);
    while ((p = strstr(p, name)) != NULL) {
        if ((p == ports || p[-1] == '\n') && p[n] == ' ') return (unsigned)atoi(p + n + 1);
        p += n;
    }
    return 0;
}

typedef struct pki_case {
    const char *server;        /* the port's name in PORTSFILE */
    const char *host;          /* server_name the client asks for */
    unsigned relax;
    int rc;                    /* expected result of imap_client_open_tls */
    int problem;               /* expected tls.cert_problem */
    int index;                 /* expected tls.cert_index (-2: any) */
    const char *words;         /* in imap_error_text's output */
} pki_case;

static const pki_case cases[] = {
    { "good_rsa", "localhost", 0, IMAP_OK, IMAP_CERT_OK, -1, NULL },
    { "good_ec", "localhost", 0, IMAP_OK, IMAP_CERT_OK, -1, NULL },
    { "noeku", "localhost", 0, IMAP_OK, IMAP_CERT_OK, -1, NULL },
    { "ipsan", "127.0.0.1", 0, IMAP_OK, IMAP_CERT_OK, -1, NULL },
    { "ipsan", "localhost", 0, IMAP_OK, IMAP_CERT_OK, -1, NULL },
    { "sha1", "localhost", 0, IMAP_E_TLS_POLICY, IMAP_CERT_WEAK_SIGNATURE, 0, "SHA-1" },
    { "sha1", "localhost", IMAP_TLS_RELAX_SHA1, IMAP_OK, IMAP_CERT_OK, -1, NULL },
    { "md5", "localhost", 0, IMAP_E_TLS_POLICY, IMAP_CERT_WEAK_SIGNATURE, 0, "MD5" },
    { "md5", "localhost", IMAP_TLS_RELAX_SHA1, IMAP_E_TLS_POLICY, IMAP_CERT_WEAK_SIGNATURE, 0, "MD5" },
    { "rsa1024", "localhost", 0, IMAP_E_TLS_POLICY, IMAP_CERT_WEAK_KEY, 0, "1024-bit RSA key" },
    { "rsa1024", "localhost", IMAP_TLS_RELAX_WEAK_KEY, IMAP_OK, IMAP_CERT_OK, -1, NULL },
    { "ec224", "localhost", 0, IMAP_E_TLS_POLICY, IMAP_CERT_WEAK_KEY, 1, "224-bit EC key" },
    { "clientauth", "localhost", 0, IMAP_E_TLS_POLICY, IMAP_CERT_WRONG_PURPOSE, 0, "serverAuth" },
    { "clientauth", "localhost", IMAP_TLS_RELAX_PURPOSE, IMAP_OK, IMAP_CERT_OK, -1, NULL },
    { "expired", "localhost", 0, IMAP_E_TLS_EXPIRED, IMAP_CERT_EXPIRED, 0, "expired on 2021-01-01" },
    { "notyet", "localhost", 0, IMAP_E_TLS_EXPIRED, IMAP_CERT_NOT_YET_VALID, 0, "not valid before 2090-01-01" },
    { "self", "localhost", 0, IMAP_E_TLS_UNKNOWN_CA, IMAP_CERT_SELF_SIGNED, 0, "self-signed" },
    { "noint", "localhost", 0, IMAP_E_TLS_UNKNOWN_CA, IMAP_CERT_INCOMPLETE_CHAIN, 0, "incomplete chain" },
    { "unknown", "localhost", 0, IMAP_E_TLS_UNKNOWN_CA, IMAP_CERT_UNKNOWN_CA, 2, "not trusted" },
    { "leafsigned", "localhost", 0, IMAP_E_TLS_UNKNOWN_CA, IMAP_CERT_ISSUER_NOT_CA, 1, "not a CA" },
    { "good_rsa", "127.0.0.1", 0, IMAP_E_TLS_HOSTNAME, IMAP_CERT_IP, 0, "no iPAddress entry for 127.0.0.1" },
    { "good_rsa", "imap.example.org", 0, IMAP_E_TLS_HOSTNAME, IMAP_CERT_HOSTNAME, 0, "imap.example.org" },
    { "plain", "localhost", 0, IMAP_E_TLS_HANDSHAKE, IMAP_CERT_OK, -1, "plaintext" },
};

static void one(const pki_case *k)
{
    imap_tls_config cfg;
    imap_tcp tcp;
    imap_transport plain;
    char text[512], ca[1024];
    unsigned port = port_of(k->server);
    int rc;
    CHECK(port != 0);
    memset(&cfg, 0, sizeof cfg);
    snprintf(ca, sizeof ca, "%s/root.pem", dir);
    cfg.ca_file = ca;
    cfg.relax = k->relax;
    cfg.timeout_ms = 5000;
    CHECK_EQ_INT(imap_tls_init(&tls, &cfg, anchors, sizeof anchors), IMAP_OK);
    imap_client_init(&cl, mem, sizeof mem);
    imap_client_set_timeout(&cl, 5000);
    CHECK_EQ_INT(imap_tcp_connect(&tcp, "127.0.0.1", port, 5000, &plain), IMAP_OK);
    rc = imap_client_open_tls(&cl, &plain, &tls, k->host);
    imap_error_text(text, sizeof text, rc, &cl, &tcp, &tls);
    printf("    %-10s %-16s relax %u: %s\n", k->server, k->host, k->relax,
           rc == IMAP_OK ? "accepted" : text);
    CHECK_EQ_INT(rc, k->rc);
    CHECK_EQ_INT(tls.cert_problem, k->problem);
    if (k->index != -2 && k->rc != IMAP_OK) CHECK_EQ_INT(tls.cert_index, k->index);
    if (k->words) CHECK(strstr(text, k->words) != NULL);
    if (rc == IMAP_OK) {
        CHECK(strstr(cl.last_text, "pki test ready") != NULL);
        CHECK_EQ_INT(tls.version, 0x0303);
        CHECK_EQ_INT(imap_logout(&cl, NULL), IMAP_OK);
    }
    imap_client_close(&cl);
}

/* each case counts as a test of its own */
static void run_cases(void)
{
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test__cur_failed = 0;
        one(&cases[i]);
        if (test__cur_failed) test__failed++;
        else test__passed++;
        printf("%s pki %s as %s (relax %u)\n", test__cur_failed ? "FAIL" : "ok  ",
               cases[i].server, cases[i].host, cases[i].relax);
    }
}

/* The error text for what happens before TLS: the refused port and an
   unreadable CA file. */
TEST(pki_error_text)
{
    imap_tcp tcp;
    imap_transport plain;
    imap_tls_config cfg;
    char text[512];
    int rc;
    /* a name that cannot resolve (RFC 6761 .invalid) */
    rc = imap_tcp_connect(&tcp, "no-such-host.invalid", 143, 2000, &plain);
    CHECK_EQ_INT(rc, IMAP_E_IO);
    imap_error_text(text, sizeof text, rc, NULL, &tcp, NULL);
    printf("    %s\n", text);
    CHECK(strstr(text, "no-such-host.invalid does not resolve") != NULL);
    /* a port nobody listens on */
    rc = imap_tcp_connect(&tcp, "127.0.0.1", 1, 2000, &plain);
    CHECK_EQ_INT(rc, IMAP_E_IO);
    imap_error_text(text, sizeof text, rc, NULL, &tcp, NULL);
    printf("    %s\n", text);
    CHECK(strstr(text, "127.0.0.1:1") != NULL);
    CHECK(strstr(text, "refused") != NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.ca_file = "/nonexistent/ca.pem";
    rc = imap_tls_init(&tls, &cfg, anchors, sizeof anchors);
    CHECK_EQ_INT(rc, IMAP_E_IO);
    imap_error_text(text, sizeof text, rc, NULL, NULL, &tls);
    printf("    %s\n", text);
    CHECK(strstr(text, "/nonexistent/ca.pem") != NULL);
    /* the system bundle in too little memory: the size it needs */
    memset(&cfg, 0, sizeof cfg);
    rc = imap_tls_init(&tls, &cfg, anchors, 1000);
    CHECK_EQ_INT(rc, IMAP_E_NOMEM);
    imap_error_text(text, sizeof text, rc, NULL, NULL, &tls);
    printf("    %s\n", text);
    {
        char need[32];
        snprintf(need, sizeof need, "need %lu bytes", (unsigned long)tls.needed);
        CHECK(strstr(text, need) != NULL);
    }
}

int main(int argc, char **argv)
{
    FILE *f;
    size_t n;
    if (argc != 3) {
        fprintf(stderr, "usage: %s DIR PORTSFILE\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    f = fopen(argv[2], "r");
    if (!f) return 2;
    n = fread(ports, 1, sizeof ports - 1, f);
    ports[n] = 0;
    fclose(f);
    run_cases();
    RUN(pki_error_text);
    return test_summary();
}
