//! The ferrule link in RTIC 2, sans-IO, on QEMU's mps2-an386 (Cortex-M4F): the firmware half
//! of the UART request/response test (the protocol of `tests/firmware/uart_peer.c`; see
//! `examples-embedded/embassy-mps2` for it in full), against `ferrule firmware` at the other
//! end of QEMU's `-serial`.
//!
//! - `uart_rx`, a hardware task on UART0's receive interrupt (priority 2), feeds the bytes to
//!   the link as they arrive and signals `pump`;
//! - `pump`, an async software task (priority 1), writes the frames the link has, runs its
//!   timers, answers requests, and sleeps until the link's next deadline or the next signal;
//! - the link is an RTIC shared resource: each access is one short `lock`, and no frame is
//!   written to the UART while the lock is held.
//!
//! No async driver and no heap: the `Link` is driven directly (`handle_input`,
//! `poll_transmit`, `poll_timeout`, `handle_timeout`, `poll_event`, `recv`, `send`).
#![no_std]
#![no_main]

mod pac;

use core::fmt::Write as _;
use core::ptr::{read_volatile, write_volatile};

use cortex_m_rt as _; // the reset handler, vector table and linker script
use cortex_m_semihosting::hio;
use ferrule::link::{frame_buffer_len, max_frame_len, Config, Event, Link, LinkStorage, SendError};
use rtic_monotonics::rtic_time::monotonic::{TimerQueueBasedInstant, TimerQueueBasedMonotonic};
use rtic_monotonics::systick::prelude::*;

systick_monotonic!(Mono, 1_000);

const WINDOW: usize = 4;
const M: usize = 192;
type Storage = LinkStorage<WINDOW, M, { frame_buffer_len(M) }>;

const UART0: usize = 0x4000_4000;
const STATE_TX_FULL: u32 = 1;
const STATE_RX_FULL: u32 = 2;

fn reg(offset: usize) -> u32 {
    // SAFETY: a UART0 register of the mps2-an386 memory map.
    unsafe { read_volatile((UART0 + offset) as *const u32) }
}

fn set_reg(offset: usize, value: u32) {
    // SAFETY: as `reg`.
    unsafe { write_volatile((UART0 + offset) as *mut u32, value) }
}

fn uart_write(bytes: &[u8]) {
    for &b in bytes {
        while reg(4) & STATE_TX_FULL != 0 {}
        set_reg(0, u32::from(b));
    }
}

macro_rules! say {
    ($($arg:tt)*) => {{
        if let Ok(mut out) = hio::hstdout() {
            let _ = writeln!(out, $($arg)*);
        }
    }};
}

/// Milliseconds since boot.
fn now_ms() -> u64 {
    Mono::now().ticks()
}

/// The response to request `req` into `out`: `[i] 'F' reverse(text(i))`, or `[i] 'X'`.
fn answer(req: &[u8], out: &mut [u8; M]) -> (usize, bool) {
    let i = req
        .get(..4)
        .map_or(u32::MAX, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut rec = [0u8; 48];
    let mut w = Cursor(&mut rec, 0);
    let _ = write!(w, "{{\"n\":{i},\"t\":21.{},\"s\":\"ok\"}}", i % 10);
    let r = w.1;
    let tl = 24 + (i as usize * 37) % 160;
    out[..4].copy_from_slice(&i.to_le_bytes());
    let good = req.len() == 5 + tl
        && req[4] == b'H'
        && req[5..].iter().enumerate().all(|(k, &b)| b == rec[k % r]);
    if good {
        out[4] = b'F';
        for k in 0..tl {
            out[5 + k] = rec[(tl - 1 - k) % r];
        }
        (5 + tl, true)
    } else {
        out[4] = b'X';
        (5, false)
    }
}

struct Cursor<'a>(&'a mut [u8], usize);

impl core::fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.1 + s.len();
        self.0
            .get_mut(self.1..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.1 = end;
        Ok(())
    }
}

/// `seed=N` from QEMU's semihosting arguments, or 0.
fn seed() -> u64 {
    let mut cmd = [0u8; 96];
    // SAFETY: GET_CMDLINE writes at most `len - 1` bytes and a NUL into `cmd`.
    let failed =
        unsafe { cortex_m_semihosting::syscall!(GET_CMDLINE, cmd.as_mut_ptr(), cmd.len() - 1) };
    let at = cmd.windows(5).position(|w| w == b"seed=");
    match (failed, at) {
        (0, Some(at)) => cmd[at + 5..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0u64, |s, b| {
                s.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
            }),
        _ => 0,
    }
}

#[rtic::app(device = crate::pac, dispatchers = [TIMER0, TIMER1])]
mod app {
    use super::*;
    use rtic_sync::signal::{Signal, SignalReader, SignalWriter};

    #[shared]
    struct Shared {
        link: Link<'static>,
    }

    #[local]
    struct Local {
        kick: SignalWriter<'static, ()>,
        woken: SignalReader<'static, ()>,
    }

    #[init(local = [storage: Storage = Storage::new(), signal: Signal<()> = Signal::new()])]
    fn init(cx: init::Context) -> (Shared, Local) {
        Mono::start(cx.core.SYST, 25_000_000);
        set_reg(0x10, 16); // BAUDDIV
        set_reg(0x8, 0b1011); // CTRL: TX, RX, RX interrupt
        let seed = seed();
        let cfg = Config {
            rto_initial: 200,
            keepalive: 500,
            ..Config::default()
        };
        let link = Link::new(cfg, seed, cx.local.storage.buffers()).unwrap();
        let (kick, woken) = cx.local.signal.split();
        say!(
            "rtic_peer: boot on mps2-an386 (Cortex-M4F), seed {seed:#x}, link state {} B",
            core::mem::size_of::<Storage>() + core::mem::size_of::<Link<'static>>()
        );
        pump::spawn().ok();
        (Shared { link }, Local { kick, woken })
    }

    /// UART0 received: every byte waiting goes to the link.
    #[task(binds = UART0RX, shared = [link], local = [kick], priority = 2)]
    fn uart_rx(mut cx: uart_rx::Context) {
        set_reg(0xc, 2); // clear the receive interrupt
        let mut buf = [0u8; 16];
        let mut n = 0;
        while n < buf.len() && reg(4) & STATE_RX_FULL != 0 {
            buf[n] = reg(0) as u8;
            n += 1;
        }
        let now = now_ms();
        cx.shared.link.lock(|l| l.handle_input(&buf[..n], now));
        cx.local.kick.write(());
    }

    #[task(shared = [link], local = [woken], priority = 1)]
    async fn pump(mut cx: pump::Context) {
        let mut frame = [0u8; max_frame_len(M)];
        let mut msg = [0u8; M];
        let mut reply = [0u8; M];
        let mut reply_len = 0;
        let (mut requests, mut bad) = (0u32, 0u32);
        loop {
            let now = now_ms();
            // Timers, then every frame out (written outside the lock).
            cx.shared.link.lock(|l| {
                if l.poll_timeout().is_some_and(|t| t <= now) {
                    l.handle_timeout(now);
                }
            });
            while let Ok(Some(n)) = cx.shared.link.lock(|l| l.poll_transmit(now, &mut frame)) {
                uart_write(&frame[..n]);
            }
            // Events, requests, the response (a full window: kept for the next round; no
            // session: dropped, the host asks again).
            let deadline = cx.shared.link.lock(|l| {
                while let Some(e) = l.poll_event() {
                    match e {
                        Event::Up => say!("rtic_peer: link up, {requests} requests answered"),
                        Event::Down {
                            reason, unacked, ..
                        } => {
                            say!(
                                "rtic_peer: link down ({}), {unacked} unacknowledged",
                                reason.name()
                            );
                            reply_len = 0;
                        }
                    }
                }
                loop {
                    if reply_len > 0 {
                        match l.send(0, &reply[..reply_len], now) {
                            Ok(_) | Err(SendError::NotConnected) => reply_len = 0,
                            Err(SendError::Full) => break,
                            Err(SendError::TooLarge) => {
                                say!("rtic_peer: response too large");
                                reply_len = 0;
                            }
                        }
                    }
                    match l.recv(&mut msg) {
                        Ok(Some(r)) => {
                            let (n, good) = answer(&msg[..r.len], &mut reply);
                            reply_len = n;
                            bad += u32::from(!good);
                            requests += 1;
                            if requests % 100 == 0 {
                                say!(
                                    "rtic_peer: progress, {requests} requests answered, {bad} bad"
                                );
                            }
                        }
                        Ok(None) => break,
                        Err(e) => say!("rtic_peer: recv: {e}"),
                    }
                }
                l.poll_timeout()
            });
            // A response just queued goes out at once; otherwise sleep until the deadline or
            // until the receive interrupt brings bytes.
            let due = deadline.map_or(u64::MAX, |t| t.max(now + 1));
            if reply_len == 0 && deadline.is_some_and(|t| t <= now) {
                continue;
            }
            let at = <Mono as TimerQueueBasedMonotonic>::Instant::from_ticks(due.min(now + 60_000));
            let _ = Mono::timeout_at(at, cx.local.woken.wait()).await;
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    say!("rtic_peer: panic: {info}");
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
