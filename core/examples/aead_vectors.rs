//! Prints the AEAD test vectors of `docs/PROTOCOL.md` (section 6.6) from the implementation.
//!
//! `cargo run -p ferrule --features aead --example aead_vectors` — `tests/link_aead.rs` checks
//! the document against the code.

use ferrule::aead::{nonce, seal_body, Key, TAG_LEN};
use ferrule::link::session::{caps, Hello};
use ferrule::{Ack, AeadField, FrameKind, Header};

fn hex(b: &[u8]) -> String {
    b.chunks(16)
        .map(|c| {
            c.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n           ")
}

fn print(name: &str, header: Header, clear: &[u8], plain: &[u8], boot: u32, generation: u32) {
    let key_bytes: [u8; 32] = core::array::from_fn(|i| i as u8);
    let a = header.aead.unwrap();
    let n = nonce(boot, generation, a.counter);
    let mut body = vec![0u8; header.len()];
    header.emit(&mut body).unwrap();
    body.extend_from_slice(clear);
    let aad_len = body.len();
    body.extend_from_slice(plain);
    body.extend_from_slice(&[0; TAG_LEN]);
    seal_body(&Key::new(a.key_id, &key_bytes), &n, &mut body, aad_len).unwrap();
    let crc = ferrule::crc::crc32c(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    println!("```aead-vector");
    println!("name:       {name}");
    println!("key:        {}", hex(&key_bytes));
    println!("boot:       {boot:#010x}");
    println!("generation: {generation}");
    println!("counter:    {}", a.counter);
    println!("nonce:      {}", hex(&n));
    println!("aad_len:    {aad_len}");
    println!(
        "plaintext:  {}",
        if plain.is_empty() {
            "-".into()
        } else {
            hex(plain)
        }
    );
    println!("body:       {}", hex(&body));
    println!("```\n");
}

fn main() {
    let boot = 0x0000_002A;
    let hello = Hello {
        epoch: 0x1234_5678,
        peer_epoch: 0,
        max_payload: 128,
        window: 8,
        caps: caps::AEAD,
        boot,
        generation: 0,
    };
    let mut h = Header::control(FrameKind::Hello);
    h.aead = Some(AeadField {
        key_id: 1,
        counter: 0,
    });
    print(
        "sealed HELLO (record in clear)",
        h,
        &hello.to_bytes(),
        &[],
        boot,
        0,
    );
    let mut h = Header::data(0);
    h.kind = FrameKind::Rdata;
    h.session = 0x5A;
    h.seq = Some(258);
    h.aead = Some(AeadField {
        key_id: 1,
        counter: 7,
    });
    print("sealed RDATA", h, &[], b"{\"temp\":21.5}", boot, 3);
    let mut h = Header::control(FrameKind::Ack);
    h.session = 0x5A;
    h.ack = Some(Ack {
        next: 772,
        window: 8,
        sack: None,
    });
    h.aead = Some(AeadField {
        key_id: 2,
        counter: 0xFFFF_FFFE,
    });
    print(
        "sealed ACK (empty payload)",
        h,
        &[],
        &[],
        0xFFFF_FFFF,
        0xFFFF_FFFF,
    );
}
