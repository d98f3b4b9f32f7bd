//! Ctrl-C and termination signals (SIGINT, SIGTERM, SIGHUP; on Windows Ctrl-C and Ctrl-Break
//! only: closing the console window ends the process without a clean close), through the
//! `ctrlc` crate.
//!
//! The first signal sets a flag and wakes every waiting [`crate::runner::Runner`] (each one
//! registers a wake-up here), so the command stops promptly: the runner closes its session,
//! finishes its capture and reports [`crate::fail::Code::Interrupted`] (status 130), and the
//! command prints its usual final report. A second signal exits at once, status 130.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

type Wake = Box<dyn Fn() + Send>;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static NEXT: AtomicU64 = AtomicU64::new(0);
static WAKERS: Mutex<Option<HashMap<u64, Wake>>> = Mutex::new(None);

/// Installs the handler (once, before any link runs). Without it a signal ends the process
/// at once, as usual.
pub fn install() {
    // An error means a handler is already set (tests that run `main` twice): keep that one.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(crate::fail::Code::Interrupted as i32);
        }
        let wakers = WAKERS.lock().unwrap_or_else(|e| e.into_inner());
        for wake in wakers.iter().flat_map(|m| m.values()) {
            wake();
        }
    });
}

/// Whether a signal asked the tool to stop.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// How often [`interruptible`] looks at the flag.
const SLICE: Duration = Duration::from_millis(100);

/// Runs `f` (a blocking open: a TCP connect the peer's full backlog leaves hanging, a device
/// open that blocks) on its own thread, returning what it returns — or, once a signal asked
/// the tool to stop, `ErrorKind::Interrupted` at once, leaving the thread to finish (what it
/// opens late is dropped).
pub fn interruptible<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let stopped = || io::Error::new(io::ErrorKind::Interrupted, "interrupted");
    if requested() {
        return Err(stopped());
    }
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("open".into())
        .spawn(move || {
            let _ = tx.send(f());
        })?;
    loop {
        match rx.recv_timeout(SLICE) {
            Ok(r) => return r,
            Err(mpsc::RecvTimeoutError::Timeout) if !requested() => {}
            Err(mpsc::RecvTimeoutError::Timeout) => return Err(stopped()),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("the open failed"))
            }
        }
    }
}

/// A wake-up registered with the handler; dropping it unregisters it.
pub struct Registration(u64);

/// Registers `wake`, called (on the handler's thread) when a signal arrives.
pub fn on_signal(wake: impl Fn() + Send + 'static) -> Registration {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut wakers = WAKERS.lock().unwrap_or_else(|e| e.into_inner());
    wakers
        .get_or_insert_with(HashMap::new)
        .insert(id, Box::new(wake));
    Registration(id)
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut wakers = WAKERS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = wakers.as_mut() {
            m.remove(&self.0);
        }
    }
}
