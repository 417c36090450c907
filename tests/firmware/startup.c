/* Minimal Cortex-M start-up for tests/firmware: the vector table's first
   two words (initial stack, reset), .data copied from flash, .bss zeroed,
   then main. Enough for a linked image whose sizes mean something. */
extern unsigned long _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void Reset_Handler(void);
void Default_Handler(void);

void Reset_Handler(void)
{
    unsigned long *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    (void)main();
    for (;;) {}
}

void Default_Handler(void)
{
    for (;;) {}
}

__attribute__((section(".isr_vector"), used))
static void *const vectors[16] = {
    &_estack, (void *)Reset_Handler, (void *)Default_Handler, (void *)Default_Handler,
};
