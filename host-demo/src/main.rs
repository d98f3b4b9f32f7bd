//! `ferrule`: the host tool. With no subcommand (`cargo run --release -p ferrule-demo`) it
//! runs the loopback demo: two ferrule endpoints, one on the Rust API and one on the C API,
//! exchange telemetry over real loopback sockets through an in-process impairment proxy,
//! then the same workload goes over raw UDP for comparison. The subcommands talk to real
//! devices: `bridge` (JSON lines on stdin/stdout or a local socket), `send` / `listen`
//! (one-shot), `chat`, `firmware` (the QEMU test firmware), `decode` (captures), `ports`.
//!
//! Layout: `cli` (the command line), `runner` (the shared link runner: link, wire, capture,
//! timers), `driver` (the two link APIs), `transport` (wires), `capture` (pcapng), `jsonl`
//! (the JSON line format), `interrupt` (Ctrl-C and termination signals), `out` (stdout lines
//! that survive a closed stdout), one module per subcommand under `cmd/`, and the demo under
//! `demo/`. Errors: one line on stderr and the exit status documented in `fail`.

mod capture;
mod cli;
mod cmd;
mod demo;
mod driver;
mod fail;
mod interrupt;
mod jsonl;
mod lines;
mod out;
mod outfile;
mod runner;
mod transport;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use std::io::{self, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return ExitCode::from(clap_error(&e)),
    };
    // Commands that run links stop cleanly on Ctrl-C / SIGTERM; the others end at once.
    if !matches!(
        cli.command,
        Some(Command::Decode(_) | Command::Ports(_) | Command::Completions { .. })
    ) {
        interrupt::install();
    }
    let r = match cli.command {
        None => demo::main(&cli.demo),
        Some(Command::Demo(a)) => demo::main(&a),
        Some(Command::Bridge(a)) => cmd::bridge::main(&a),
        Some(Command::Send(a)) => cmd::send::main(&a),
        Some(Command::Listen(a)) => cmd::listen::main(&a),
        Some(Command::Chat(a)) => cmd::chat::main(&a),
        Some(Command::Firmware(a)) => cmd::firmware::main(&a),
        Some(Command::Decode(a)) => cmd::decode::main(&a),
        Some(Command::Ports(a)) => cmd::ports::main(&a),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ferrule", &mut script);
            out::text(&String::from_utf8_lossy(&script))
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.is_quiet() => ExitCode::SUCCESS,
        Err(f) => {
            // Whatever failed after a signal asked the tool to stop (a connect cut short, a
            // retry given up) failed because of it.
            let f = match f.code {
                c if c != fail::Code::Interrupted && interrupt::requested() => {
                    fail::Failure::interrupted()
                }
                _ => f,
            };
            // Not `eprintln!`: stderr may be gone (a hung-up terminal), which must not panic.
            let _ = writeln!(io::stderr(), "ferrule: {f}");
            ExitCode::from(f.code as u8)
        }
    }
}

/// Help and version go to stdout (status 0); anything else is one line on stderr, status 2.
fn clap_error(e: &clap::Error) -> u8 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        _ => {
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("bad arguments");
            let mut line = first.strip_prefix("error: ").unwrap_or(first).to_string();
            // "the following required arguments were not provided:" names them next.
            if line.ends_with(':') {
                line = format!("{line} {}", lines.next().unwrap_or_default());
            }
            let _ = writeln!(io::stderr(), "ferrule: {line} (try --help)");
            fail::Code::Usage as u8
        }
    }
}
