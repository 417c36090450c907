/* The NEON scanners of imap.h's parser, run: bare-metal AArch64 on QEMU's
   virt board (Cortex-A53), built by tests/neon/run.sh with clang and lld.
   fuzz/fuzz_simd.c proves the x86-64 (SSE2) scanners against the scalar
   ones; no ARM machine runs that, so this does the same for NEON: random
   buffers over the bytes that matter (atom and quoted-string stops,
   brackets, CR LF, 8-bit), every start offset, both atom modes; each
   SIMD answer must equal the scalar one. Prints "ok: ..." or "FAIL ..."
   over semihosting and exits with the status. The libc functions imap.h
   needs are the plain loops below (-ffreestanding: no libc). */
#define IMAP_NO_POSIX
#define IMAP_IMPLEMENTATION
#include "imap.h"
void *memcpy(void *d, const void *s, size_t n) { unsigned char *a = d; const unsigned char *b = s; while (n--) *a++ = *b++; return d; }
void *memmove(void *d, const void *s, size_t n) { unsigned char *a = d; const unsigned char *b = s; if (a < b) while (n--) *a++ = *b++; else while (n--) a[n] = b[n]; return d; }
void *memset(void *d, int c, size_t n) { unsigned char *a = d; while (n--) *a++ = (unsigned char)c; return d; }
int memcmp(const void *x, const void *y, size_t n) { const unsigned char *a = x, *b = y; for (; n; n--, a++, b++) if (*a != *b) return *a - *b; return 0; }
void *memchr(const void *s, int c, size_t n) { const unsigned char *a = s; for (; n; n--, a++) if (*a == (unsigned char)c) return (void *)a; return 0; }
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static long semi(long op, const void *arg) { register long x0 __asm__("x0") = op; register const void *x1 __asm__("x1") = arg; __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory"); return x0; }
static void quit(int code) { unsigned long blk[2] = { 0x20026ul, (unsigned long)code }; semi(0x18, blk); for (;;) {} }
static char buf[4096];
static unsigned long long rng = 88172645463325252ull;
static unsigned nextr(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (unsigned)rng; }
int main(void)
{
    static const char alpha[] = "aN0 \"\\()[]{}\r\n\x7f\x01\x80~%*]";
    unsigned long checks = 0;
    int round;
    semi(0x04, "simd check: " IMAP__SIMD "\n");
    for (round = 0; round < 400; round++) {
        int n = (int)(nextr() % 300), i, k, dens = 1 + (int)(nextr() % 40);
        for (i = 0; i < n; i++) buf[i] = (nextr() % (unsigned)dens) ? 'x' : alpha[nextr() % (sizeof alpha - 1)];
        for (i = 0; i <= n; i++)
            for (k = 0; k < 2; k++) {
                if (imap__atom_end(buf + i, buf + n, k) != imap__atom_end_scalar(buf + i, buf + n, k)) { semi(0x04, "FAIL atom\n"); quit(1); }
                if (imap__quoted_stop(buf + i, buf + n) != imap__quoted_stop_scalar(buf + i, buf + n)) { semi(0x04, "FAIL quoted\n"); quit(1); }
                checks++;
            }
    }
    semi(0x04, checks > 10000 ? "ok: SIMD scanners agree with the scalar ones\n" : "FAIL: too few\n");
    return 0;
}
void _start_c(void) { extern char __bss_start[], __bss_end[]; char *p; for (p = __bss_start; p < __bss_end; p++) *p = 0; quit(main()); }
__asm__(".section .text.start\n.global _start\n_start:\n ldr x0, =__stack_top\n mov sp, x0\n mov x0, #(3 << 20)\n msr cpacr_el1, x0\n isb\n bl _start_c\n1: b 1b\n");
