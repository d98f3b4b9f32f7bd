/* QEMU mps2-an386 (Cortex-M4F, 25 MHz): CMSDK APB UART0 at 0x40004000 polled, SysTick at
 * 1 kHz, the boot seed from the semihosting command line ("seed=N": QEMU has no RNG or
 * non-volatile memory here, so the test passes a new one on every start). */
#include <string.h>

#include "board.h"

#define UART0_DATA (*(volatile uint32_t *)0x40004000u)
#define UART0_STATE (*(volatile uint32_t *)0x40004004u)
#define UART0_CTRL (*(volatile uint32_t *)0x40004008u)
#define UART0_BAUDDIV (*(volatile uint32_t *)0x40004010u)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

const char BOARD_NAME[] = "mps2-an386 (Cortex-M4F)";

void paint_free_stack(void);

static volatile uint32_t ticks_ms;
void SysTick_Handler(void) { ticks_ms++; }

void board_init(void) {
    paint_free_stack();
    UART0_BAUDDIV = 16;
    UART0_CTRL = 3u; /* TX and RX enabled, no interrupts: polled */
    SYST_RVR = 25000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* core clock, interrupt, enable */
}

uint64_t board_millis(void) { return ticks_ms; }

size_t board_uart_read(uint8_t *buf, size_t cap) {
    size_t n = 0;
    while (n < cap && (UART0_STATE & 2u)) buf[n++] = (uint8_t)UART0_DATA;
    return n;
}

void board_uart_write(const uint8_t *p, size_t n) {
    while (n--) {
        while (UART0_STATE & 1u) {} /* TX buffer full */
        UART0_DATA = *p++;
    }
}

/* One semihosting call: operation in r0, argument block in r1, result in r0. */
__attribute__((naked, noinline)) static uint32_t semihost(uint32_t op, void *block) {
    (void)op;
    (void)block;
    __asm volatile("bkpt 0xab\n bx lr");
}

/* SYS_GET_CMDLINE (0x15): "seed=N" among QEMU's semihosting arguments. */
uint64_t board_seed(void) {
    char cmd[64];
    struct {
        char *buf;
        int len;
    } block = {cmd, (int)sizeof cmd - 1};
    uint64_t seed = 0;
    const char *s;
    size_t i;
    memset(cmd, 0, sizeof cmd);
    if (semihost(0x15, &block) != 0) return 0;
    for (i = 0; i + 5 < sizeof cmd; i++) {
        if (memcmp(cmd + i, "seed=", 5) == 0) {
            for (s = cmd + i + 5; *s >= '0' && *s <= '9'; s++) seed = seed * 10u + (uint64_t)(*s - '0');
            break;
        }
    }
    return seed;
}
