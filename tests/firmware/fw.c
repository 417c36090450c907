/* Firmware for QEMU's mps2-an386 (Cortex-M4; also built for ARMv6-M):
   imap.h over the polled CMSDK UART0, which tests/firmware/run.sh wires to
   Dovecot's imap binary (PREAUTH on stdio) or to tests/firmware/edge.pl.
   The mode is QEMU's -append string:
     dovecot   CAPABILITY, SELECT, FETCH 1:* of every ENVELOPE and
               BODYSTRUCTURE (all decoded), the largest message's body
               through the literal sink with its cksum, IDLE until the
               EXISTS of a message run.sh delivers, LOGOUT; then (FW_FIGURES)
               (dovecot-part: the body's first 128 KiB only)
               instruction counts from a replay of the recorded session
     edge      crafted 32-bit edge responses from edge.pl (see there)
     lit4/lit5 a 4 GiB / 5 GiB literal announced over the UART (lit5sink:
               with the limit raised, into the sink)
     u64       a 5 GiB literal fed to a parser in memory (no UART)
   Lines "fw: ..." report, "figure: ..." are figures, "FAIL ..." a failed
   check; the exit status is the number of failures (semihosting).
   Configurations: FW_SMALL (4 KiB parser buffer, small limits), default
   (imap.h's limits, 48 KiB parser), FW_MISALIGN (client memory at an odd
   address). */
#include "fw.h"

#ifdef FW_SMALL
#define IMAP_MAX_PENDING 4
#define IMAP_CMD_MAX_SEGMENTS 4
#define IMAP_CAPS_BYTES 1024        /* Dovecot's list after login: ~400, Cyrus's 924 */
#define IMAP_READ_CHUNK 64
#define IMAP_INJECT_BYTES 32
#define IMAP_SASL_BYTES 64
#define IMAP_DEBUG_LINES 2
#define IMAP_DEBUG_LINE_BYTES 64
#define IMAP_MAX_DEPTH 16
#define FW_PARSER_BYTES 4096
#else
#define FW_PARSER_BYTES (48 * 1024)
#define FW_FIGURES 1
#endif
#define IMAP_NO_POSIX
#define IMAP_IMPLEMENTATION
#include "imap.h"

#ifndef FW_CPU
#define FW_CPU "m4"
#endif

/* imap_client_init gives the parser 3/4 of the memory */
#define FW_MEM_BYTES (FW_PARSER_BYTES / 6 * 8 + 8)
#define FW_SINK_THRESHOLD 1024

/* ---- console: a tiny printf over SYS_WRITE0 -------------------------- */

static char fw_line[200];
static unsigned fw_len;

static void put_c(char ch)
{
    if (fw_len < sizeof fw_line - 1) fw_line[fw_len++] = ch;
}

static void put_s(const char *s, size_t n)
{
    while (n--) put_c(*s++);
}

static void put_u(imap_u64 v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (n) put_c(t[--n]);
}

static void put_x10(imap_u64 x10)   /* a tenth-resolution figure */
{
    put_u(x10 / 10);
    put_c('.');
    put_u(x10 % 10);
}

/* %s %S (imap_str) %u (unsigned long) %U (imap_u64) %d (int), %t %h
   (an imap_u64 in tenths, hundredths) */
static void say(const char *fmt, ...);
#include <stdarg.h>
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fw_len = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put_c(*fmt);
            continue;
        }
        switch (*++fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            put_s(s, strlen(s));
            break;
        }
        case 'S': {
            imap_str s = va_arg(ap, imap_str);
            put_s(s.ptr ? s.ptr : "", s.len > 120 ? 120 : s.len);
            break;
        }
        case 'u': put_u(va_arg(ap, unsigned long)); break;
        case 'U': put_u(va_arg(ap, imap_u64)); break;
        case 't': put_x10(va_arg(ap, imap_u64)); break;
        case 'h': {
            imap_u64 h = va_arg(ap, imap_u64);
            put_u(h / 100);
            put_c('.');
            put_c((char)('0' + (int)(h / 10 % 10)));
            put_c((char)('0' + (int)(h % 10)));
            break;
        }
        case 'd': {
            int d = va_arg(ap, int);
            if (d < 0) {
                put_c('-');
                put_u((imap_u64)(-(long long)d));
            } else {
                put_u((imap_u64)d);
            }
            break;
        }
        default: put_c(*fmt); break;
        }
    }
    va_end(ap);
    put_c('\n');
    fw_line[fw_len] = 0;
    fw_puts(fw_line);
}

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        failures++;
        say("FAIL %s", what);
    }
}

/* ---- the UART transport ---------------------------------------------- */

#define UART0 ((volatile unsigned long *)0x40004000)
#define UART_DATA 0
#define UART_STATE 1
#define UART_CTRL 2
#define UART_BAUDDIV 4

#ifdef FW_FIGURES
/* The session as received, with where each command was written, so the
   figures can replay it without the UART's waits. */
static unsigned char rec[160 * 1024];
static size_t rec_len;
static int rec_over, rec_off;
static size_t rec_marks[16];
static unsigned rec_nmarks;
#endif

static int uart_read(void *ctx, unsigned char *buf, size_t len)
{
    size_t n = 0;
    (void)ctx;
    while (n < len && (UART0[UART_STATE] & 2u)) buf[n++] = (unsigned char)UART0[UART_DATA];
#ifdef FW_FIGURES
    if (n && !rec_over && !rec_off) {
        if (rec_len + n <= sizeof rec) {
            memcpy(rec + rec_len, buf, n);
            rec_len += n;
        } else {
            rec_over = 1;
        }
    }
#endif
    return (int)n;
}

static int uart_write(void *ctx, const unsigned char *buf, size_t len)
{
    size_t i;
    (void)ctx;
#ifdef FW_FIGURES
    if (!rec_off && rec_nmarks < sizeof rec_marks / sizeof rec_marks[0])
        rec_marks[rec_nmarks++] = rec_len;
#endif
    for (i = 0; i < len; i++) {
        while (UART0[UART_STATE] & 1u) {}
        UART0[UART_DATA] = buf[i];
    }
    return (int)len;
}

/* Sleep (WFI) until a byte or the 10 ms SysTick: interrupts stay masked
   (PRIMASK), a pending one only ends the WFI, so no handler is needed and
   QEMU's CPU thread idles instead of spinning. */
#define NVIC_ICPR0 (*(volatile unsigned long *)0xE000E280)
#define NVIC_ISER0 (*(volatile unsigned long *)0xE000E100)
#define SCB_ICSR (*(volatile unsigned long *)0xE000ED04)
#define SYST ((volatile unsigned long *)0xE000E010)

static int uart_wait(void *ctx, int for_write, long timeout_ms)
{
    long long end = timeout_ms < 0 ? -1 : fw_host_ms() + timeout_ms;
    (void)ctx;
    if (for_write) return 1;                /* writes spin by themselves */
    for (;;) {
        if (UART0[UART_STATE] & 2u) return 1;
        (void)fw_ticks();                   /* keep the tick count from wrapping */
        if (end >= 0 && fw_host_ms() >= end) return 0;
        __asm__ volatile("wfi");
        UART0[3] = 2u;                      /* INTCLEAR: RX */
        NVIC_ICPR0 = 1u;                    /* UART0 RX is IRQ 0 */
        SCB_ICSR = 1ul << 25;               /* PENDSTCLR */
    }
}

static long long clock_ms(void *arg)
{
    (void)arg;
    return fw_host_ms();
}

/* ---- decoding every envelope and body structure --------------------- */

typedef struct decode_stats {
    unsigned long fetches, envelopes, addresses, parts, params, bad;
    imap_u64 max_size, max_uid, sizes;
} decode_stats;

static void decode_addresses(decode_stats *st, const imap_value *list)
{
    imap_address a;
    const imap_value *cur = list;
    int k;
    while ((k = imap_address_next(&cur, &a)) == 1) st->addresses++;
    if (k < 0) st->bad++;
}

static void decode_envelope(decode_stats *st, const imap_value *v)
{
    imap_envelope e;
    if (imap_envelope_decode(v, &e) != 0) {
        st->bad++;
        return;
    }
    st->envelopes++;
    decode_addresses(st, e.from);
    decode_addresses(st, e.sender);
    decode_addresses(st, e.reply_to);
    decode_addresses(st, e.to);
    decode_addresses(st, e.cc);
    decode_addresses(st, e.bcc);
}

/* The part tree walked with an explicit stack, as firmware must */
static void decode_body(decode_stats *st, const imap_value *root)
{
    const imap_value *stack[IMAP_MAX_DEPTH];
    unsigned sp = 0;
    stack[sp++] = root;
    while (sp) {
        const imap_value *v = stack[--sp];
        imap_body b;
        const imap_value *prm;
        imap_str pn, pv;
        int k;
        for (; v; v = NULL) {
            if (imap_body_decode(v, &b) != 0) {
                st->bad++;
                break;
            }
            st->parts++;
            prm = b.params;
            while ((k = imap_param_next(&prm, &pn, &pv)) == 1) st->params++;
            if (k < 0) st->bad++;
            if (b.multipart) {
                const imap_value *c = b.parts;
                for (; c; c = c->next) {
                    if (c->type != IMAP_LIST) break;   /* the subtype follows */
                    if (sp == IMAP_MAX_DEPTH) {
                        st->bad++;
                        break;
                    }
                    stack[sp++] = c;
                }
            } else if (b.envelope && b.body) {
                decode_envelope(st, b.envelope);
                if (sp < IMAP_MAX_DEPTH) stack[sp++] = b.body;
            }
        }
    }
}

static void decode_fetch(decode_stats *st, const imap_response *r)
{
    const imap_value *v;
    imap_u64 uid = 0, size = 0;
    st->fetches++;
    if ((v = imap_fetch_get(r, "ENVELOPE")) != NULL) decode_envelope(st, v);
    if ((v = imap_fetch_get(r, "BODYSTRUCTURE")) != NULL) decode_body(st, v);
    if ((v = imap_fetch_get(r, "UID")) != NULL && imap_value_u64(v, &uid) != 0) st->bad++;
    if ((v = imap_fetch_get(r, "RFC822.SIZE")) != NULL && imap_value_u64(v, &size) != 0) st->bad++;
    st->sizes += size;
    if (size > st->max_size) {
        st->max_size = size;
        st->max_uid = uid;
    }
}

static void on_fetch(void *arg, imap_client *c, const imap_response *r)
{
    (void)c;
    if (imap_response_is(r, "FETCH")) decode_fetch((decode_stats *)arg, r);
}

/* ---- the body sink: POSIX cksum of BODY[] ---------------------------- */

typedef struct body_sum {
    unsigned long crc;
    imap_u64 bytes, total, other;
    int order_bad;
} body_sum;

static unsigned long cksum_add(unsigned long crc, const unsigned char *p, size_t n)
{
    while (n--) {
        int k;
        crc ^= (unsigned long)*p++ << 24;
        for (k = 0; k < 8; k++)
            crc = (crc & 0x80000000ul) ? ((crc << 1) ^ 0x04C11DB7ul) : (crc << 1);
        crc &= 0xFFFFFFFFul;
    }
    return crc;
}

static unsigned long cksum_end(unsigned long crc, imap_u64 len)
{
    unsigned char b;
    while (len) {
        b = (unsigned char)(len & 0xFF);
        crc = cksum_add(crc, &b, 1);
        len >>= 8;
    }
    return ~crc & 0xFFFFFFFFul;
}

static int body_sink(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    body_sum *s = (body_sum *)ctx;
    if (info->item.len < 6 || memcmp(info->item.ptr, "BODY[]", 6) != 0) {
        s->other += len;
        return 0;
    }
    if (info->offset != s->bytes) s->order_bad = 1;
    s->total = info->total;
    s->crc = cksum_add(s->crc, (const unsigned char *)data, len);
    s->bytes += len;
    return 0;
}

/* ---- memory ---------------------------------------------------------- */

static imap_client client;
static unsigned char client_mem[FW_MEM_BYTES + 8] __attribute__((aligned(8)));
static unsigned long untagged_exists;

static void on_untagged(void *arg, imap_client *c, const imap_response *r)
{
    (void)arg;
    (void)c;
    if (imap_response_is(r, "EXISTS")) untagged_exists++;
}

static void client_setup(imap_client *c, unsigned char *mem, size_t cap)
{
#ifdef FW_MISALIGN
    mem += 1;                       /* odd address: imap.h aligns what it needs */
    cap -= 1;
#endif
    imap_client_init(c, mem, cap);
    imap_client_seed_tags(c, 1);
    imap_client_set_clock(c, clock_ms, NULL);
    /* a command's whole answer must come within this (the body takes
       30-100 s through the emulated UART on a loaded machine) */
    imap_client_set_timeout(c, 150000);
}

static imap_transport uart_transport(void)
{
    imap_transport t;
    UART0[UART_BAUDDIV] = 16;
    UART0[UART_CTRL] = 3u | 8u;     /* TX and RX enable, RX interrupt (wakes WFI) */
    __asm__ volatile("cpsid i");
    NVIC_ISER0 = 1u;
    SYST[1] = 250000u - 1;          /* 10 ms at 25 MHz */
    SYST[2] = 0;
    SYST[0] = 7u;                   /* enable, interrupt, core clock */
    t.read = uart_read;
    t.write = uart_write;
    t.close = NULL;
    t.wait = uart_wait;
    t.ctx = NULL;
    return t;
}

#ifdef FW_FIGURES
/* ---- figures: the recorded session replayed through memory ---------- */

typedef struct replay {
    size_t pos, gate;
    unsigned writes;
} replay;

static int replay_read(void *ctx, unsigned char *buf, size_t len)
{
    replay *r = (replay *)ctx;
    size_t end = r->writes < rec_nmarks ? rec_marks[r->writes] : rec_len, n;
    if (r->pos >= end) return r->pos >= rec_len ? -1 : 0;
    n = end - r->pos;
    if (n > len) n = len;
    memcpy(buf, rec + r->pos, n);
    r->pos += n;
    return (int)n;
}

static int replay_write(void *ctx, const unsigned char *buf, size_t len)
{
    (void)buf;
    ((replay *)ctx)->writes++;
    return (int)len;
}

static int replay_wait(void *ctx, int for_write, long timeout_ms)
{
    replay *r = (replay *)ctx;
    size_t end = r->writes < rec_nmarks ? rec_marks[r->writes] : rec_len;
    (void)timeout_ms;
    return for_write || r->pos < end || r->pos >= rec_len;
}

static imap_client rclient;
static unsigned char rmem[FW_MEM_BYTES] __attribute__((aligned(8)));
static imap_parser rparser;
static unsigned char chunk[4096];

static imap_u64 instr(unsigned long long ticks)
{
    return (imap_u64)(ticks * 40u / 128u);   /* -icount shift=7: 128 ns each */
}

static imap_u64 per_byte_x10(imap_u64 n, imap_u64 bytes)
{
    return bytes ? (n * 10 + bytes / 2) / bytes : 0;
}

static imap_u64 per_byte_x100(imap_u64 n, imap_u64 bytes)
{
    return bytes ? (n * 100 + bytes / 2) / bytes : 0;
}

/* Feed rec[from, to) to a parser in 4 KiB chunks, decoding or not. */
static imap_u64 parse_range(size_t from, size_t to, int decode, decode_stats *st)
{
    unsigned long long t0, t1;
    size_t pos = from;
    imap_parser_init(&rparser, rmem, FW_PARSER_BYTES);
    t0 = fw_ticks();
    while (pos < to) {
        size_t n = to - pos > 4096 ? 4096 : to - pos, used = 0, off = 0;
        while (off < n) {
            imap_response *r;
            int rc = imap_parser_feed(&rparser, rec + pos + off, n - off, &used, &r);
            off += used;
            if (rc == IMAP_OK && decode && imap_response_is(r, "FETCH")) decode_fetch(st, r);
            if (rc == IMAP_MORE) break;
        }
        pos += n;
    }
    t1 = fw_ticks();
    return instr(t1 - t0);
}

static int sink_null(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    (void)info;
    (void)data;
    *(imap_u64 *)ctx += len;
    return 0;
}

/* A body literal of `total` bytes into a sink that only counts, in
   chunks of `step` bytes: the parser's cost per body byte. */
static imap_u64 sink_figure(size_t step, imap_u64 total)
{
    static const char head[] = "* 1 FETCH (UID 9 BODY[] {524288}\r\n";
    imap_u64 got = 0, left = total;
    unsigned long long t0, t1;
    size_t used;
    imap_response *r;
    memset(chunk, 'x', sizeof chunk);
    imap_parser_init(&rparser, rmem, FW_PARSER_BYTES);
    imap_parser_set_sink(&rparser, 1024, sink_null, &got);
    (void)imap_parser_feed(&rparser, head, sizeof head - 1, &used, &r);
    t0 = fw_ticks();
    while (left) {
        size_t n = left < step ? (size_t)left : step;
        (void)imap_parser_feed(&rparser, chunk, n, &used, &r);
        left -= n;
    }
    t1 = fw_ticks();
    (void)imap_parser_feed(&rparser, ")\r\n", 3, &used, &r);
    check(got == total, "figures: the sink got every body byte");
    return instr(t1 - t0);
}

static void figures(size_t fetch_from, size_t fetch_to)
{
    decode_stats st;
    imap_u64 bytes = fetch_to - fetch_from, n;
    replay rp;
    imap_transport t;
    imap_call call;
    unsigned long long t0, t1;
    int rc;
    if (rec_over || fetch_to <= fetch_from) {
        say("fw: figures skipped (recording overflowed)");
        return;
    }
    memset(&st, 0, sizeof st);
    n = parse_range(fetch_from, fetch_to, 0, &st);
    say("figure: %s parse instr/byte %t (FETCH 1:* ENVELOPE BODYSTRUCTURE, %U bytes, 4 KiB chunks)",
        FW_CPU, per_byte_x10(n, bytes), bytes);
    memset(&st, 0, sizeof st);
    n = parse_range(fetch_from, fetch_to, 1, &st);
    say("figure: %s parse+decode instr/byte %t (%u envelopes, %u body parts)", FW_CPU,
        per_byte_x10(n, bytes), st.envelopes, st.parts);

    /* the engine: the same session again, from memory */
    memset(&rp, 0, sizeof rp);
    t.read = replay_read;
    t.write = replay_write;
    t.close = NULL;
    t.wait = replay_wait;
    t.ctx = &rp;
    imap_client_init(&rclient, rmem, sizeof rmem);
    imap_client_seed_tags(&rclient, 1);
    rc = imap_client_open(&rclient, &t);
    if (rc == IMAP_OK) rc = imap_capability(&rclient, NULL);
    if (rc == IMAP_OK) rc = imap_select(&rclient, "INBOX", 0, NULL);
    memset(&st, 0, sizeof st);
    memset(&call, 0, sizeof call);
    call.on_data = on_fetch;
    call.arg = &st;
    t0 = fw_ticks();
    if (rc == IMAP_OK)
        rc = imap_fetch(&rclient, "1:*", "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)", &call);
    t1 = fw_ticks();
    check(rc == IMAP_OK && rp.pos >= fetch_to, "figures: the replayed session ran");
    if (rc == IMAP_OK)
        say("figure: %s engine+parse+decode instr/byte %t (replayed from memory, %u-byte reads)",
            FW_CPU, per_byte_x10(instr(t1 - t0), bytes), (unsigned long)IMAP_READ_CHUNK);
    else
        say("fw: replay failed: %s", imap_result_str(rc));
    n = sink_figure(4096, 524288);
    say("figure: %s body-sink instr/byte %h (4096-byte chunks)", FW_CPU, per_byte_x100(n, 524288));
    n = sink_figure(64, 524288);
    say("figure: %s body-sink instr/byte %h (64-byte chunks)", FW_CPU, per_byte_x100(n, 524288));
}
#endif

/* ---- the Dovecot session --------------------------------------------- */

static int session_dovecot(int part)
{
    imap_transport uart = uart_transport();
    imap_call call;
    decode_stats st;
    body_sum bs;
    imap_u64 before;
    imap_str caps;
    char uid[24];
    const char *args[2];
    int rc, i;
#ifdef FW_FIGURES
    size_t fetch_from, fetch_to;
#endif

    client_setup(&client, client_mem, FW_MEM_BYTES);
    imap_client_on_untagged(&client, on_untagged, NULL);
    imap_parser_set_sink(imap_client_parser(&client), FW_SINK_THRESHOLD, body_sink, &bs);
    say("fw: %s sizeof(imap_client) %u, client memory %u (parser %u)", FW_CPU,
        (unsigned long)sizeof client, (unsigned long)FW_MEM_BYTES,
        (unsigned long)imap_client_parser(&client)->arena.cap);

    rc = imap_client_open(&client, &uart);
    check(rc == IMAP_OK, "greeting");
    if (rc != IMAP_OK) return say("fw: open: %s", imap_result_str(rc)), 1;
    check(client.state == IMAP_STATE_AUTH, "PREAUTH greeting: authenticated state");
    rc = imap_capability(&client, NULL);
    check(rc == IMAP_OK, "CAPABILITY");
    caps = imap_client_capabilities(&client);
    say("fw: capabilities %u bytes, IDLE %d", (unsigned long)caps.len,
        imap_client_has_cap(&client, "IDLE"));
    check(imap_client_has_cap(&client, "IDLE"), "CAPABILITY lists IDLE");
    rc = imap_select(&client, "INBOX", 0, NULL);
    check(rc == IMAP_OK, "SELECT INBOX");
    say("fw: SELECT %s, %U messages", imap_result_str(rc), client.exists);

    memset(&st, 0, sizeof st);
    memset(&call, 0, sizeof call);
    call.on_data = on_fetch;
    call.arg = &st;
#ifdef FW_FIGURES
    fetch_from = rec_len;
#endif
    rc = imap_fetch(&client, "1:*", "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)", &call);
#ifdef FW_FIGURES
    fetch_to = rec_len;
    rec_off = 1;                    /* the figures need no more */
#endif
    say("fw: FETCH 1:* %s: %u of %U decoded (%u envelopes, %u addresses, %u body parts, %u params, %u bad)",
        imap_result_str(rc), st.fetches, client.exists, st.envelopes, st.addresses, st.parts,
        st.params, st.bad);
    check(st.bad == 0, "every envelope and body structure decodes");
    check(st.fetches > 0 && st.envelopes == st.fetches, "an envelope in every FETCH");
#ifdef FW_SMALL
    /* responses that do not fit are skipped with their code */
    check(rc == IMAP_E_NOMEM, "FETCH 1:* in 4 KiB: the skipped responses' code is IMAP_E_NOMEM");
    check(st.fetches < client.exists, "FETCH 1:* in 4 KiB: some responses were skipped");
    say("fw: skipped %U responses (%s), parser high-water %u", client.exists - st.fetches,
        imap_result_str(rc), (unsigned long)imap_parser_high_water(imap_client_parser(&client)));
#else
    check(rc == IMAP_OK, "FETCH 1:*");
    check(st.fetches == client.exists, "FETCH 1:*: a response per message");
    say("fw: parser high-water %u", (unsigned long)imap_parser_high_water(imap_client_parser(&client)));
#endif

    /* the largest message (sizes asked apart: those responses fit any
       build), then its body through the sink */
    {
        decode_stats sz;
        memset(&sz, 0, sizeof sz);
        call.arg = &sz;
        args[0] = "1:*";
        args[1] = "(RFC822.SIZE)";
        rc = imap_uid(&client, "FETCH", args, 2, &call);
        check(rc == IMAP_OK && sz.fetches == client.exists, "UID FETCH 1:* (RFC822.SIZE)");
        st.max_uid = sz.max_uid;
    }
    memset(&bs, 0, sizeof bs);
    {
        imap_u64 u = st.max_uid;
        int n = 0;
        char t[24];
        do {
            t[n++] = (char)('0' + (int)(u % 10));
            u /= 10;
        } while (u);
        for (i = 0; n; i++) uid[i] = t[--n];
        uid[i] = 0;
    }
    args[0] = uid;
    args[1] = part ? "(BODY.PEEK[]<0.131072>)" : "(BODY.PEEK[])";
    rc = imap_uid(&client, "FETCH", args, 2, NULL);
    check(rc == IMAP_OK, "UID FETCH BODY.PEEK[] through the sink");
    check(!bs.order_bad && bs.bytes == bs.total && bs.bytes > 0, "the sink got the body in order, whole");
    say("fw: body uid=%s bytes=%U cksum=%u (%s)", uid, bs.bytes, cksum_end(bs.crc, bs.bytes),
        imap_result_str(rc));

    before = client.exists;
    untagged_exists = 0;
    say("fw: idle from %U", before);
    for (i = 0; i < 4 && client.exists <= before; i++) {
        rc = imap_idle(&client, 20000, NULL);
        if (rc != IMAP_OK) break;
    }
    check(rc == IMAP_OK && client.exists > before, "IDLE ended by the delivered message's EXISTS");
    check(untagged_exists > 0, "on_untagged got the EXISTS of a blocking IDLE");
    say("fw: idle %s: exists %U, on_untagged EXISTS %u", imap_result_str(rc), client.exists,
        untagged_exists);

    rc = imap_logout(&client, NULL);
    check(rc == IMAP_OK, "LOGOUT");
    imap_client_close(&client);
    say("fw: logout %s", imap_result_str(rc));
#ifdef FW_FIGURES
    figures(fetch_from, fetch_to);
#endif
    say("figure: %s stack high-water %u bytes (painted, whole session)", FW_CPU, fw_stack_used());
    return 0;
}

/* ---- crafted edge sessions (tests/firmware/edge.pl) ------------------- */

typedef struct edge_seen {
    unsigned long fetches;
    imap_u64 number, uid, modseq[3];
    int modseq_rc[3];
    long long date;
    int date_rc;
    int subject_ok;         /* strings live only during the callback */
} edge_seen;

static void on_edge(void *arg, imap_client *c, const imap_response *r)
{
    edge_seen *e = (edge_seen *)arg;
    const imap_value *v, *m;
    imap_u64 uid = 0;
    (void)c;
    if (!imap_response_is(r, "FETCH")) return;
    e->number = r->number;
    if ((v = imap_fetch_get(r, "UID")) != NULL) (void)imap_value_u64(v, &uid);
    if ((v = imap_fetch_get(r, "MODSEQ")) != NULL && e->fetches < 3) {
        m = imap_list_at(v, 0);
        e->modseq_rc[e->fetches] = imap_value_u64(m, &e->modseq[e->fetches]);
    }
    if (e->fetches == 0) {
        imap_envelope env;
        e->uid = uid;
        e->date_rc = imap_fetch_internaldate(r, NULL, &e->date);
        if ((v = imap_fetch_get(r, "ENVELOPE")) != NULL && imap_envelope_decode(v, &env) == 0)
            e->subject_ok = imap_str_is(env.subject, "after 2038");
    }
    e->fetches++;
}

static int session_edge(void)
{
    imap_transport uart = uart_transport();
    imap_call call;
    edge_seen e;
    int rc;
    const char *args[2];

    client_setup(&client, client_mem, FW_MEM_BYTES);
    rc = imap_client_open(&client, &uart);
    check(rc == IMAP_OK, "edge: greeting");
    rc = imap_select(&client, "INBOX", 0, NULL);
    check(rc == IMAP_OK, "edge: SELECT");
    /* 2^32 messages: one past what 32 bits hold */
    check(client.exists == 4294967296ull, "edge: EXISTS 4294967296 kept whole");
    say("fw: edge SELECT %s: exists %U", imap_result_str(rc), client.exists);

    memset(&e, 0, sizeof e);
    memset(&call, 0, sizeof call);
    call.on_data = on_edge;
    call.arg = &e;
    /* sets hold 1 .. 2^32-1 (RFC 3501 §9 nz-number): 2^32 is refused
       before anything is sent */
    rc = imap_fetch(&client, "4294967296", "(UID)", &call);
    check(rc == IMAP_E_ARGS && e.fetches == 0, "edge: FETCH 4294967296 refused (IMAP_E_ARGS)");
    rc = imap_fetch(&client, "4294967295:*", "(UID MODSEQ INTERNALDATE ENVELOPE)", &call);
    check(rc == IMAP_OK && e.fetches == 3, "edge: FETCH 4294967295:* answered for message 2^32");
    check(e.number == 4294967296ull, "edge: FETCH message number 2^32");
    check(e.uid == 4294967297ull, "edge: UID 2^32+1 read whole");
    check(e.modseq_rc[0] == 0 && e.modseq[0] == 9223372036854775807ull, "edge: MODSEQ 2^63-1");
    check(e.modseq_rc[1] == 0 && e.modseq[1] == 18446744073709551615ull, "edge: MODSEQ 2^64-1");
    check(e.modseq_rc[2] == IMAP_E_SYNTAX, "edge: MODSEQ 2^64 refused (IMAP_E_SYNTAX), not wrapped");
    /* 07-Feb-2106 06:28:16 +0000 is 2^32 seconds: past 2038 and past u32 */
    check(e.date_rc == 0 && e.date == 4294967296ll, "edge: INTERNALDATE in 2106 as 2^32 seconds");
    check(e.subject_ok, "edge: ENVELOPE of the far-future message");
    say("fw: edge FETCH %s: %u responses, number %U, uid %U, modseq %U %U rc %d, date %U",
        imap_result_str(rc), e.fetches, e.number, e.uid, e.modseq[0], e.modseq[1],
        e.modseq_rc[2], (imap_u64)e.date);

    args[0] = "4294967295:4294967296";
    args[1] = "(FLAGS)";
    memset(&e, 0, sizeof e);
    rc = imap_uid(&client, "FETCH", args, 2, &call);
    check(rc == IMAP_E_ARGS, "edge: UID FETCH 4294967295:4294967296 refused (IMAP_E_ARGS)");
    args[0] = "4294967295";
    rc = imap_uid(&client, "FETCH", args, 2, &call);
    check(rc == IMAP_OK && e.fetches == 1 && e.number == 1, "edge: UID FETCH 4294967295 (the largest UID)");
    rc = imap_logout(&client, NULL);
    check(rc == IMAP_OK, "edge: LOGOUT");
    imap_client_close(&client);
    return 0;
}

/* A literal of 4 or 5 GiB announced: refused at the default limit, or
   (raised limit) its sink sees the true length; edge.pl then drops the
   line and the call ends in a clean error. */
typedef struct big_sink {
    imap_u64 total, bytes, last_offset;
    unsigned long calls;
} big_sink;

static int big_sink_fn(void *ctx, const imap_literal_info *info, const void *data, size_t len)
{
    big_sink *b = (big_sink *)ctx;
    (void)data;
    b->total = info->total;
    b->last_offset = info->offset;
    b->bytes += len;
    b->calls++;
    return 0;
}

static int session_literal(int gib, int raised)
{
    imap_transport uart = uart_transport();
    imap_u64 want = (imap_u64)gib << 30;
    big_sink b;
    imap_parser *p;
    int rc;
    memset(&b, 0, sizeof b);
    client_setup(&client, client_mem, FW_MEM_BYTES);
    imap_client_set_timeout(&client, 4000);     /* edge.pl stalls mid-literal */
    p = imap_client_parser(&client);
    imap_parser_set_sink(p, FW_SINK_THRESHOLD, big_sink_fn, &b);
    if (raised) p->max_literal = (imap_u64)1 << 40;
    rc = imap_client_open(&client, &uart);
    check(rc == IMAP_OK, "literal: greeting");
    rc = imap_select(&client, "INBOX", 0, NULL);
    check(rc == IMAP_OK, "literal: SELECT");
    rc = imap_fetch(&client, "1", "(BODY.PEEK[])", NULL);
    say("fw: %d GiB literal (limit %s): %s, parser error %s, sink total %U, %U bytes sunk, last offset %U",
        gib, raised ? "2^40" : "default", imap_result_str(rc), imap_result_str(p->error),
        b.total, b.bytes, b.last_offset);
    check(rc < 0, "literal: the call ends in an error when the server stalls mid-literal");
    if (!raised) {
        check(p->error == IMAP_E_LIMIT && b.calls == 0,
              "literal: over the default limit (4 GiB - 1): IMAP_E_LIMIT, nothing sunk");
    } else {
        check(b.calls > 0 && b.total == want, "literal: the sink sees the whole length as imap_u64");
        /* edge.pl sends 64 KiB of it; how much arrives in time varies */
        check(b.bytes > 0 && b.bytes <= 65536 && b.last_offset < b.bytes,
              "literal: offsets count the bytes that came");
    }
    imap_client_close(&client);
    return 0;
}

/* No UART: 5 GiB through a parser in memory, for what a 32-bit size_t
   would wrap: the sunk node's length, the offsets after it. */
#ifdef FW_FIGURES
static int u64_self_test(void)
{
    static const char head[] = "* 7 FETCH (UID 8 BODY[] {5368709120}\r\n";
    static const char tail[] = ")\r\n* 9 EXISTS\r\n* 1 FETCH ((";
    const imap_u64 big = (imap_u64)5 << 30;
    imap_u64 left = big;
    big_sink b;
    imap_response *r;
    const imap_value *v;
    size_t used, off;
    int rc, seen = 0;
    memset(&b, 0, sizeof b);
    memset(chunk, 'y', sizeof chunk);
    imap_parser_init(&rparser, rmem, FW_PARSER_BYTES);
    rparser.max_literal = (imap_u64)1 << 40;
    imap_parser_set_sink(&rparser, 1024, big_sink_fn, &b);
    rc = imap_parser_feed(&rparser, head, sizeof head - 1, &used, &r);
    while (left) {
        size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
        rc = imap_parser_feed(&rparser, chunk, n, &used, &r);
        if (rc != IMAP_MORE || used != n) break;
        left -= n;
    }
    check(left == 0 && b.bytes == big && b.total == big, "u64: 5 GiB into the sink, total 5 GiB");
    check(b.last_offset == big - sizeof chunk, "u64: the last chunk's offset past 4 GiB");
    off = 0;
    while (off < sizeof tail - 1) {
        rc = imap_parser_feed(&rparser, tail + off, sizeof tail - 1 - off, &used, &r);
        off += used;
        if (rc != IMAP_OK) break;
        if (seen == 0) {
            v = imap_fetch_get(r, "BODY[]");
            check(v && (v->flags & IMAP_VF_SUNK) && v->num == big,
                  "u64: the sunk literal's node holds 5 GiB (num), not 1 GiB");
            check(v && v->len == (size_t)-1, "u64: its size_t len saturates on 32 bits");
            check(r->offset == 0 && r->raw_len < 100, "u64: the response's own offset");
        } else {
            check(imap_response_is(r, "EXISTS") &&
                  r->offset == sizeof head - 1 + big + 3, "u64: the next response's offset past 5 GiB");
        }
        seen++;
    }
    check(seen == 2, "u64: both responses complete");
    rc = imap_parser_feed(&rparser, ")\r\n", 3, &used, &r);
    check(rc == IMAP_E_SYNTAX && rparser.error_offset >= sizeof head - 1 + big + 3 + 14 &&
          rparser.error_offset < sizeof head - 1 + big + 3 + 14 + 20,
          "u64: a rejection's error_offset past 5 GiB");
    say("fw: u64 5 GiB literal: sunk %U bytes in %u calls; error_offset %U", b.bytes, b.calls,
        (imap_u64)rparser.error_offset);
    return 0;
}
#endif

int main(void)
{
    char cmd[160];
    const char *mode;
    struct { char *buf; long len; } blk;
    blk.buf = cmd;
    blk.len = sizeof cmd;
    if (fw_semihost(0x15, &blk) != 0) blk.len = 0;    /* SYS_GET_CMDLINE */
    cmd[blk.len < (long)sizeof cmd ? blk.len : (long)sizeof cmd - 1] = 0;
    /* QEMU gives "IMAGE ARGS": the mode is the last word */
    mode = strrchr(cmd, ' ') ? strrchr(cmd, ' ') + 1 : cmd;
    say("fw: %s mode '%s'", FW_CPU, mode);
    if (strcmp(mode, "edge") == 0) session_edge();
    else if (strcmp(mode, "lit4") == 0) session_literal(4, 0);
    else if (strcmp(mode, "lit5") == 0) session_literal(5, 0);
    else if (strcmp(mode, "lit5sink") == 0) session_literal(5, 1);
#ifdef FW_FIGURES
    else if (strcmp(mode, "u64") == 0) u64_self_test();
#endif
    else if (strcmp(mode, "dovecot-part") == 0) session_dovecot(1);
    else session_dovecot(0);
    say("fw: %s %s (%d failed)", FW_CPU, failures ? "FAILED" : "ok", failures);
    return failures;
}
