//! `ferrule ports`: the serial ports the system knows, with USB VID:PID, serial number,
//! manufacturer and product where the port is a USB device.

use crate::cli::PortsArgs;
use crate::fail::{Code, Failure};
use crate::transport;

/// Prints one line (or JSON object) per port.
pub fn main(a: &PortsArgs) -> Result<(), Failure> {
    let ports = transport::ports()
        .map_err(|e| Failure::new(Code::Failed, format!("cannot list serial ports: {e}")))?;
    for p in &ports {
        if a.json {
            crate::outln!("{}", serde_json::to_string(p).unwrap_or_default())?;
            continue;
        }
        let mut line = format!("{:<20} {}", p.path, p.kind);
        if let (Some(v), Some(i)) = (p.vid, p.pid) {
            line += &format!(" {v:04x}:{i:04x}");
        }
        for s in [&p.manufacturer, &p.product].into_iter().flatten() {
            line += &format!(" {s}");
        }
        if let Some(s) = &p.serial_number {
            line += &format!(" serial {s}");
        }
        crate::out::line(line)?;
    }
    if ports.is_empty() && !a.json {
        eprintln!("ferrule: no serial ports found");
    }
    Ok(())
}
