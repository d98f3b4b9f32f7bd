//! Replays across sessions, as an attacker on the line would do them (feature `aead`,
//! `docs/PROTOCOL.md` section 6.1).
//!
//! A recording phase runs many sessions between a victim V and its peer P: reboots of either
//! side and both, sessions that end by silence, by CLOSE and by a peer's reboot, with some
//! loss so retransmissions are recorded too. Every frame of every direction is kept. Then the
//! attacker replays them into V in every order we could think of — hellos cycled hundreds of
//! times, each old session's hello followed by that session's frames (the attack that worked
//! against wire format 1), everything forwards, backwards and shuffled — while V is up with
//! the live P, while V is down after a reboot, and while P is silent. V must deliver no old
//! message, lose no live one, keep its live session, and count every replayed frame.
//!
//! The last test shows why the rule on seeds matters: a victim that reuses its seed after a
//! reboot is replayable, exactly as the documentation says.
#![cfg(feature = "aead")]

mod common;

use common::link::{received, rejects, sealed};
use ferrule::link::{Config, Event, Link, LinkStats, Transport};
use ferrule::{Frame, FrameKind};

const M: usize = 64;
const W: usize = 4;
const PSK: [u8; 32] = *b"replay campaign pre-shared key!!";

fn cfg() -> Config {
    Config {
        transport: Transport::Datagram,
        keepalive: 100,
        rto_initial: 20,
        rto_min: 5,
        rto_max: 200,
        ..Config::default()
    }
}

/// The seed of boot `boot` of device `device`: a device number above a boot counter kept in
/// non-volatile memory, as the documentation tells users to do.
fn seed(device: u64, boot: u64) -> u64 {
    device << 32 | boot
}

fn node(device: u64, boot: u64) -> Link<'static> {
    sealed(cfg(), seed(device, boot), 1, &PSK, W, M)
}

/// xorshift64*: seeded, deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Two links, a clock, a lossy wire that records every frame, and what each side delivered.
struct World {
    v: Link<'static>,
    p: Link<'static>,
    v_boot: u64,
    p_boot: u64,
    now: u64,
    rng: Rng,
    /// Drop probability per frame (per mille).
    loss: u64,
    /// Every frame V sent and every frame P sent, with the session they belong to.
    recorded: Vec<(bool, Vec<u8>)>,
    /// What V delivered (message texts), and what P delivered.
    v_got: Vec<Vec<u8>>,
    p_got: Vec<Vec<u8>>,
    /// Messages sent to V that it must deliver (the live ones are checked separately).
    sent_to_v: Vec<Vec<u8>>,
    v_events: Vec<Event>,
    /// `recorded.len()` each time V reported Up: where its sessions start on the tape.
    up_marks: Vec<usize>,
    /// P is silent: its frames are not delivered and it receives nothing.
    p_silent: bool,
}

impl World {
    fn new() -> Self {
        Self {
            v: node(0xA, 1),
            p: node(0xB, 1),
            v_boot: 1,
            p_boot: 1,
            now: 0,
            rng: Rng(0x5EED),
            loss: 50,
            recorded: Vec::new(),
            v_got: Vec::new(),
            p_got: Vec::new(),
            sent_to_v: Vec::new(),
            v_events: Vec::new(),
            up_marks: Vec::new(),
            p_silent: false,
        }
    }

    fn step(&mut self, ms: u64) {
        let mut buf = vec![0u8; self.v.max_frame_len()];
        for _ in 0..ms {
            for from_v in [true, false] {
                loop {
                    let (src, dst) = if from_v {
                        (&mut self.v, &mut self.p)
                    } else {
                        (&mut self.p, &mut self.v)
                    };
                    let Ok(Some(n)) = src.poll_transmit(self.now, &mut buf) else {
                        break;
                    };
                    if self.p_silent && !from_v {
                        continue;
                    }
                    self.recorded.push((from_v, buf[..n].to_vec()));
                    let lost = self.rng.next() % 1000 < self.loss;
                    if !lost && !self.p_silent {
                        dst.handle_datagram(&buf[..n], self.now);
                    }
                }
            }
            self.v_got.extend(received(&mut self.v));
            self.p_got.extend(received(&mut self.p));
            while let Some(e) = self.v.poll_event() {
                if e == Event::Up {
                    self.up_marks.push(self.recorded.len());
                }
                self.v_events.push(e);
            }
            while self.p.poll_event().is_some() {}
            self.now += 1;
            self.v.handle_timeout(self.now);
            self.p.handle_timeout(self.now);
        }
    }

    fn up(&mut self) {
        for _ in 0..400 {
            if self.v.is_up() && self.p.is_up() {
                return;
            }
            self.step(5);
        }
        panic!("no session: v {:?} p {:?}", self.v.stats(), self.p.stats());
    }

    /// Exchanges `n` messages each way, named by `tag`, and waits until all are delivered.
    fn exchange(&mut self, tag: &str, n: usize) {
        self.up();
        for i in 0..n {
            let to_v = format!("{tag} p->v {i}").into_bytes();
            let to_p = format!("{tag} v->p {i}").into_bytes();
            while self.p.send(0, &to_v, self.now).is_err()
                || self.v.send(0, &to_p, self.now).is_err()
            {
                self.step(1);
            }
            self.sent_to_v.push(to_v);
        }
        for _ in 0..2000 {
            if self.v.acked_before() == self.v_sent_ids() && self.p.send_capacity() == W {
                break;
            }
            self.step(1);
        }
        self.step(20);
    }

    fn v_sent_ids(&self) -> ferrule::link::MessageId {
        // Everything V queued (its next id) has been acknowledged once acked_before reaches it;
        // the send capacity tells the same.
        if self.v.send_capacity() == W {
            self.v.acked_before()
        } else {
            ferrule::link::MessageId(u32::MAX)
        }
    }

    fn reboot_v(&mut self) {
        self.v_boot += 1;
        self.v = node(0xA, self.v_boot);
    }

    fn reboot_p(&mut self) {
        self.p_boot += 1;
        self.p = node(0xB, self.p_boot);
    }

    /// Injects an old frame into V (and sends V's answers on to P, as a live line would).
    fn inject(&mut self, frame: &[u8]) {
        let before = accounted(&self.v.stats());
        let st = self.v.stats();
        self.v.handle_datagram(frame, self.now);
        if std::env::var("DBG").is_ok() && accounted(&self.v.stats()) == before {
            let f = Frame::from_body(frame).unwrap();
            let s2 = self.v.stats();
            eprintln!(
                "uncounted {:?} up={} dup={} ooo={} rx={}",
                f.header,
                self.v.is_up(),
                s2.duplicates - st.duplicates,
                s2.out_of_order - st.out_of_order,
                s2.frames_received - st.frames_received
            );
        }
        self.v_got.extend(received(&mut self.v));
    }
}

/// The counters that move for each replayed frame: a reject, or a hello answered (a pending
/// handshake that no one can complete).
fn accounted(s: &LinkStats) -> u64 {
    u64::from(rejects(s)) + u64::from(s.hellos_answered) + u64::from(s.hello_duplicates)
}

fn kind(frame: &[u8]) -> FrameKind {
    Frame::from_body(frame).unwrap().header.kind
}

/// The recording phase: many sessions, all kinds of endings.
fn record() -> World {
    let mut w = World::new();
    for round in 0..24 {
        match round % 6 {
            0 => w.reboot_v(),
            1 => w.reboot_p(),
            2 => {
                w.reboot_v();
                w.reboot_p();
            }
            3 => {
                // Silence: P stops; both sides give up and start new handshakes.
                w.up();
                w.p_silent = true;
                w.step(900);
                w.p_silent = false;
            }
            4 => {
                w.up();
                w.p.close(w.now);
            }
            _ => {}
        }
        w.exchange(&format!("round {round}"), 12);
    }
    // The recording holds every session's frames.
    let hellos = w
        .recorded
        .iter()
        .filter(|(_, f)| kind(f) == FrameKind::Hello)
        .count();
    assert!(hellos >= 24, "{hellos} hellos recorded");
    w
}

/// Checks V's deliveries since `from`: only messages of `live_tag`, each once, in order.
fn only_live(w: &World, from: usize, live_tag: &str) {
    let got: Vec<String> = w.v_got[from..]
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    for m in &got {
        assert!(
            m.starts_with(live_tag),
            "an old message was delivered again: {m:?}"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for m in &got {
        assert!(seen.insert(m), "delivered twice: {m}");
    }
}

#[test]
fn replays_across_sessions_deliver_nothing_old() {
    let mut w = record();
    w.up();
    // Frames of the session V is still in may arrive late once (a lost frame is not a
    // replay); everything before it must be rejected and counted.
    let live_start = *w.up_marks.last().unwrap();
    let live_tape: Vec<Vec<u8>> = w.recorded[live_start..]
        .iter()
        .map(|(_, f)| f.clone())
        .collect();
    w.recorded.truncate(live_start);
    let recorded = std::mem::take(&mut w.recorded);
    let old_hellos: Vec<Vec<u8>> = recorded
        .iter()
        .filter(|(_, f)| matches!(kind(f), FrameKind::Hello | FrameKind::HelloAck))
        .map(|(_, f)| f.clone())
        .collect();
    // What the attacker can send V: everything P ever sent, V's own frames reflected back, all
    // hellos.
    let to_v: Vec<Vec<u8>> = recorded.iter().map(|(_, f)| f.clone()).collect();
    let mut injected = 0u64;
    let mut hellos_injected = 0u64;

    // --- 1. V is up with the live P; P keeps sending fresh messages through the attack.
    w.loss = 0;
    w.up();
    let events_before = w.v_events.len();
    let from = w.v_got.len();
    let start = accounted(&w.v.stats());
    let mut live = 0;
    let orders: [&dyn Fn(usize, usize) -> usize; 3] =
        [&|i, _| i, &|i, n| n - 1 - i, &|i, n| (i * 7919 + 13) % n];
    for order in orders {
        for i in 0..to_v.len() {
            w.inject(&to_v[order(i, to_v.len())]);
            injected += 1;
            if i % 50 == 0 {
                // The live session goes on between replays.
                let m = format!("live {live}").into_bytes();
                if w.p.send(0, &m, w.now).is_ok() {
                    live += 1;
                }
                let before = accounted(&w.v.stats());
                w.step(3);
                // Live traffic is never rejected: the count below is the attack's alone.
                assert_eq!(accounted(&w.v.stats()), before, "live frames were rejected");
            }
        }
    }
    // Old hellos cycled hundreds of times, each followed by the frames of its session (the
    // attack that worked against wire format 1: tag and sequence numbers came from the
    // epochs alone).
    for cycle in 0..20 {
        for (i, (_, f)) in recorded.iter().enumerate() {
            if matches!(kind(f), FrameKind::Hello) {
                w.inject(f);
                injected += 1;
                hellos_injected += 1;
                for (_, g) in recorded.iter().skip(i + 1).take(12) {
                    w.inject(g);
                    injected += 1;
                }
            }
        }
        if cycle % 5 == 0 {
            w.step(3);
        }
    }
    for h in old_hellos.iter().cycle().take(600) {
        w.inject(h);
        injected += 1;
        hellos_injected += 1;
    }
    let after = accounted(&w.v.stats());
    assert_eq!(after - start, injected, "a replayed frame was not counted");
    // The live session's own frames: accepted at most once each, nothing delivered twice.
    for _ in 0..3 {
        for f in &live_tape {
            w.inject(f);
            injected += 1;
        }
    }
    // The live session survived: no Down, no new Up; every live message delivered once.
    assert_eq!(
        w.v_events[events_before..],
        [],
        "a replay opened or ended a session"
    );
    w.step(200);
    only_live(&w, from, "live ");
    assert_eq!(w.v_got.len() - from, live, "live messages lost");

    // --- 2. V is down: rebooted, cut off from P.
    w.reboot_v();
    w.p_silent = true;
    let from = w.v_got.len();
    let start = accounted(&w.v.stats());
    let mut n2 = 0u64;
    for f in to_v.iter().chain(old_hellos.iter().cycle().take(400)) {
        w.inject(f);
        n2 += 1;
        if n2 % 100 == 0 {
            w.step(2);
        }
    }
    hellos_injected += 400;
    injected += n2;
    assert_eq!(
        accounted(&w.v.stats()) - start,
        n2,
        "a replayed frame was not counted"
    );
    assert!(
        !w.v.is_up(),
        "replays opened a session on a rebooted victim"
    );
    assert_eq!(
        w.v_got.len(),
        from,
        "a rebooted victim delivered a replayed message"
    );

    // --- 3. P comes back: the link recovers, and P goes silent again mid-session while the
    // attacker replays everything, including V's own frames reflected back.
    w.p_silent = false;
    w.exchange("after reboot", 8);
    w.p_silent = true;
    let from = w.v_got.len();
    let start = accounted(&w.v.stats());
    let mut n3 = 0u64;
    for round in 0..3 {
        for f in &to_v {
            w.inject(f);
            n3 += 1;
        }
        // Long enough for V to declare P silent in the second round.
        w.step(if round == 0 { 900 } else { 5 });
    }
    injected += n3;
    assert_eq!(
        accounted(&w.v.stats()) - start,
        n3,
        "a replayed frame was not counted"
    );
    assert!(!w.v.is_up(), "V should have given up on the silent P");
    assert_eq!(w.v_got.len(), from, "delivered during the silence");
    w.p_silent = false;
    w.exchange("final", 8);
    only_live(&w, from, "final ");

    println!("replayed {injected} frames ({hellos_injected} hellos); 0 old messages delivered");
    assert!(
        injected >= 10_000 && hellos_injected >= 1_000,
        "{injected}/{hellos_injected}"
    );
}

/// What happens when a user gets the seed wrong: a victim that boots with the same seed every
/// time draws the same handshake nonce again, and an attacker who recorded a session with it
/// replays that session's hello and frames: the old messages are delivered again. (This is
/// the failure the documentation warns about; the test proves the replay test above can see
/// it.)
#[test]
fn a_reused_seed_makes_old_sessions_replayable() {
    let mut v = sealed(cfg(), 7, 1, &PSK, W, M);
    let mut p = sealed(cfg(), seed(0xB, 1), 1, &PSK, W, M);
    let mut tape = Vec::new();
    let mut buf = vec![0u8; v.max_frame_len()];
    let mut now = 0;
    p.send(0, b"only once", 0).ok();
    for _ in 0..50 {
        while let Ok(Some(n)) = p.poll_transmit(now, &mut buf) {
            tape.push(buf[..n].to_vec());
            v.handle_datagram(&buf[..n], now);
        }
        while let Ok(Some(n)) = v.poll_transmit(now, &mut buf) {
            p.handle_datagram(&buf[..n], now);
        }
        if p.is_up() && p.stats().sent_reliable == 0 {
            p.send(0, b"only once", now).unwrap();
        }
        now += 5;
    }
    assert_eq!(received(&mut v), vec![b"only once".to_vec()]);
    // V reboots with the same seed; the attacker replays P's side of the recording.
    let mut v = sealed(cfg(), 7, 1, &PSK, W, M);
    for f in &tape {
        v.handle_datagram(f, now);
        while v.poll_transmit(now, &mut buf).ok().flatten().is_some() {}
    }
    assert_eq!(
        received(&mut v),
        vec![b"only once".to_vec()],
        "with a repeated seed the old session is replayable"
    );
}
