/* A firmware that faults on purpose (tests/firmware/run.sh): the fault
   handler must report it and exit 3, never hang. FAULT_UNALIGNED: a word
   load from an odd address (ARMv6-M build, CCR.UNALIGN_TRP on);
   otherwise a hardware divide by zero (v7-M, CCR.DIV_0_TRP on). */
#include "fw.h"

int main(void)
{
    static unsigned long w[2] = { 0x04030201ul, 0x08070605ul };
    unsigned long v;
#ifdef FAULT_UNALIGNED
    const char *p = (const char *)w + 1;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(p));
#else
    unsigned long zero = w[1] - w[1];
    __asm__ volatile("udiv %0, %1, %2" : "=r"(v) : "r"(w[0]), "r"(zero));
#endif
    fw_puts("FAIL no fault\n");
    return (int)(v & 1) + 1;
}
