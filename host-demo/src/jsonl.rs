//! The JSON line format of `bridge` and `listen --json` (one JSON object per line).
//!
//! Input, one message per line: `{"channel":0,"data":"<base64>"}` or
//! `{"channel":0,"text":"..."}`; `channel` defaults to 0; an optional `"id"` (any JSON value)
//! comes back in the `acked` event of that message.
//!
//! Output: received messages as `{"channel":N,"data":"<base64>","text":"..."}` (`text` only
//! when the bytes are UTF-8), and events:
//!
//! ```text
//! {"event":"connected","wire":"..."}        the wire is there (again)
//! {"event":"disconnected","reason":"..."}   the wire went away; waiting for it to come back
//! {"event":"up"}                            a session is up
//! {"event":"down","reason":"...","unacked":N,"lost":[msg,...]}   the session ended; lost:
//!                                           messages it did not confirm (listen: always [])
//! {"event":"acked","msg":N,"id":...,"rtt_ms":X}   msg: the message's input number (1, 2, ...)
//! {"event":"undelivered","channel":N,"reason":"..."}   a message arrived but was dropped
//!                                           (it failed to decompress)
//! {"event":"stats",...counters}             every --stats seconds (foreign_datagrams: UDP
//!                                           datagrams from another address than --peer)
//! {"event":"serving","local":"tcp ADDR"}    bridge --local-tcp / --local-udp: the socket is
//!                                           bound (then the only line on stdout)
//! ```
//!
//! A line that is not valid input (not JSON of this form, or not UTF-8) is reported on stderr
//! with its number and skipped.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

/// One input line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InLine {
    #[serde(default)]
    channel: u8,
    data: Option<String>,
    text: Option<String>,
    id: Option<Value>,
}

/// A message to send, parsed from an input line.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Channel to send on.
    pub channel: u8,
    /// Its bytes.
    pub data: Vec<u8>,
    /// The caller's id, echoed in the `acked` event.
    pub id: Option<Value>,
}

/// Parses one input line; the error says what is wrong, in one line.
pub fn parse(line: &str) -> Result<Outgoing, String> {
    let l: InLine = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let data = match (l.data, l.text) {
        (Some(d), None) => B64
            .decode(d.trim())
            .map_err(|e| format!("\"data\" is not base64: {e}"))?,
        (None, Some(t)) => t.into_bytes(),
        _ => return Err("give exactly one of \"data\" (base64) or \"text\"".into()),
    };
    Ok(Outgoing {
        channel: l.channel,
        data,
        id: l.id,
    })
}

/// A received message as a line.
pub fn message(channel: u8, data: &[u8]) -> String {
    let mut v = json!({"channel": channel, "data": B64.encode(data)});
    if let Ok(t) = std::str::from_utf8(data) {
        v["text"] = Value::from(t);
    }
    v.to_string()
}

/// A duration in milliseconds, to the microsecond.
pub fn millis(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// An event line: `{"event":name, ...fields}`.
pub fn event(name: &str, fields: Value) -> String {
    let mut v = json!({ "event": name });
    if let (Some(o), Value::Object(f)) = (v.as_object_mut(), fields) {
        o.extend(f);
    }
    v.to_string()
}

/// The `undelivered` event: a message on `channel` dropped on arrival.
pub fn undelivered(channel: u8, reason: &str) -> String {
    event(
        "undelivered",
        json!({ "channel": channel, "reason": reason }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_errors_explain() {
        let m = parse(r#"{"channel":3,"data":"AAEC/w=="}"#).unwrap();
        assert_eq!((m.channel, m.data), (3, vec![0, 1, 2, 255]));
        let m = parse(r#"{"text":"hé","id":"x"}"#).unwrap();
        assert_eq!(
            (m.channel, m.data, m.id),
            (0, "hé".into(), Some(json!("x")))
        );
        for (bad, needle) in [
            ("{", "invalid JSON"),
            (r#"{"channel":300,"text":"a"}"#, "invalid JSON"),
            (r#"{"data":"%%%"}"#, "base64"),
            (r#"{"data":"AA==","text":"a"}"#, "exactly one"),
            (r#"{"text":"a","bogus":1}"#, "unknown field"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn output_lines_round_trip() {
        let l = message(2, &[0xff, 0]);
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["data"], "/wA=");
        assert!(v.get("text").is_none());
        let v: Value = serde_json::from_str(&message(0, b"hi")).unwrap();
        assert_eq!(v["text"], "hi");
        let e = event("down", json!({"reason": "x \"y\"", "unacked": 2}));
        let v: Value = serde_json::from_str(&e).unwrap();
        assert_eq!(
            (v["event"].as_str(), v["unacked"].as_u64()),
            (Some("down"), Some(2))
        );
    }
}
