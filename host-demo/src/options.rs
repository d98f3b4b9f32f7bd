//! Command-line options of the default run.

use crate::proxy::Impairments;
use crate::transport::{self, Kind};
use ferrule::compress::Mode;
use std::time::Duration;

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
    pub capture: Option<String>,
    pub plot: Option<String>,
    pub timeout: Duration,
}

/// Smallest `--size`: the 16-byte index and timestamp plus one byte of text.
pub const MIN_SIZE: usize = 17;

pub const USAGE: &str = "usage: ferrule-demo [--transport udp|tcp|pty|serial] [--device PATH \
     --peer-device PATH] [--baud N] [--messages N] [--size BYTES] [--loss P] [--corrupt P] \
     [--dup P] [--reorder P] [--delay-us N] [--seed N] [--compression off|per-message|shared] \
     [--window N] [--aead on|off] [--capture FILE] [--plot FILE.svg] [--timeout SECONDS] [--json]\n\
       ferrule-demo chat --help | decode FILE | firmware --help";

fn prob(v: &str, name: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "{name} must be a probability between 0 and 1, got {v:?}"
        )),
    }
}

/// `on` or `off`.
pub fn on_off(v: &str, name: &str) -> Result<bool, String> {
    match v {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{name} must be on or off, got {v:?}")),
    }
}

/// A whole number within `lo..=hi`.
pub fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    v: &str,
    name: &str,
    lo: T,
    hi: T,
) -> Result<T, String> {
    match v.parse::<T>() {
        Ok(n) if n >= lo && n <= hi => Ok(n),
        _ => Err(format!(
            "{name} needs a whole number from {lo} to {hi}, got {v:?}"
        )),
    }
}

/// Parses the arguments of the default run.
pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        transport: Kind::Udp,
        messages: 20_000,
        size: None,
        imp: Impairments {
            loss: 0.05,
            corrupt: 0.001,
            dup: 0.01,
            reorder: 0.02,
            delay: Duration::from_micros(200),
        },
        seed: 1,
        json: false,
        compression: Mode::Shared,
        window: 0,
        aead: false,
        capture: None,
        plot: None,
        timeout: Duration::from_secs(60),
    };
    let (mut transport, mut device, mut peer_device, mut baud) =
        ("udp".to_string(), None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .map(String::as_str)
                .ok_or(format!("{name} needs a value"))
        };
        match a.as_str() {
            "--transport" => transport = val(a)?.to_string(),
            "--device" => device = Some(val(a)?.to_string()),
            "--peer-device" => peer_device = Some(val(a)?.to_string()),
            "--baud" => baud = Some(number(val(a)?, a, 1, 4_000_000u32)?),
            "--messages" => o.messages = number(val(a)?, a, 1, 100_000_000u64)?,
            "--size" => {
                o.size = Some(number(val(a)?, a, MIN_SIZE, crate::driver::M)?);
            }
            "--loss" => o.imp.loss = prob(val(a)?, a)?,
            "--corrupt" => o.imp.corrupt = prob(val(a)?, a)?,
            "--dup" => o.imp.dup = prob(val(a)?, a)?,
            "--reorder" => o.imp.reorder = prob(val(a)?, a)?,
            "--delay-us" => {
                o.imp.delay = Duration::from_micros(number(val(a)?, a, 0, 10_000_000u64)?)
            }
            "--seed" => o.seed = number(val(a)?, a, 0, u64::MAX)?,
            "--json" => o.json = true,
            "--compression" => {
                o.compression = match val(a)? {
                    "off" => Mode::Off,
                    "per-message" => Mode::PerMessage,
                    "shared" => Mode::Shared,
                    v => {
                        return Err(format!(
                            "--compression must be off, per-message or shared, got {v:?}"
                        ))
                    }
                }
            }
            "--window" => {
                o.window = number(val(a)?, a, 1, crate::driver::RUST_WINDOW as u8)?;
            }
            "--aead" => o.aead = on_off(val(a)?, a)?,
            "--capture" => o.capture = Some(val(a)?.to_string()),
            "--plot" => o.plot = Some(val(a)?.to_string()),
            "--timeout" => {
                o.timeout = Duration::from_secs(number(val(a)?, a, 1, 86_400u64)?);
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    o.transport = match transport.as_str() {
        "udp" => Kind::Udp,
        "tcp" => Kind::Tcp,
        "pty" => Kind::Pty,
        "serial" => {
            let (Some(device), Some(peer_device)) = (device.take(), peer_device.take()) else {
                return Err(
                    "--transport serial needs --device PATH and --peer-device PATH (two ports \
                     wired to each other)"
                        .into(),
                );
            };
            let baud = baud.take().unwrap_or(115_200);
            transport::baud_rate(baud).map_err(|e| e.to_string())?;
            Kind::Serial {
                device,
                peer_device,
                baud,
            }
        }
        v => {
            return Err(format!(
                "--transport must be udp, tcp, pty or serial, got {v:?}"
            ))
        }
    };
    if device.is_some() || peer_device.is_some() || baud.is_some() {
        return Err("--device, --peer-device and --baud go with --transport serial".into());
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Options, String> {
        parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_and_flags() {
        let o = p(&[]).unwrap();
        assert_eq!((o.transport, o.messages, o.window), (Kind::Udp, 20_000, 0));
        let o = p(&["--transport", "tcp", "--window", "4", "--size", "200"]).unwrap();
        assert_eq!((o.transport, o.window, o.size), (Kind::Tcp, 4, Some(200)));
        let o = p(&[
            "--transport",
            "serial",
            "--device",
            "a",
            "--peer-device",
            "b",
        ])
        .unwrap();
        assert!(matches!(o.transport, Kind::Serial { baud: 115_200, .. }));
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        for (args, needle) in [
            (&["--loss", "2"][..], "--loss"),
            (&["--messages", "0"], "--messages"),
            (&["--size", "4"], "--size"),
            (&["--window", "99"], "--window"),
            (&["--transport", "carrier-pigeon"], "--transport"),
            (&["--transport", "serial"], "--device"),
            (&["--device", "x"], "--transport serial"),
            (
                &[
                    "--transport",
                    "serial",
                    "--device",
                    "a",
                    "--peer-device",
                    "b",
                    "--baud",
                    "1234",
                ],
                "baud",
            ),
            (&["--seed"], "--seed"),
            (&["--frobnicate"], "unknown"),
        ] {
            let e = p(args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }
}
