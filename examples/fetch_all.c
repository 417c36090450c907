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

/* The message numbers SEARCH answered. */
typedef struct numbers {
    imap_u64 *v;
    size_t n, cap;
} numbers;

static void on_search(void *arg, imap_client *c, const imap_response *r)
{
    numbers *ns = (numbers *)arg;
    const imap_value *cur = r->args;
    imap_u64 num;
    (void)c;
    if (!imap_response_is(r, "SEARCH")) return;
    while (imap_numbers_next(&cur, &num) == 1) {
        if (ns->n == ns->cap) {
            size_t cap = ns->cap ? ns->cap * 2 : 64;
            imap_u64 *v = (imap_u64 *)realloc(ns->v, cap * sizeof *v);
            if (!v) return;
            ns->v = v;
            ns->cap = cap;
        }
        ns->v[ns->n++] = num;
    }
}

/* What the callbacks share: which messages were shown, by number. */
typedef struct shared {
    unsigned char *shown;       /* [message number] */
    imap_u64 max;
    int failed;
} shared;

/* One FETCH in flight: its callbacks' argument. */
typedef struct job {
    imap_u64 num;
    shared *all;
} job;

/* imaplib2's callback: print "Message N:" and the first lines. IMAP does
   not say which command an untagged response answers, and a server may
   run pipelined FETCHes in parallel (Dovecot does): a response can reach
   the callback of an earlier FETCH still in flight. So go by the message
   number in the response, not by the job. */
static void on_message(void *arg, imap_client *c, const imap_response *r)
{
    shared *all = ((job *)arg)->all;
    const imap_value *v = imap_fetch_get(r, "RFC822");
    imap_str msg;
    size_t i, start = 0;
    int lines = 0;
    (void)c;
    if (!v || imap_value_str(v, &msg) != 0 || !msg.ptr) return;
    if (r->number <= all->max) all->shown[r->number] = 1;
    printf("Message %llu:\n", (unsigned long long)r->number);
    for (i = 0; i < msg.len && lines < SHOW_LINES; i++) {
        if (msg.ptr[i] != '\n') continue;
        printf("  %.*s\n", (int)(i - start - (i > start && msg.ptr[i - 1] == '\r')),
               msg.ptr + start);
        start = i + 1;
        lines++;
    }
    printf("  ... (%lu bytes)\n\n", (unsigned long)msg.len);
}

static void on_fetched(void *arg, imap_client *c, int result, const imap_response *tagged)
{
    job *j = (job *)arg;
    (void)tagged;
    if (result == IMAP_E_NOMEM || (result == IMAP_OK && !j->all->shown[j->num])) {
        /* the parser skipped the response: bigger than its buffer (see
           imapcat.c for streaming any size through the literal sink) */
        printf("Message %llu: (not shown: larger than the buffer)\n\n",
               (unsigned long long)j->num);
    } else if (result != IMAP_OK) {
        fprintf(stderr, "fetch_all: FETCH %llu: %s %s\n", (unsigned long long)j->num,
                imap_result_str(result), c->last_text);
        j->all->failed = 1;
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
    numbers found = { NULL, 0, 0 };
    shared all;
    job *jobs;
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

    /* one FETCH per message, queued without waiting: the engine pipelines
       them (at most IMAP_MAX_PENDING in flight) and calls back per reply */
    memset(&all, 0, sizeof all);
    all.max = c.exists;
    all.shown = (unsigned char *)calloc((size_t)c.exists + 1, 1);
    jobs = (job *)calloc(found.n ? found.n : 1, sizeof *jobs);
    if (!jobs || !all.shown) return fail(&c, "memory", IMAP_E_NOMEM);
    for (i = 0; i < found.n; i++) {
        char num[24];
        if (found.v[i] > all.max) continue;     /* not a message number */
        jobs[i].num = found.v[i];
        jobs[i].all = &all;
        memset(&call, 0, sizeof call);
        call.on_data = on_message;
        call.on_done = on_fetched;
        call.arg = &jobs[i];
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
    free(jobs);
    free(all.shown);
    free(found.v);
    free(mem);
    return all.failed;
}
