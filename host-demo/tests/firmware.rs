//! `bridge` and `firmware` against the real firmware: tests/firmware/uart_peer.c (C API,
//! Cortex-M4F) on QEMU mps2-an386, its UART0 on a pseudo-terminal (`-serial pty`) that the
//! tool opens as a serial device. The firmware answers request `i` (`[i u32 LE] 'H' text(i)`)
//! with `[i u32 LE] 'F' reverse(text(i))`, which a script can drive through `bridge` as JSON
//! lines. Skipped, with a message, when QEMU or target/firmware/uart_peer.elf (built by
//! scripts/test-firmware.sh) is missing.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{Proc, BIN};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn text(i: u32) -> Vec<u8> {
    let rec = format!("{{\"n\":{i},\"t\":21.{},\"s\":\"ok\"}}", i % 10);
    let len = 24 + (i as usize * 37) % 160;
    rec.bytes().cycle().take(len).collect()
}

fn request(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.push(b'H');
    m.extend(text(i));
    m
}

fn response(i: u32) -> Vec<u8> {
    let mut m = i.to_le_bytes().to_vec();
    m.push(b'F');
    m.extend(text(i).into_iter().rev());
    m
}

/// QEMU running the firmware, and the pty its UART0 is on.
struct Qemu {
    child: Child,
    pty: String,
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn qemu() -> Option<Qemu> {
    let elf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/firmware/uart_peer.elf"
    );
    let have_qemu = Command::new("qemu-system-arm")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_qemu || !std::path::Path::new(elf).exists() {
        eprintln!(
            "SKIPPED: needs qemu-system-arm and {elf} (bash scripts/test-firmware.sh builds it)"
        );
        return None;
    }
    let mut child = Command::new("qemu-system-arm")
        .args(["-M", "mps2-an386", "-nographic", "-monitor", "none"])
        .args([
            "-semihosting-config",
            "enable=on,target=native,arg=uart_peer,arg=seed=4242",
        ])
        .args(["-serial", "pty", "-kernel", elf])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("QEMU starts");
    // QEMU names its pty on one of its outputs.
    let (tx, rx) = mpsc::channel();
    for r in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(r).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
    }
    let mut q = Qemu {
        child,
        pty: String::new(),
    };
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(20)) {
        if let Some(at) = l.find("/dev/pts/") {
            q.pty = l[at..].split_whitespace().next().unwrap().to_string();
            return Some(q);
        }
    }
    panic!("QEMU named no pty");
}

#[test]
fn bridge_and_firmware_talk_to_the_qemu_firmware() {
    let Some(q) = qemu() else { return };
    let mut b = Proc::start(&["bridge", "--device", &q.pty, "--baud", "115200"]);
    b.expect("\"up\"");
    const N: u32 = 60;
    for i in 0..N {
        b.write_line(&format!(
            r#"{{"data":"{}","id":{i}}}"#,
            B64.encode(request(i))
        ));
    }
    for i in 0..N {
        let v: serde_json::Value = serde_json::from_str(&b.expect("\"channel\"")).unwrap();
        assert_eq!(v["channel"], 0);
        let got = B64.decode(v["data"].as_str().unwrap()).unwrap();
        assert_eq!(got, response(i), "response {i}");
    }
    let (code, rest) = b.finish();
    assert_eq!(code, Some(0), "{rest:?}");

    // The request/response run of `ferrule firmware` on the same firmware: a new session.
    let out = Command::new(BIN)
        .args([
            "firmware",
            "--device",
            &q.pty,
            "--count",
            "150",
            "--timeout",
            "60",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("result: 150/150 responses"), "{text}");
    assert!(text.contains("0 duplicates, 0 corrupted"), "{text}");
}
