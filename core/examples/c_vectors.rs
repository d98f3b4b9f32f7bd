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
    let doc = include_str!("../../docs/PROTOCOL.md");
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
        table.push(format!(
            "  {{\"{}\", {{{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, {}u, {}u}}, v{i}_payload, {}, v{i}_stream, {}, {}}}",
            v.name.replace('"', "'"),
            h.kind as u8,
            h.channel,
            comp,
            dict,
            h.session,
            u8::from(h.seq.is_some()),
            h.seq.unwrap_or(0),
            u8::from(ack.is_some()),
            ack.map_or(0, |a| a.window),
            ack.map_or(0, |a| a.next),
            u8::from(ack.is_some_and(|a| a.sack.is_some())),
            u8::from(aead.is_some()),
            aead.map_or(0, |a| a.key_id),
            ack.and_then(|a| a.sack).unwrap_or(0),
            aead.map_or(0, |a| a.counter),
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
