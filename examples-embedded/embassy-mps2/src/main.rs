//! The ferrule async driver on embassy, on QEMU's mps2-an386 (Cortex-M4F): the firmware half
//! of the UART request/response test, the same protocol as the C firmware
//! `tests/firmware/uart_peer.c`, against the host tool (`ferrule firmware`) or the tokio
//! example at the other end of QEMU's `-serial`:
//!
//! - request `i` (host to firmware, reliable channel 0): `[i u32 LE] 'H' text(i)`;
//! - response: `[i u32 LE] 'F' reverse(text(i))`, or `'X'` alone when the request was not
//!   `text(i)`; `text(i)`: `{"n":i,"t":21.d,"s":"ok"}` (`d = i % 10`) repeated, cut to
//!   `24 + (i * 37) % 160` bytes.
//!
//! Two tasks: `link` runs the driver over the UART; `main` answers requests. A response is
//! queued only in the session its request came in: when that session ends first, it is
//! dropped (the host sends the request again in the next session). Compression: the shared
//! deflate stream, both ways. Reports through semihosting: boot, link events, every 100
//! requests. Runs until QEMU is stopped.
#![no_std]
#![no_main]

mod board;

use core::fmt::Write as _;

use cortex_m_semihosting::hio;
use embassy_executor::Spawner;
use embassy_futures::select::{select, Either};
use ferrule::asynch::{run_buffer_len, Driver, EmbassyClock};
use ferrule::compress::{Codec, CodecConfig, Compressor, Mode};
use ferrule::link::{frame_buffer_len, Config, Event, Link, LinkStorage};
use static_cell::{ConstStaticCell, StaticCell};

const WINDOW: usize = 4;
/// Requests are at most 5 + 183 bytes.
const M: usize = 192;
type Storage = LinkStorage<WINDOW, M, { frame_buffer_len(M) }>;

const CODEC: CodecConfig<'static> = CodecConfig {
    reliable: Mode::Shared,
    ..CodecConfig::DEFAULT
};
const CODEC_BYTES: usize = Compressor::storage_size(&CODEC);

type Ferrule = Driver<'static, EmbassyClock>;

// Every buffer is a `static`, zeroed in .bss, never built on the stack.
static STORAGE: ConstStaticCell<Storage> = ConstStaticCell::new(Storage::new());
static CODEC_MEM: ConstStaticCell<[u8; CODEC_BYTES]> = ConstStaticCell::new([0; CODEC_BYTES]);
static RUN_BUF: ConstStaticCell<[u8; run_buffer_len(M)]> =
    ConstStaticCell::new([0; run_buffer_len(M)]);
static COMPRESSOR: StaticCell<Compressor<'static>> = StaticCell::new();
static DRIVER: StaticCell<Ferrule> = StaticCell::new();

/// One line to the host's stdout through semihosting.
macro_rules! say {
    ($($arg:tt)*) => {{
        if let Ok(mut out) = hio::hstdout() {
            let _ = writeln!(out, $($arg)*);
        }
    }};
}

/// The text part of request `i`, into `out`; returns its length.
fn text(i: u32, out: &mut [u8]) -> usize {
    let mut rec = [0u8; 48];
    let mut w = Cursor(&mut rec, 0);
    let _ = write!(w, "{{\"n\":{i},\"t\":21.{},\"s\":\"ok\"}}", i % 10);
    let r = w.1;
    let len = 24 + (i as usize * 37) % 160;
    for (k, b) in out[..len].iter_mut().enumerate() {
        *b = rec[k % r];
    }
    len
}

/// `core::fmt::Write` into a byte array.
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

/// The response to `req` into `out`; returns its length and whether the request was good.
fn answer(req: &[u8], out: &mut [u8; M]) -> (usize, bool) {
    let i = req
        .get(..4)
        .map_or(u32::MAX, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut expect = [0u8; M];
    let tl = text(i, &mut expect);
    out[..4].copy_from_slice(&i.to_le_bytes());
    if req.len() == 5 + tl && req[4] == b'H' && req[5..] == expect[..tl] {
        out[4] = b'F';
        for k in 0..tl {
            out[5 + k] = expect[tl - 1 - k];
        }
        (5 + tl, true)
    } else {
        out[4] = b'X';
        (5, false)
    }
}

#[embassy_executor::task]
async fn link(driver: &'static Ferrule, rx: board::UartRx, tx: board::UartTx) {
    let buf = RUN_BUF.take();
    let e = driver.run(rx, tx, buf).await; // the UART never fails or ends
    say!("embassy_peer: link stopped: {e:?}");
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let mut p = cortex_m::Peripherals::take().unwrap();
    board::init(p.SYST, &mut p.NVIC);
    let seed = board::seed();

    let cfg = Config {
        rto_initial: 200,
        keepalive: 500,
        ..Config::default()
    };
    let mut l = Link::new(cfg, seed, STORAGE.take().buffers()).unwrap();
    let codec = COMPRESSOR.init(Compressor::new(CODEC, CODEC_MEM.take()).unwrap());
    l.set_codec(codec as &mut dyn Codec);
    let driver: &'static Ferrule = DRIVER.init(Driver::new(l, EmbassyClock));
    say!(
        "embassy_peer: boot on mps2-an386 (Cortex-M4F), seed {seed:#x}, state {} B",
        core::mem::size_of::<Storage>() + CODEC_BYTES + core::mem::size_of::<Ferrule>()
    );
    let (rx, tx) = board::uart();
    spawner.spawn(link(driver, rx, tx).unwrap());

    let (mut requests, mut bad) = (0u32, 0u32);
    let mut msg = [0u8; M];
    let mut reply = [0u8; M];
    loop {
        // A request, or an event.
        let got = match select(driver.event(), driver.recv(&mut msg)).await {
            Either::First(e) => {
                report(e, requests, bad);
                continue;
            }
            Either::Second(r) => r,
        };
        let Ok(got) = got else {
            say!("embassy_peer: recv: {got:?}");
            continue;
        };
        let (n, good) = answer(&msg[..got.len], &mut reply);
        bad += u32::from(!good);
        requests += 1;
        if requests % 100 == 0 {
            say!("embassy_peer: progress, {requests} requests answered this boot, {bad} bad");
        }
        // The response, in this session only: a `Down` first drops it (events are polled
        // first, so one already queued wins).
        loop {
            match select(driver.event(), driver.send(0, &reply[..n])).await {
                Either::First(e @ Event::Down { .. }) => {
                    report(e, requests, bad);
                    break;
                }
                Either::First(e) => report(e, requests, bad),
                Either::Second(Ok(_)) => break,
                Either::Second(Err(e)) => {
                    say!("embassy_peer: send: {e}");
                    break;
                }
            }
        }
    }
}

fn report(e: Event, requests: u32, bad: u32) {
    match e {
        Event::Up => say!("embassy_peer: link up, {requests} requests answered, {bad} bad"),
        Event::Down {
            reason, unacked, ..
        } => say!(
            "embassy_peer: link down ({}), {unacked} unacknowledged, {requests} requests answered",
            reason.name()
        ),
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    say!("embassy_peer: panic: {info}");
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
