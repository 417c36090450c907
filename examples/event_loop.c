/* event_loop - imap.h sans-I/O inside your own poll() loop: the client's
   socket and stdin in one loop, the engine's timers driven by
   imap_client_tick (response timeout, IDLE's own timeout).

       cc -std=c99 -O2 -I. examples/event_loop.c -o event_loop
       IMAP_PASSWORD=secret ./event_loop HOST PORT USER

   It logs in, selects INBOX and IDLEs (re-IDLEing every 60 s); it prints
   new mail counts as they come. A line on stdin sends NOOP (which ends
   IDLE first), "q" or end of input logs out. Every command is
   asynchronous: the next one is issued from the last one's on_done. */
#define _POSIX_C_SOURCE 200809L
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static imap_client c;
static unsigned char mem[1 << 16];
static int quit, done;
static void dbg(void *a, const char *l, size_t n) { (void)a; fprintf(stderr, "%.*s\n", (int)n, l); }

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void next(void *arg, imap_client *cl, int result, const imap_response *t);
static imap_call step;          /* every command: on_done = next */

/* on_done of every command: what comes next (this is a callback: only
   asynchronous commands may be issued here) */
static void next(void *arg, imap_client *cl, int result, const imap_response *t)
{
    (void)arg;
    (void)t;
    if (result != IMAP_OK) {
        fprintf(stderr, "command failed: %s %s\n", imap_result_name(result), cl->last_text);
        done = 2;
        return;
    }
    if (cl->state == IMAP_STATE_LOGOUT) {
        done = 1;
    } else if (cl->state == IMAP_STATE_AUTH) {
        imap_select(cl, "INBOX", 0, &step);
    } else if (quit) {
        imap_logout(cl, &step);
    } else if (imap_client_pending(cl) == 0) {
        printf("INBOX: %lu messages; idling\n", (unsigned long)cl->exists);
        fflush(stdout);
        imap_idle(cl, 60000, &step);
    }
}

int main(int argc, char **argv)
{
    imap_tcp tcp;
    imap_transport unused;      /* the loop reads and writes the socket itself */
    const char *pw = getenv("IMAP_PASSWORD");
    unsigned char buf[4096];
    int rc;
    if (argc != 4 || !pw) {
        fprintf(stderr, "usage: IMAP_PASSWORD=... %s HOST PORT USER\n", argv[0]);
        return 2;
    }
    if ((rc = imap_tcp_connect(&tcp, argv[1], (unsigned)atoi(argv[2]), 10000, &unused)) != IMAP_OK) {
        fprintf(stderr, "connect: %s\n", imap_result_str(rc));
        return 1;
    }
    step.on_done = next;
    imap_client_init(&c, mem, sizeof mem);
    imap_client_set_timeout(&c, 20000);
    if (getenv("EVDEBUG")) imap_client_set_debug(&c, IMAP_DEBUG_PROTOCOL, dbg, NULL);
    imap_client_start(&c);
    imap_login(&c, argv[3], pw, &step);       /* goes out after the greeting */
    while (!done && !c.error) {
        struct pollfd p[2];
        const unsigned char *out;
        size_t n, used;
        long ms = imap_client_tick(&c, now_ms());   /* fire timers; how long to sleep */
        p[0].fd = tcp.fd;
        p[0].events = POLLIN | (imap_client_output(&c, &out, &n) ? POLLOUT : 0);
        p[1].fd = quit ? -1 : 0;
        p[1].events = POLLIN;
        if (poll(p, 2, (int)ms) < 0) break;
        imap_client_tick(&c, now_ms());
        if ((p[0].revents & POLLOUT) && imap_client_output(&c, &out, &n)) {
            ssize_t k = write(tcp.fd, out, n);
            if (k > 0) imap_client_output_ack(&c, (size_t)k);
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k = read(tcp.fd, buf, sizeof buf);
            if (k <= 0) break;
            imap_client_feed(&c, buf, (size_t)k, &used);
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
            char line[256];
            if (!fgets(line, sizeof line, stdin) || line[0] == 'q') quit = 1;
            /* NOOP ends the IDLE (DONE goes first); quit ends it too */
            imap_noop(&c, &step);
        }
    }
    close(tcp.fd);
    if (done != 1) fprintf(stderr, "ended: %s\n", imap_result_str(c.error ? c.error : IMAP_E_CLOSED));
    return done == 1 ? 0 : 1;
}
