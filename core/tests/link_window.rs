//! `Config::window`: a receiver that advertises a smaller window than its `W` never has more
//! than that many messages in flight towards it, and still gets every message once, in order.

mod common;

use common::link::{drain, handshake, link};
use ferrule::link::{Config, Link, Transport};

const M: usize = 64;
type L = Link<'static>;

fn cfg(window: u8) -> Config {
    Config {
        transport: Transport::Datagram,
        keepalive: 0,
        ack_delay: 0,
        window,
        ..Config::default()
    }
}

fn run(window: u8) -> (usize, Vec<u8>) {
    let mut a: L = link(cfg(0), 1, 8, M);
    let mut b: L = link(cfg(window), 2, 8, M);
    handshake(&mut a, &mut b);
    for i in 0..8u8 {
        a.send(0, &[i; 10], 0).unwrap();
    }
    let mut widest_burst = 0;
    let mut got = Vec::new();
    let mut msg = [0u8; M];
    for now in 1..50 {
        // Everything A may send before hearing back is one burst.
        let burst = drain(&mut a, now);
        widest_burst = widest_burst.max(burst.len());
        for d in burst {
            b.handle_datagram(&d, now);
        }
        while let Ok(Some(r)) = b.recv(&mut msg) {
            got.push(msg[0]);
            assert_eq!(r.len, 10);
        }
        for d in drain(&mut b, now) {
            a.handle_datagram(&d, now);
        }
    }
    assert_eq!(a.stats().retransmissions, 0);
    (widest_burst, got)
}

#[test]
fn a_small_receive_window_caps_messages_in_flight() {
    let (burst, got) = run(2);
    assert_eq!(burst, 2);
    assert_eq!(got, (0..8).collect::<Vec<u8>>());
}

#[test]
fn window_zero_means_the_whole_buffer_and_larger_values_are_capped() {
    assert_eq!(run(0), (8, (0..8).collect()));
    assert_eq!(run(200), (8, (0..8).collect()));
}
