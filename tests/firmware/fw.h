/* tests/firmware: what fw_start.c gives the firmware images. */
#ifndef FW_H
#define FW_H
#ifndef FW_TRAPS
#define FW_TRAPS 0
#endif
long fw_semihost(long op, const void *arg);
void fw_puts(const char *s);
void fw_exit(int code);
long long fw_host_ms(void);
unsigned long long fw_ticks(void);       /* 25 MHz timer ticks */
unsigned long fw_stack_used(void);       /* painted-stack high-water */
unsigned long fw_stack_size(void);
#endif
