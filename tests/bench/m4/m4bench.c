/* Instructions per byte of imap.h's parser on a Cortex-M4 (QEMU
   mps2-an386, -icount shift=7: every instruction is 128 ns of virtual
   time, and timer 0 counts at 25 MHz, so instructions = ticks * 40 / 128).
   Run by tests/bench/m4.sh. The corpus (a slice of tests/bench/gen.py's)
   is linked into flash; it is fed to imap_parser_feed in 4 KiB chunks,
   first only parsed (the responses counted), then parsed and fully
   decoded with the same walk as the x86-64 harness (bench_walk.h).
   Prints "figure: ..." lines over semihosting; exits 0 when every
   response parsed. */
#define IMAP_NO_POSIX
#define IMAP_IMPLEMENTATION
#include "imap.h"
#include "../bench_walk.h"

#ifndef M4_LABEL
#define M4_LABEL "-Os"
#endif

extern const unsigned char _binary_corpus_bin_start[], _binary_corpus_bin_end[];
extern unsigned long _sidata, _sdata, _edata, _sbss, _ebss, _estack;
void Reset_Handler(void);
int main(void);

#define TIMER0 ((volatile unsigned long *)0x40000000)
#define SCB_CPACR (*(volatile unsigned long *)0xE000ED88)

static long semihost(long op, const void *arg)
{
    register long r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void out(const char *s) { (void)semihost(0x04, s); }  /* SYS_WRITE0 */

static void out_u(unsigned long long v)
{
    char b[24];
    int i = 23;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out(b + i);
}

/* v / 100 with two decimals */
static void out_c(unsigned long long v100)
{
    out_u(v100 / 100);
    out(".");
    if (v100 % 100 < 10) out("0");
    out_u(v100 % 100);
}

static void quit(int code)
{
    unsigned long blk[2];
    blk[0] = 0x20026ul;                     /* ADP_Stopped_ApplicationExit */
    blk[1] = (unsigned long)code;
    (void)semihost(0x20, blk);
    for (;;) {}
}

/* Timer 0 counts down from 0xFFFFFFFF; a pass is far shorter than a wrap
   (2^32 ticks = 13.7 G instructions). */
static unsigned long ticks(void) { return TIMER0[1]; }

static unsigned char arena[64 * 1024];

__attribute__((noinline))
static void pass(int decode, stats *st)
{
    const unsigned char *buf = _binary_corpus_bin_start;
    size_t len = (size_t)(_binary_corpus_bin_end - _binary_corpus_bin_start), off = 0;
    static imap_parser p;
    imap_parser_init(&p, arena, sizeof arena);
    imap_parser_set_sink(&p, 16384, sink, st);
    imap_parser_set_number_sink(&p, numsink, st);
    while (off < len) {
        size_t n = len - off < 4096 ? len - off : 4096;
        const unsigned char *s = buf + off;
        off += n;
        while (n > 0) {
            size_t used = 0;
            imap_response *r;
            imap_result rc = imap_parser_feed(&p, s, n, &used, &r);
            s += used;
            n -= used;
            if (rc == IMAP_OK) {
                if (decode) on_response(r, st);
                else st->responses++;
            } else if (rc < 0) {
                st->errors++;
            }
        }
    }
    st->check += imap_parser_high_water(&p);
}

int main(void)
{
    unsigned long long len = (unsigned long long)(_binary_corpus_bin_end - _binary_corpus_bin_start);
    unsigned long long ins[2];
    int k, bad = 0;
    for (k = 0; k < 2; k++) {
        stats st;
        unsigned long t0, t1;
        memset(&st, 0, sizeof st);
        t0 = ticks();
        pass(k, &st);
        t1 = ticks();
        ins[k] = (unsigned long long)(t0 - t1) * 40 / 128;
        if (st.errors) bad = 1;
        out("figure: m4 ");
        out(M4_LABEL);
        out(k ? " parse+decode " : " parse only ");
        out_u(ins[k]);
        out(" instructions for ");
        out_u(len);
        out(" bytes = ");
        out_c(ins[k] * 100 / len);
        out(" instr/B (responses ");
        out_u(st.responses);
        out(", errors ");
        out_u(st.errors);
        out(")\n");
    }
    return bad;
}

void Reset_Handler(void)
{
    unsigned long *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFul << 20;
#endif
    TIMER0[2] = 0xFFFFFFFFul;               /* RELOAD */
    TIMER0[1] = 0xFFFFFFFFul;               /* VALUE */
    TIMER0[0] = 1;                          /* enable */
    quit(main());
}

static void fault(void)
{
    out("FAULT\n");
    quit(3);
}

typedef void (*vec)(void);
__attribute__((section(".isr_vector"), used))
static const vec vectors[16] = {
    (vec)(unsigned long)&_estack, Reset_Handler, fault, fault, fault, fault, fault,
    0, 0, 0, 0, fault, fault, 0, fault, fault
};
