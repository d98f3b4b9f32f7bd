//! What embassy needs from QEMU's mps2-an386 that no HAL crate provides: an async UART over
//! the CMSDK APB UART0 (interrupt-driven), an `embassy-time` driver on SysTick (1 kHz), and
//! the boot seed from the semihosting command line (QEMU has no RNG or non-volatile memory
//! here: the test passes a new seed on every boot).
//!
//! UART0 is at 0x4000_4000; its receive interrupt is IRQ 0 and its transmit interrupt IRQ 1.
//! QEMU's model holds one byte each way and never drops one (it waits for the guest to read),
//! so a byte-at-a-time driver loses nothing; a real board would use a FIFO or DMA ring.

use core::cell::{Cell, RefCell};
use core::convert::Infallible;
use core::future::poll_fn;
use core::ptr::{read_volatile, write_volatile};
use core::task::{Poll, Waker};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_sync::waitqueue::AtomicWaker;
use embassy_time_queue_utils::Queue;

const UART0: usize = 0x4000_4000;
const DATA: usize = UART0;
const STATE: usize = UART0 + 0x4;
const CTRL: usize = UART0 + 0x8;
const INTSTATUS: usize = UART0 + 0xc;
const BAUDDIV: usize = UART0 + 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_TX_INT: u32 = 1 << 2;
const CTRL_RX_INT: u32 = 1 << 3;
const INT_TX: u32 = 1 << 0;
const INT_RX: u32 = 1 << 1;

const IRQ_UART0_RX: i16 = 0;
const IRQ_UART0_TX: i16 = 1;

/// The core clock of the mps2-an386 image.
const CORE_HZ: u32 = 25_000_000;

static RX_WAKER: AtomicWaker = AtomicWaker::new();
static TX_WAKER: AtomicWaker = AtomicWaker::new();

fn reg(addr: usize) -> u32 {
    // SAFETY: a UART0 register of the mps2-an386 memory map, always mapped.
    unsafe { read_volatile(addr as *const u32) }
}

fn set_reg(addr: usize, value: u32) {
    // SAFETY: as `reg`.
    unsafe { write_volatile(addr as *mut u32, value) }
}

/// Changes UART0's CTRL register with interrupts masked (the handlers change it too).
fn update_ctrl(f: impl FnOnce(u32) -> u32) {
    critical_section::with(|_| set_reg(CTRL, f(reg(CTRL))));
}

/// Sets up UART0, the UART interrupts and the 1 kHz SysTick.
pub fn init(mut syst: cortex_m::peripheral::SYST, nvic: &mut cortex_m::peripheral::NVIC) {
    set_reg(BAUDDIV, 16);
    set_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN);
    for irq in [IRQ_UART0_RX, IRQ_UART0_TX] {
        // SAFETY: both handlers are ready (DefaultHandler below); nothing relies on masking.
        unsafe { nvic.set_priority(Irq(irq as u16), 0x40) };
        // SAFETY: as above.
        unsafe { cortex_m::peripheral::NVIC::unmask(Irq(irq as u16)) };
    }
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[derive(Clone, Copy)]
struct Irq(u16);

// SAFETY: the numbers are interrupt lines of the mps2-an386 NVIC.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}

/// The receive half of UART0.
pub struct UartRx(());
/// The transmit half of UART0.
pub struct UartTx(());

/// The two halves (call once).
pub fn uart() -> (UartRx, UartTx) {
    (UartRx(()), UartTx(()))
}

impl embedded_io_async::ErrorType for UartRx {
    type Error = Infallible;
}

impl embedded_io_async::ErrorType for UartTx {
    type Error = Infallible;
}

impl embedded_io_async::Read for UartRx {
    /// Cancel-safe: a byte leaves the UART only in the poll that returns it.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut n = 0;
            while n < buf.len() && reg(STATE) & STATE_RX_FULL != 0 {
                buf[n] = reg(DATA) as u8;
                n += 1;
            }
            if n > 0 {
                return Poll::Ready(Ok(n));
            }
            RX_WAKER.register(cx.waker());
            update_ctrl(|c| c | CTRL_RX_INT);
            // A byte that arrived before the interrupt was enabled raised none: look again.
            if reg(STATE) & STATE_RX_FULL != 0 {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }
}

impl embedded_io_async::Write for UartTx {
    /// Cancel-safe: a byte is written to the UART only in the poll that counts it.
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut n = 0;
            while n < buf.len() && reg(STATE) & STATE_TX_FULL == 0 {
                set_reg(DATA, u32::from(buf[n]));
                n += 1;
            }
            if n > 0 {
                return Poll::Ready(Ok(n));
            }
            TX_WAKER.register(cx.waker());
            update_ctrl(|c| c | CTRL_TX_INT);
            if reg(STATE) & STATE_TX_FULL == 0 {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(()) // the UART holds at most one byte, on its way out
    }
}

/// The UART interrupts (every other one is unexpected: parked).
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    match irqn {
        IRQ_UART0_RX => {
            set_reg(INTSTATUS, INT_RX);
            update_ctrl(|c| c & !CTRL_RX_INT);
            RX_WAKER.wake();
        }
        IRQ_UART0_TX => {
            set_reg(INTSTATUS, INT_TX);
            update_ctrl(|c| c & !CTRL_TX_INT);
            TX_WAKER.wake();
        }
        _ => loop {
            cortex_m::asm::wfi();
        },
    }
}

/// `embassy-time`'s driver: SysTick counts milliseconds (`tick-hz-1_000`); each tick wakes the
/// timers that are due.
struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    next_alarm: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    next_alarm: Mutex::new(Cell::new(u64::MAX)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

impl embassy_time_driver::Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow(cs).borrow_mut();
            if queue.schedule_wake(at, waker) {
                let now = self.ticks.borrow(cs).get();
                self.next_alarm.borrow(cs).set(queue.next_expiration(now));
            }
        });
    }
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let ticks = DRIVER.ticks.borrow(cs);
        let now = ticks.get() + 1;
        ticks.set(now);
        let alarm = DRIVER.next_alarm.borrow(cs);
        if now >= alarm.get() {
            alarm.set(DRIVER.queue.borrow(cs).borrow_mut().next_expiration(now));
        }
    });
}

/// `seed=N` from QEMU's semihosting arguments (SYS_GET_CMDLINE), or 0.
pub fn seed() -> u64 {
    let mut cmd = [0u8; 96];
    // SAFETY: GET_CMDLINE writes at most `len - 1` bytes and a NUL into `cmd`.
    let failed =
        unsafe { cortex_m_semihosting::syscall!(GET_CMDLINE, cmd.as_mut_ptr(), cmd.len() - 1) };
    if failed != 0 {
        return 0;
    }
    let Some(at) = cmd.windows(5).position(|w| w == b"seed=") else {
        return 0;
    };
    cmd[at + 5..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |s, b| {
            s.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
        })
}
