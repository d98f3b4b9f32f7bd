//! `ferrule demo` (the default): endpoint A (Rust API) and endpoint B (C API) exchange
//! telemetry over the chosen wire through the impairment proxy; then the same workload goes
//! over raw UDP. Prints a report (or one JSON object) and optional latency charts.

mod plot;
mod proxy;
mod report;
mod run;

pub use run::DEMO_KEY;
mod workload;

use crate::cli::{DemoArgs, DemoTransport, OnOff};
use crate::fail::{Code, Failure};
use crate::out::Printer;
use crate::outfile::OutFile;
use ferrule::compress::Mode;
use proxy::Impairments;
use std::time::Duration;

/// Smallest `--size`: the 16-byte index and timestamp plus one byte of text.
pub const MIN_SIZE: usize = 17;

/// Which wire a run uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UDP datagrams on loopback: one frame per datagram.
    Udp,
    /// A TCP byte stream on loopback, COBS framed like a serial line.
    Tcp,
    /// Pseudo-terminal pairs in raw mode, like a UART.
    Pty,
    /// Two serial devices wired to each other (null modem), at `baud`.
    Serial {
        /// The device of endpoint A.
        device: String,
        /// The device of endpoint B.
        peer_device: String,
        /// Line rate.
        baud: u32,
    },
}

impl Kind {
    /// Whether frames travel COBS-stuffed in a byte stream.
    pub fn is_stream(&self) -> bool {
        !matches!(self, Kind::Udp)
    }

    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Udp => "udp",
            Kind::Tcp => "tcp",
            Kind::Pty => "pty",
            Kind::Serial { .. } => "serial",
        }
    }
}

/// Everything a run is told.
#[derive(Debug, Clone)]
pub struct Options {
    pub transport: Kind,
    pub messages: u64,
    /// Message size in bytes; `None`: the natural telemetry record (about 90 bytes).
    pub size: Option<usize>,
    pub imp: Impairments,
    pub seed: u64,
    pub json: bool,
    pub compression: Mode,
    pub window: u8,
    pub aead: bool,
    /// Forward error correction: data and parity frames per group.
    pub fec: Option<(u8, u8)>,
    pub capture: Option<String>,
    pub plot: Option<String>,
    pub timeout: Duration,
}

/// The run the arguments describe.
pub fn options(a: &DemoArgs) -> Result<Options, Failure> {
    let transport = match a.transport {
        DemoTransport::Udp => Kind::Udp,
        DemoTransport::Tcp => Kind::Tcp,
        DemoTransport::Pty if cfg!(unix) => Kind::Pty,
        DemoTransport::Pty => return Err(Failure::usage("--transport pty needs a Unix system")),
        DemoTransport::Serial => {
            let (Some(device), Some(peer_device)) = (a.device.clone(), a.peer_device.clone())
            else {
                return Err(Failure::usage(
                    "--transport serial needs --device PATH and --peer-device PATH (two ports \
                     wired to each other)",
                ));
            };
            Kind::Serial {
                device,
                peer_device,
                baud: a.baud.unwrap_or(115_200),
            }
        }
    };
    if !matches!(transport, Kind::Serial { .. })
        && (a.device.is_some() || a.peer_device.is_some() || a.baud.is_some())
    {
        return Err(Failure::usage(
            "--device, --peer-device and --baud go with --transport serial",
        ));
    }
    Ok(Options {
        transport,
        messages: a.messages,
        size: a.size.map(|s| s as usize),
        imp: Impairments {
            loss: a.loss,
            corrupt: a.corrupt,
            dup: a.dup,
            reorder: a.reorder,
            delay: Duration::from_micros(a.delay_us),
        },
        seed: a.seed,
        json: a.json,
        compression: a.compression.mode(),
        window: a.window.unwrap_or(0),
        aead: a.aead == OnOff::On,
        fec: a.fec,
        capture: a.capture.clone(),
        plot: a.plot.clone(),
        timeout: Duration::from_secs(a.timeout),
    })
}

/// Runs the demo. Interrupted (Ctrl-C), it reports what the run did so far, status 130. A
/// closed stdout stops the report, not the run: the chart is written and the delivery checked
/// (status 1 when it was not exact) all the same.
pub fn main(a: &DemoArgs) -> Result<(), Failure> {
    let o = options(a)?;
    // Checked before the run (a bad path fails at once); the old chart stays until the new
    // one is complete.
    let plot_file = match &o.plot {
        Some(p) => Some(OutFile::create(p).map_err(|e| Failure::output("--plot", p, &e))?),
        None => None,
    };
    let mut r = run::run_ferrule(&o)?;
    if !crate::interrupt::requested() {
        r.raw = run::run_raw(&o).map_err(|e| Failure::io(&e, "raw UDP baseline failed"))?;
    }
    let mut out = Printer::default();
    if o.json {
        out.line(report::json(&r));
    } else {
        out.text(&report::table(&r));
    }
    if let (Some(path), Some(file)) = (&o.plot, plot_file) {
        let samples: Vec<(u64, u64)> = r.samples().copied().collect();
        let title = format!(
            "ferrule demo over {}: {} messages, latency send -> deliver",
            r.transport,
            samples.len()
        );
        plot::write_svg(file, path, &samples, &title).map_err(|e| Failure::io(&e, ""))?;
        if !o.json {
            out.line(format_args!("\n  charts written to {path}"));
        }
    }
    conclude(&r, out)
}

/// The run's status: 130 when interrupted, 1 when delivery was not exact — whatever became
/// of the report on stdout (`out`), whose failure counts only when the run succeeded.
fn conclude(r: &run::Report, out: Printer) -> Result<(), Failure> {
    out.finish(verdict(r))
}

/// The run's own status.
fn verdict(r: &run::Report) -> Result<(), Failure> {
    if crate::interrupt::requested() {
        return Err(Failure::interrupted());
    }
    if !report::exact(r) {
        return Err(Failure::new(
            Code::Failed,
            "FAILED: reliable delivery was not exact",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::workload::Tally;

    /// Stdout closed before the report: the delivery check still decides the status.
    #[test]
    fn a_closed_stdout_does_not_hide_an_inexact_delivery() {
        let r = run::Report {
            transport: "udp",
            apis: ["Rust", "C"],
            aead: false,
            a_to_b: Tally {
                sent: 2,
                delivered: 1,
                ..Tally::default()
            },
            b_to_a: Tally::default(),
            elapsed: Duration::from_secs(1),
            stats: Default::default(),
            downs: 0,
            proxy: Default::default(),
            captured: None,
            raw: Tally::default(),
        };
        let f = conclude(&r, Printer::closed()).unwrap_err();
        assert_eq!((f.code, f.is_quiet()), (Code::Failed, false), "{f}");
    }
}
