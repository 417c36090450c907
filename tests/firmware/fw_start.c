/* Start-up for the QEMU firmware tests (tests/firmware/run.sh): vector
   table, .data/.bss set-up, a painted stack, semihosting console and exit,
   and fault handlers that report CFSR/HFSR/PC and exit non-zero so a
   HardFault fails the test instead of hanging it. */
#include "fw.h"

extern unsigned long _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

#define FW_PAINT 0xA5A5A5A5ul
#define SCB_CCR (*(volatile unsigned long *)0xE000ED14)
#define SCB_CFSR (*(volatile unsigned long *)0xE000ED28)
#define SCB_HFSR (*(volatile unsigned long *)0xE000ED2C)
#define SCB_CPACR (*(volatile unsigned long *)0xE000ED88)
#define TIMER0 ((volatile unsigned long *)0x40000000)

/* ARM semihosting: BKPT 0xAB with the operation in r0, its argument in r1 */
long fw_semihost(long op, const void *arg)
{
    register long r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void fw_puts(const char *s) { (void)fw_semihost(0x04, s); }   /* SYS_WRITE0 */

void fw_exit(int code)
{
    /* SYS_EXIT_EXTENDED: ADP_Stopped_ApplicationExit with a status */
    unsigned long blk[2];
    blk[0] = 0x20026ul;
    blk[1] = (unsigned long)code;
    (void)fw_semihost(0x20, blk);
    for (;;) {}
}

long long fw_host_ms(void)
{
    /* SYS_ELAPSED is QEMU's host clock; SYS_TICKFREQ its rate */
    static long freq;
    unsigned long t[2];
    if (!freq) freq = fw_semihost(0x31, 0);
    if (freq <= 0 || fw_semihost(0x30, t) != 0) return 0;
    return (long long)((((unsigned long long)t[1] << 32) | t[0]) / (unsigned long long)(freq / 1000));
}

/* Timer 0 counts down at 25 MHz; read often enough, this never wraps. */
static unsigned long fw_last;
static unsigned long long fw_acc;
unsigned long long fw_ticks(void)
{
    unsigned long v = TIMER0[1];
    fw_acc += (unsigned long)(fw_last - v);
    fw_last = v;
    return fw_acc;
}

unsigned long fw_stack_used(void)
{
    unsigned long *p = &_sstack;
    while (p < &_estack && *p == FW_PAINT) p++;
    return (unsigned long)((char *)&_estack - (char *)p);
}

unsigned long fw_stack_size(void)
{
    return (unsigned long)((char *)&_estack - (char *)&_sstack);
}

static void fw_hex(char *o, unsigned long v)
{
    int i;
    for (i = 7; i >= 0; i--) {
        o[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
}

/* Byte stores only: an M4 build's string copies may be unaligned loads,
   which fault again here when the traps are on. */
static void fw_put_hex(const char *label, unsigned long v)
{
    char h[10];
    fw_hex(h, v);
    h[8] = ' ';
    h[9] = 0;
    fw_puts(label);
    fw_puts(h);
}

void fw_fault(unsigned long *frame)
{
    fw_put_hex("FAULT CFSR=", SCB_CFSR);
    fw_put_hex("HFSR=", SCB_HFSR);
    fw_put_hex("PC=", frame[6]);
    fw_puts("\n");
    fw_exit(3);
}

__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile("mrs r0, msp\n\tb fw_fault\n");
}

void Reset_Handler(void)
{
    unsigned long *src = &_sidata, *dst = &_sdata, *sp;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFul << 20;               /* the FPU, for hard-float code */
#endif
#if FW_TRAPS
    SCB_CCR |= (1ul << 3) | (1ul << 4);     /* UNALIGN_TRP, DIV_0_TRP */
#endif
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (dst = &_sstack; dst < sp - 16;) *dst++ = FW_PAINT;
    TIMER0[2] = 0xFFFFFFFFul;               /* RELOAD */
    TIMER0[1] = 0xFFFFFFFFul;               /* VALUE */
    TIMER0[0] = 1;                          /* enable */
    fw_last = TIMER0[1];
    fw_exit(main());
}

typedef void (*fw_vec)(void);
#define FH Fault_Handler
__attribute__((section(".isr_vector"), used))
static const fw_vec vectors[16] = {
    (fw_vec)(unsigned long)&_estack, Reset_Handler, FH, FH, FH, FH, FH, 0,
    0, 0, 0, FH, FH, 0, FH, FH,
};
