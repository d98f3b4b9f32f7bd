/* What the firmware test programs need from a board: a UART, a millisecond clock, a seed that
 * differs on every boot, and the stack's high-water mark. board_mps2.c (QEMU mps2-an386,
 * Cortex-M4F) and board_nrf51.c (QEMU microbit, nRF51822 Cortex-M0) implement it. */
#ifndef FERRULE_BOARD_H
#define FERRULE_BOARD_H
#include <stddef.h>
#include <stdint.h>

/* Sets up the UART (115200 Bd, polled), the clock and the stack paint. */
void board_init(void);
/* Board name for reports. */
extern const char BOARD_NAME[];
/* Milliseconds since board_init(). */
uint64_t board_millis(void);
/* Takes up to `cap` bytes the UART has received; returns how many. */
size_t board_uart_read(uint8_t *buf, size_t cap);
/* Sends `len` bytes on the UART (waits until each is taken). */
void board_uart_write(const uint8_t *buf, size_t len);
/* 64 bits that differ on every boot. */
uint64_t board_seed(void);
/* Deepest the stack has been since board_init() (painted at boot), in bytes. */
uint32_t board_stack_peak(void);

#endif
