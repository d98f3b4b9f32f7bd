/* QEMU microbit (nRF51822: Cortex-M0, 256 KiB flash, 16 KiB RAM): the UART at 0x40002000
 * (tasks STARTTX/STARTRX, registers TXD/RXD, events TXDRDY/RXDRDY, polled), TIMER0 at
 * 0x40008000 as a free-running 1 MHz counter read through a capture task, and the RNG at
 * 0x4000D000 for the boot seed.
 *
 * What QEMU 7.2's nrf51 UART model does (hw/char/nrf51_uart.c): ENABLE must be 4; a write to
 * TXD while the previous byte is pending is ignored, so every byte waits for TXDRDY; RXD pops
 * a 6-byte receive FIFO and sets RXDRDY again while bytes remain (QEMU holds back input while
 * the FIFO is full, so a polled receiver loses nothing). */
#include "board.h"

#define REG(base, off) (*(volatile uint32_t *)((base) + (off)))
#define UART 0x40002000u
#define UART_STARTRX REG(UART, 0x000)
#define UART_STARTTX REG(UART, 0x008)
#define UART_RXDRDY REG(UART, 0x108)
#define UART_TXDRDY REG(UART, 0x11C)
#define UART_ENABLE REG(UART, 0x500)
#define UART_PSELTXD REG(UART, 0x50C)
#define UART_PSELRXD REG(UART, 0x514)
#define UART_RXD REG(UART, 0x518)
#define UART_TXD REG(UART, 0x51C)
#define UART_BAUDRATE REG(UART, 0x524)
#define TIMER0 0x40008000u
#define TIMER_START REG(TIMER0, 0x000)
#define TIMER_CLEAR REG(TIMER0, 0x00C)
#define TIMER_CAPTURE0 REG(TIMER0, 0x040)
#define TIMER_MODE REG(TIMER0, 0x504)
#define TIMER_BITMODE REG(TIMER0, 0x508)
#define TIMER_PRESCALER REG(TIMER0, 0x510)
#define TIMER_CC0 REG(TIMER0, 0x540)
#define RNG 0x4000D000u
#define RNG_START REG(RNG, 0x000)
#define RNG_STOP REG(RNG, 0x004)
#define RNG_VALRDY REG(RNG, 0x100)
#define RNG_VALUE REG(RNG, 0x508)

const char BOARD_NAME[] = "microbit (nRF51822, Cortex-M0, 16 KiB RAM)";

void paint_free_stack(void);

void board_init(void) {
    paint_free_stack();
    UART_PSELTXD = 24; /* the micro:bit's USB bridge pins */
    UART_PSELRXD = 25;
    UART_BAUDRATE = 0x01D7E000u; /* 115200 Bd */
    UART_ENABLE = 4;
    UART_TXDRDY = 0;
    UART_RXDRDY = 0;
    UART_STARTTX = 1;
    UART_STARTRX = 1;
    TIMER_MODE = 0;      /* timer */
    TIMER_BITMODE = 3;   /* 32 bits */
    TIMER_PRESCALER = 4; /* 16 MHz / 2^4 = 1 MHz */
    TIMER_CLEAR = 1;
    TIMER_START = 1;
}

uint64_t board_millis(void) {
    static uint32_t last, wraps;
    uint32_t us;
    TIMER_CAPTURE0 = 1;
    us = TIMER_CC0;
    if (us < last) wraps++;
    last = us;
    return (((uint64_t)wraps << 32) | us) / 1000u;
}

size_t board_uart_read(uint8_t *buf, size_t cap) {
    size_t n = 0;
    while (n < cap && UART_RXDRDY) {
        UART_RXDRDY = 0; /* clear first: reading RXD sets it again while bytes remain */
        buf[n++] = (uint8_t)UART_RXD;
    }
    return n;
}

void board_uart_write(const uint8_t *p, size_t n) {
    while (n--) {
        UART_TXD = *p++;
        while (!UART_TXDRDY) {}
        UART_TXDRDY = 0;
    }
}

uint64_t board_seed(void) {
    uint64_t seed = 0;
    int i;
    RNG_START = 1;
    for (i = 0; i < 8; i++) {
        while (!RNG_VALRDY) {}
        RNG_VALRDY = 0;
        seed = (seed << 8) | (RNG_VALUE & 0xFFu);
    }
    RNG_STOP = 1;
    return seed;
}
