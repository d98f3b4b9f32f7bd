//! `--capture FILE` records every frame a link sends and receives as **pcapng**, which
//! Wireshark and tshark open (with `tools/wireshark/ferrule.lua` they decode every field):
//!
//! - one interface, link type `LINKTYPE_USER0` (147) for datagram links (a packet is one
//!   datagram: a frame body) or `LINKTYPE_USER1` (148) for stream links (a packet is one frame
//!   as on the wire: COBS-encoded, with its `0x00` delimiter);
//! - one Enhanced Packet Block per frame, timestamped (nanoseconds, wall clock), with the
//!   direction in its flags (inbound: received by the capturing end; outbound: sent by it).
//!
//! Received stream bytes are cut into frames at each delimiter, so line noise between frames
//! lands in the next frame's packet, as the receiver saw it.
//!
//! [`read`] reads these files and the tool's earlier format (`FERRCAP1`, see [`fcap`]).

use crate::fail::{Code, Failure};
use crate::outfile::OutFile;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use pcap_file::DataLink;
use std::borrow::Cow;
use std::io::{self, BufWriter};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Direction: sent by the capturing endpoint.
pub const SENT: u8 = 0;
/// Direction: received by the capturing endpoint.
pub const RECEIVED: u8 = 1;
/// Direction unknown (a pcapng packet without direction flags).
pub const UNKNOWN: u8 = 2;

/// EPB flags bits 0..1: inbound.
const EPB_INBOUND: u32 = 1;
/// EPB flags bits 0..1: outbound.
const EPB_OUTBOUND: u32 = 2;

/// Link type of a framing.
fn link_type(stream: bool) -> DataLink {
    if stream {
        DataLink::USER1
    } else {
        DataLink::USER0
    }
}

/// Writes a capture.
pub struct Capture {
    out: PcapNgWriter<BufWriter<OutFile>>,
    stream: bool,
    /// Stream bytes received since the last delimiter.
    partial: Vec<u8>,
    wall: Duration,
    start: Instant,
    /// Packets written.
    pub records: u64,
}

fn pcap_err(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        e => io::Error::other(e.to_string()),
    }
}

impl Capture {
    /// Starts a capture that replaces `path` when [`Self::finish`]ed (dropped unfinished,
    /// it leaves `path` as it was; see [`OutFile`]), with the section and interface blocks.
    pub fn create(path: &str, stream: bool) -> io::Result<Self> {
        let f = OutFile::create(path)?;
        let mut out = PcapNgWriter::new(BufWriter::new(f)).map_err(pcap_err)?;
        let framing = if stream {
            "ferrule stream frames (COBS, delimited)"
        } else {
            "ferrule datagrams (frame bodies)"
        };
        let idb = InterfaceDescriptionBlock {
            linktype: link_type(stream),
            snaplen: 0,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Borrowed("ferrule")),
                InterfaceDescriptionOption::IfDescription(Cow::Borrowed(framing)),
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        out.write_pcapng_block(idb).map_err(pcap_err)?;
        Ok(Self {
            out,
            stream,
            partial: Vec::new(),
            wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            start: Instant::now(),
            records: 0,
        })
    }

    fn packet(&mut self, dir: u8, data: &[u8]) -> io::Result<()> {
        let flags = if dir == SENT {
            EPB_OUTBOUND
        } else {
            EPB_INBOUND
        };
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: self.wall + self.start.elapsed(),
            original_len: data.len() as u32,
            data: Cow::Borrowed(data),
            options: vec![EnhancedPacketOption::Flags(flags)],
        };
        self.out.write_pcapng_block(epb).map_err(pcap_err)?;
        self.records += 1;
        Ok(())
    }

    /// Records what the endpoint put on the wire: one datagram, or stream bytes holding whole
    /// frames (each recorded with its delimiter; a leading delimiter is not a frame).
    pub fn sent(&mut self, wire: &[u8]) -> io::Result<()> {
        if !self.stream {
            return self.packet(SENT, wire);
        }
        let mut frame = Vec::new();
        for &b in wire {
            frame.push(b);
            if b == 0 {
                if frame.len() > 1 {
                    self.packet(SENT, &frame)?;
                }
                frame.clear();
            }
        }
        if !frame.is_empty() {
            self.packet(SENT, &frame)?;
        }
        Ok(())
    }

    /// Records what the endpoint read: one datagram, or a chunk of stream bytes (frames are
    /// recorded as their delimiters arrive).
    pub fn received(&mut self, wire: &[u8]) -> io::Result<()> {
        if !self.stream {
            return self.packet(RECEIVED, wire);
        }
        for &b in wire {
            if b != 0 {
                self.partial.push(b);
            } else if !self.partial.is_empty() {
                let mut frame = std::mem::take(&mut self.partial);
                frame.push(0);
                self.packet(RECEIVED, &frame)?;
            }
        }
        Ok(())
    }

    /// Writes the packets so far to the (temporary) file (the capture goes on).
    pub fn flush(&mut self) -> io::Result<()> {
        use std::io::Write;
        self.out.get_mut().flush()
    }

    /// Writes everything out (received bytes without a delimiter yet as a last packet) and
    /// puts the capture in place of its path.
    pub fn finish(mut self) -> io::Result<u64> {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.packet(RECEIVED, &rest)?;
        }
        let records = self.records;
        self.out
            .into_inner()
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .commit()?;
        Ok(records)
    }
}

/// One frame read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Microseconds since the first record (`u64::MAX`: recorded at the end of the run).
    pub t_us: u64,
    /// `SENT`, `RECEIVED` or `UNKNOWN`.
    pub dir: u8,
    /// The bytes as on the wire (stream frames without their delimiter).
    pub data: Vec<u8>,
}

/// A capture read back.
#[derive(Debug)]
pub struct CaptureFile {
    /// `pcapng` or `fcap`.
    pub format: &'static str,
    /// Whether it holds stream frames (COBS) rather than datagrams.
    pub stream: bool,
    /// Its frames: all of them, or those before `damage`.
    pub records: Vec<Record>,
    /// Why the file ends early (truncated, or a damaged block): the records before it are
    /// readable.
    pub damage: Option<String>,
}

/// Reads a capture (pcapng or the earlier `.fcap`); status 5 when it cannot. A file that
/// ends early (truncated or damaged) reads up to the damage, named in
/// [`CaptureFile::damage`].
pub fn read(path: &str) -> Result<CaptureFile, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::new(Code::Capture, format!("cannot read {path}: {e}")))?;
    parse(&bytes).map_err(|e| Failure::new(Code::Capture, format!("{path}: {e}")))
}

/// Parses capture bytes: an error when they are not a capture; the records up to the damage
/// when the capture ends early.
pub fn parse(bytes: &[u8]) -> Result<CaptureFile, String> {
    if bytes.starts_with(fcap::MAGIC) {
        let (stream, records, damage) = fcap::parse(bytes)?;
        return Ok(CaptureFile {
            format: "fcap",
            stream,
            records,
            damage,
        });
    }
    if !bytes.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]) {
        return Err("not a ferrule capture (neither pcapng nor FERRCAP1)".into());
    }
    let mut r = PcapNgReader::new(bytes).map_err(|e| format!("bad pcapng header: {e}"))?;
    let mut stream = None;
    let mut first = None;
    let mut records = Vec::new();
    let mut damage = None;
    while let Some(block) = r.next_block() {
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                damage = Some(format!(
                    "bad pcapng block after {} packets: {e}",
                    records.len()
                ));
                break;
            }
        };
        match block {
            Block::InterfaceDescription(idb) => {
                let s = match idb.linktype {
                    DataLink::USER0 => false,
                    DataLink::USER1 => true,
                    other => {
                        return Err(format!(
                        "not a ferrule capture: link type {other:?} (ferrule uses USER0 and USER1)"
                    ))
                    }
                };
                if stream.is_some_and(|x| x != s) {
                    return Err("mixes datagram and stream interfaces".into());
                }
                stream = Some(s);
            }
            Block::EnhancedPacket(p) => {
                let t = p.timestamp;
                let t0 = *first.get_or_insert(t);
                let dir = p
                    .options
                    .iter()
                    .find_map(|o| match o {
                        EnhancedPacketOption::Flags(f) => Some(match f & 3 {
                            EPB_INBOUND => RECEIVED,
                            EPB_OUTBOUND => SENT,
                            _ => UNKNOWN,
                        }),
                        _ => None,
                    })
                    .unwrap_or(UNKNOWN);
                let mut data = p.data.into_owned();
                if stream == Some(true) && data.last() == Some(&0) {
                    data.pop();
                }
                records.push(Record {
                    t_us: t.saturating_sub(t0).as_micros() as u64,
                    dir,
                    data,
                });
            }
            _ => {}
        }
    }
    Ok(CaptureFile {
        format: "pcapng",
        stream: stream.ok_or_else(|| match &damage {
            Some(d) => d.clone(),
            None => "no interface description in the capture".into(),
        })?,
        records,
        damage,
    })
}

/// The tool's earlier capture format, still read by `decode`. All integers little-endian:
///
/// ```text
/// file header, 16 bytes:
///   0..8    magic "FERRCAP1"
///   8       framing: 0 = datagram (a record holds one datagram: a frame body),
///                    1 = stream   (a record holds one COBS-encoded frame, delimiters removed)
///   9..16   zero
/// record, 12 bytes + data:
///   0..8    u64 microseconds since the capture started
///   8       direction: 0 = sent by the capturing endpoint, 1 = received by it
///   9       zero
///   10..12  u16 length n of the data
///   12..    n bytes, exactly as on the wire
/// ```
pub mod fcap {
    use super::{Record, RECEIVED};

    /// First bytes of every `.fcap`.
    pub const MAGIC: &[u8; 8] = b"FERRCAP1";

    /// Parses `.fcap` bytes: whether it is a stream capture, its records, and (when the file
    /// ends inside a record) why the records stop early.
    #[allow(clippy::type_complexity)]
    pub fn parse(bytes: &[u8]) -> Result<(bool, Vec<Record>, Option<String>), String> {
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err("not a ferrule capture (no FERRCAP1 header)".into());
        }
        let stream = match bytes[8] {
            0 => false,
            1 => true,
            x => return Err(format!("unknown framing byte {x} in the header")),
        };
        let mut at = 16;
        let mut records = Vec::new();
        while at < bytes.len() {
            let Some(head) = bytes.get(at..at + 12) else {
                let cut = format!("truncated record header at offset {at}");
                return Ok((stream, records, Some(cut)));
            };
            let t_us = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
            let dir = head[8];
            if dir > RECEIVED {
                return Err(format!("bad direction byte {dir} at offset {}", at + 8));
            }
            let n = usize::from(u16::from_le_bytes([head[10], head[11]]));
            let Some(data) = bytes.get(at + 12..at + 12 + n) else {
                let cut = format!("truncated record at offset {at} ({n} bytes announced)");
                return Ok((stream, records, Some(cut)));
            };
            records.push(Record {
                t_us,
                dir,
                data: data.to_vec(),
            });
            at += 12 + n;
        }
        Ok((stream, records, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> String {
        let d = std::env::temp_dir().join(format!("ferrule-capture-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name).to_string_lossy().into_owned()
    }

    #[test]
    fn stream_frames_round_trip_with_direction_and_delimiters() {
        let path = tmp("s.pcapng");
        let mut c = Capture::create(&path, true).unwrap();
        c.sent(&[0, 3, 1, 2, 0, 2, 9, 0]).unwrap();
        c.received(&[5, 1]).unwrap();
        c.received(&[1, 0, 0, 7]).unwrap();
        assert_eq!(c.finish().unwrap(), 4);
        let f = read(&path).unwrap();
        assert!(f.stream && f.format == "pcapng");
        let got: Vec<_> = f.records.iter().map(|r| (r.dir, r.data.clone())).collect();
        assert_eq!(
            got,
            vec![
                (SENT, vec![3, 1, 2]),
                (SENT, vec![2, 9]),
                (RECEIVED, vec![5, 1, 1]),
                (RECEIVED, vec![7]),
            ]
        );
        let raw = std::fs::read(&path).unwrap();
        // The first sent frame is on the wire as 03 01 02 00, delimiter included.
        assert!(raw.windows(4).any(|w| w == [3, 1, 2, 0]));
    }

    #[test]
    fn a_truncated_capture_reads_up_to_the_cut() {
        let path = tmp("cut.pcapng");
        let mut c = Capture::create(&path, false).unwrap();
        for p in [[1u8, 2], [3, 4], [5, 6]] {
            c.sent(&p).unwrap();
        }
        c.finish().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 3);
        let f = parse(&bytes).unwrap();
        assert_eq!(f.records.len(), 2);
        assert!(f.damage.unwrap().contains("after 2 packets"));
    }

    #[test]
    fn datagram_captures_and_bad_files() {
        let path = tmp("d.pcapng");
        let mut c = Capture::create(&path, false).unwrap();
        c.sent(&[1, 0, 2]).unwrap();
        c.finish().unwrap();
        let f = read(&path).unwrap();
        assert!(!f.stream);
        assert_eq!(f.records[0].data, vec![1, 0, 2]);
        let mut cut = std::fs::read(&path).unwrap();
        cut.truncate(cut.len() - 6);
        let f = parse(&cut).unwrap();
        assert!(f.records.is_empty());
        assert!(f.damage.unwrap().contains("after 0 packets"));
        assert!(parse(b"junk")
            .unwrap_err()
            .contains("not a ferrule capture"));
        assert_eq!(read("/nonexistent/x").unwrap_err().code, Code::Capture);
    }
}
