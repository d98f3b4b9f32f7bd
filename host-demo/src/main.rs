//! `cargo run --release -p ferrule-demo`: two ferrule endpoints, one on the Rust API and one on
//! the C API, exchange telemetry over real loopback sockets (UDP, or TCP/pty/serial as a COBS
//! byte stream) through an in-process impairment proxy; then the same workload over raw UDP
//! through the same proxy, for comparison. Subcommands: `chat` (interactive messaging between
//! two terminals), `decode FILE` (print a `--capture`), `firmware` (the host end of a link to
//! the QEMU or hardware firmware).

mod capture;
mod chat;
mod driver;
mod firmware;
mod options;
mod plot;
mod proxy;
mod report;
mod run;
mod transport;
mod workload;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("firmware") => firmware::main(&args[1..]),
        Some("chat") => chat::main(&args[1..]),
        Some("decode") => capture::main(&args[1..]),
        _ => demo(&args),
    };
    ExitCode::from(code)
}

fn demo(args: &[String]) -> u8 {
    let o = match options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ferrule-demo: {e}");
            return 2;
        }
    };
    let mut r = match run::run_ferrule(&o) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ferrule-demo: {e}");
            return 1;
        }
    };
    match run::run_raw(&o) {
        Ok(raw) => r.raw = raw,
        Err(e) => {
            eprintln!("ferrule-demo: raw UDP baseline failed: {e}");
            return 1;
        }
    }
    if o.json {
        println!("{}", report::json(&r));
    } else {
        report::print(&r);
    }
    if let Some(path) = &o.plot {
        let samples: Vec<(u64, u64)> = r.samples().copied().collect();
        let title = format!(
            "ferrule demo over {}: {} messages, latency send -> deliver",
            r.transport,
            samples.len()
        );
        if let Err(e) = plot::write_svg(path, &samples, &title) {
            eprintln!("ferrule-demo: {e}");
            return 1;
        }
        if !o.json {
            println!("\n  charts written to {path}");
        }
    }
    if !report::exact(&r) {
        eprintln!("ferrule-demo: FAILED: reliable delivery was not exact");
        return 1;
    }
    0
}
