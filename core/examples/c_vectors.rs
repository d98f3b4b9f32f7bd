//! Prints the `docs/PROTOCOL.md` test vectors as a C header for the firmware conformance run:
//! `cargo run -p ferrule --example c_vectors > vectors.h`.

#[path = "../tests/common/mod.rs"]
mod common;

use ferrule::Compression;

fn bytes(name: &str, b: &[u8]) -> String {
    let body: Vec<String> = b.iter().map(|x| format!("0x{x:02x}")).collect();
    format!(
        "static const uint8_t {name}[{}] = {{{}}};\n",
        b.len().max(1),
        if b.is_empty() {
            "0".into()
        } else {
            body.join(",")
        }
    )
}

fn main() {
    let doc = include_str!("../PROTOCOL.md");
    let vectors = common::read_vectors(doc);
    let mut out = String::from(
        "/* GENERATED from docs/PROTOCOL.md by `cargo run -p ferrule --example c_vectors`. */\n\
         #include <stdint.h>\n#include <stddef.h>\n#include \"ferrule.h\"\n\n",
    );
    let mut table = Vec::new();
    for (i, v) in vectors.iter().enumerate() {
        out += &bytes(&format!("v{i}_payload"), &v.payload);
        out += &bytes(&format!("v{i}_stream"), &v.stream);
        let h = v.header;
        let (comp, dict) = match h.compression {
            Compression::None => (0, 0),
            Compression::Deflate => (1, 0),
            Compression::Shared => (2, 0),
            Compression::SharedRaw => (3, 0),
            Compression::Dictionary(d) => (4, d),
        };
        let ack = h.ack;
        let aead = h.aead;
        let echo = h.echo;
        // Designated initializers: every field of ferrule_header_t by name, so the table
        // stays right when fields are added.
        let fields = [
            ("kind", (h.kind as u8).to_string()),
            ("channel", h.channel.to_string()),
            ("compression", comp.to_string()),
            ("dict_id", dict.to_string()),
            ("session", h.session.to_string()),
            ("has_seq", u8::from(h.seq.is_some()).to_string()),
            ("seq", h.seq.unwrap_or(0).to_string()),
            ("has_ack", u8::from(ack.is_some()).to_string()),
            ("ack_window", ack.map_or(0, |a| a.window).to_string()),
            ("ack_next", ack.map_or(0, |a| a.next).to_string()),
            (
                "has_sack",
                u8::from(ack.is_some_and(|a| a.sack.is_some())).to_string(),
            ),
            ("has_aead", u8::from(aead.is_some()).to_string()),
            ("aead_key_id", aead.map_or(0, |a| a.key_id).to_string()),
            ("has_ts", u8::from(h.ts.is_some()).to_string()),
            (
                "sack",
                format!("{}u", ack.and_then(|a| a.sack).unwrap_or(0)),
            ),
            (
                "aead_counter",
                format!("{}u", aead.map_or(0, |a| a.counter)),
            ),
            ("ts", h.ts.unwrap_or(0).to_string()),
            ("echo_ts", echo.map_or(0, |e| e.ts).to_string()),
            ("has_echo", u8::from(echo.is_some()).to_string()),
            ("echo_hold", echo.map_or(0, |e| e.hold).to_string()),
            ("has_fec", u8::from(h.fec_seq.is_some()).to_string()),
            ("fec_seq", h.fec_seq.unwrap_or(0).to_string()),
        ];
        let header: Vec<String> = fields.iter().map(|(k, v)| format!(".{k} = {v}")).collect();
        table.push(format!(
            "  {{\"{}\", {{{}}}, v{i}_payload, {}, v{i}_stream, {}, {}}}",
            v.name.replace('"', "'"),
            header.join(", "),
            v.payload.len(),
            v.stream.len(),
            u8::from(v.leading_delimiter),
        ));
    }
    out += "\ntypedef struct {\n  const char *name;\n  ferrule_header_t header;\n  const uint8_t *payload;\n  size_t payload_len;\n  const uint8_t *stream;\n  size_t stream_len;\n  int leading_delimiter;\n} vector_t;\n\n";
    out += &format!(
        "static const vector_t VECTORS[{}] = {{\n{}\n}};\n",
        table.len(),
        table.join(",\n")
    );
    print!("{out}");
}
