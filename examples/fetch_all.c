/* fetch_all - the seed's usage example (imaplib2, "Usage") in C: open a
   mailbox read-only and print every message, with one asynchronous FETCH
   per message, all pipelined, results arriving through callbacks.

   Build:  cc -O2 -I. examples/fetch_all.c -o fetch_all
   Usage:  IMAP_PASSWORD=secret ./fetch_all [HOST [PORT [USER [MAILBOX]]]]
           Defaults: $IMAP_HOST or localhost, $IMAP_PORT or 143, $IMAP_USER
           or $USER, $IMAP_MAILBOX or INBOX. Prints "Message N:" and the
           first lines of each.

   The Python it follows:
       M = imaplib2.IMAP4()
       M.LOGIN(getpass.getuser(), getpass.getpass())
       M.SELECT(readonly=True)
       typ, data = M.SEARCH(None, 'ALL')
       for num in data[0].split():
           M.FETCH(num, '(RFC822)', callback=cb)
       M.CLOSE()
       M.LOGOUT() */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEM_BYTES (1u << 20)    /* the largest message shown is ~3/4 of it */
#define SHOW_LINES 6

static long long now_ms(void *arg)
{
    struct timespec ts;
    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *arg_or_env(int argc, char **argv, int i, const char *env, const char *dflt)
{
    const char *v = i < argc ? argv[i] : getenv(env);
    return v && *v ? v : dflt;
}

/* The message numbers SEARCH answered (imaplib's data[0].split()). */
typedef struct numbers {
    imap_u64 *v;
    size_t n, cap;
    int nomem;
} numbers;

static void on_search(void *arg, imap_client *c, const imap_response *r)
{
    numbers *ns = (numbers *)arg;
    const imap_value *cur = r->args;
    imap_u64 num;
    if (!imap_response_is(r, "SEARCH")) return;
    while (imap_numbers_next(&cur, &num) == 1) {
        /* a number past EXISTS, or past 2^32-1 (RFC 3501 §9 nz-number),
           is no message of this mailbox: a hostile server may say
           anything, and nothing here is sized by its counts */
        if (num == 0 || num > c->exists || num > 0xFFFFFFFFu) continue;
        if (ns->n == ns->cap) {
            size_t cap = ns->cap ? ns->cap * 2 : 64;
            imap_u64 *v;
            if (cap > (size_t)-1 / 2 / sizeof *v) {
                ns->nomem = 1;
                return;
            }
            v = (imap_u64 *)realloc(ns->v, cap * sizeof *v);
            if (!v) {
                ns->nomem = 1;
                return;
            }
            ns->v = v;
            ns->cap = cap;
        }
        ns->v[ns->n++] = num;
    }
}

static int failed;

/* imaplib2's callback, cb((response, cb_arg, error)): the command's data
   is at hand during the call. Each FETCH data string splits like
   imaplib's tuples: ("N (RFC822 {size}", message), then ")". */
static void cb(void *cb_arg, imap_client *c, int result, const imap_response *tagged)
{
    char name[16];
    static char data[MEM_BYTES / 8];
    size_t len;
    (void)cb_arg;
    (void)tagged;
    if (result != IMAP_OK) {
        /* IMAP_E_NOMEM, IMAP_E_DROPPED: larger than the client's memory
           (imapcat.c streams any size through a per-call sink) */
        fprintf(stderr, "fetch_all: FETCH: %s%s%s\n", imap_result_str(result),
                c->last_text[0] ? ": " : "", c->last_text);
        if (result != IMAP_E_NOMEM && result != IMAP_E_DROPPED) failed = 1;
        return;
    }
    while (imap_client_pop_untagged(c, name, sizeof name, data, sizeof data, &len) == 1) {
        const char *cur = data;
        imap_str field0, field1;
        if (strcmp(name, "FETCH") != 0) continue;
        while (imap_data_next(&cur, data + len, &field0, &field1) == 1) {
            size_t i, start = 0, num = 0;
            int lines = 0;
            if (!field1.ptr) continue;          /* not a tuple */
            while (num < field0.len && field0.ptr[num] != ' ') num++;
            printf("Message %.*s:\n", (int)num, field0.ptr);   /* field[0].split()[0] */
            for (i = 0; i < field1.len && lines < SHOW_LINES; i++) {
                if (field1.ptr[i] != '\n') continue;
                printf("  %.*s\n", (int)(i - start - (i > start && field1.ptr[i - 1] == '\r')),
                       field1.ptr + start);
                start = i + 1;
                lines++;
            }
            printf("  ... (%lu bytes)\n\n", (unsigned long)field1.len);
        }
    }
}

static int fail(imap_client *c, const char *what, int rc)
{
    fprintf(stderr, "fetch_all: %s: %s%s%s\n", what, imap_result_str(rc),
            c->last_text[0] ? ": " : "", c->last_text);
    return 1;
}

int main(int argc, char **argv)
{
    const char *host = arg_or_env(argc, argv, 1, "IMAP_HOST", "localhost");
    unsigned port = (unsigned)atoi(arg_or_env(argc, argv, 2, "IMAP_PORT", "143"));
    const char *user = arg_or_env(argc, argv, 3, "IMAP_USER", getenv("USER"));
    const char *mailbox = arg_or_env(argc, argv, 4, "IMAP_MAILBOX", "INBOX");
    const char *password = getenv("IMAP_PASSWORD");
    static imap_client c;
    imap_tcp tcp;
    imap_transport t;
    imap_call call;
    static numbers found;       /* static: still reachable on an early return */
    const char *criteria[] = { "ALL" };
    unsigned char *mem = (unsigned char *)malloc(MEM_BYTES);
    size_t i;
    int rc;

    if (!mem || !user || !password) {
        fprintf(stderr, "usage: IMAP_PASSWORD=secret %s [HOST [PORT [USER [MAILBOX]]]]\n", argv[0]);
        return 1;
    }
    imap_client_init(&c, mem, MEM_BYTES);
    imap_client_set_clock(&c, now_ms, NULL);
    imap_client_set_timeout(&c, 30000);
    rc = imap_tcp_connect(&tcp, host, port, 10000, &t);
    if (rc != IMAP_OK) return fail(&c, "connect", rc);
    rc = imap_client_open(&c, &t);                              /* M = IMAP4() */
    if (rc != IMAP_OK) return fail(&c, "greeting", rc);
    if (c.state == IMAP_STATE_NONAUTH) {
        rc = imap_login(&c, user, password, NULL);              /* M.LOGIN */
        if (rc != IMAP_OK) return fail(&c, "login", rc);
    }
    rc = imap_select(&c, mailbox, 1, NULL);                     /* readonly */
    if (rc != IMAP_OK) return fail(&c, "select", rc);

    memset(&call, 0, sizeof call);
    call.on_data = on_search;
    call.arg = &found;
    rc = imap_search(&c, NULL, criteria, 1, &call);             /* SEARCH ALL */
    if (rc != IMAP_OK) return fail(&c, "search", rc);
    if (found.nomem) return fail(&c, "search", IMAP_E_NOMEM);

    /* for num in data[0].split(): M.FETCH(num, '(RFC822)', callback=cb)
       queued without waiting: the engine pipelines them (at most
       IMAP_MAX_PENDING in flight) and calls cb as each completes */
    memset(&call, 0, sizeof call);
    call.on_done = cb;
    for (i = 0; i < found.n; i++) {
        char num[24];
        sprintf(num, "%llu", (unsigned long long)found.v[i]);
        rc = imap_fetch(&c, num, "(RFC822)", &call);
        if (rc != IMAP_OK) return fail(&c, "fetch", rc);
    }
    rc = imap_client_wait_all(&c);
    if (rc != IMAP_OK) return fail(&c, "waiting for the fetches", rc);
    printf("%lu messages in %s\n", (unsigned long)found.n, mailbox);

    rc = imap_close(&c, NULL);                                  /* M.CLOSE */
    if (rc != IMAP_OK) return fail(&c, "close", rc);
    rc = imap_logout(&c, NULL);                                 /* M.LOGOUT */
    if (rc != IMAP_OK) return fail(&c, "logout", rc);
    imap_client_close(&c);
    free(found.v);
    free(mem);
    return failed;
}
