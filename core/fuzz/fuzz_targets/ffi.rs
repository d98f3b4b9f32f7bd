//! The C API entry points that take untrusted bytes, called as C would: a decoder of a
//! capacity the input picks (`ferrule_decoder_init` over a block of any size) fed arbitrary
//! bytes in chunks, and a link of a configuration the input picks (`ferrule_link_init`)
//! driven with arbitrary stream bytes or datagrams, timeouts, polls and receives.
//! Invariants: no panic (FERRULE_ERR_PANIC), `consumed` within the input and progressing,
//! frames inside the caller's block, lengths within the caller's buffers.
#![no_main]

use ferrule_ffi::ferrule_status;
use ferrule_ffi::frame::*;
use ferrule_ffi::link::*;
use libfuzzer_sys::fuzz_target;

fn ok(s: ferrule_status) -> ferrule_status {
    assert_ne!(s, ferrule_status::FERRULE_ERR_PANIC);
    s
}

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b, c, d, e, f], rest)) = data.split_first_chunk::<6>() else {
        return;
    };
    // ---- decoder
    let mem_len = ferrule_decoder_size().min(40 + usize::from(a) * 4);
    let mut mem = vec![0u64; mem_len / 8 + 1];
    let mut dec: *mut ferrule_decoder_t = core::ptr::null_mut();
    let base = mem.as_mut_ptr() as usize;
    let st = unsafe { ferrule_decoder_init(mem.as_mut_ptr().cast(), mem_len, &mut dec) };
    if ok(st) == ferrule_status::FERRULE_OK {
        let step = 1 + usize::from(b % 64);
        for chunk in rest.chunks(step) {
            let mut c = chunk;
            let mut guard = 0;
            while !c.is_empty() {
                let mut consumed = usize::MAX;
                let mut frame = core::mem::MaybeUninit::<ferrule_frame_t>::zeroed();
                let st = ok(unsafe {
                    ferrule_decoder_feed(
                        dec,
                        c.as_ptr(),
                        c.len(),
                        &mut consumed,
                        frame.as_mut_ptr(),
                    )
                });
                assert!(consumed <= c.len());
                if st == ferrule_status::FERRULE_OK {
                    let fr = unsafe { frame.assume_init() };
                    let p = fr.payload as usize;
                    assert!(
                        p >= base && p + fr.payload_len <= base + mem_len,
                        "frame outside block"
                    );
                }
                c = &c[consumed..];
                guard += 1;
                assert!(guard < 10_000, "no progress");
            }
        }
    }
    // ---- link
    let mut cfg = ferrule_link_config_default();
    cfg.transport = c & 1;
    cfg.window = 1 + c / 2 % 16;
    cfg.receive_window = d % (cfg.window + 1);
    cfg.max_message = 1 + u16::from(e) * 2;
    cfg.keepalive_ms = u32::from(f % 4) * 50;
    cfg.ack_delay_ms = u32::from(f / 4 % 4) * 10;
    cfg.dupthresh = 1 + f / 16 % 4;
    cfg.leading_delimiter = d & 0x80 != 0;
    let size = unsafe { ferrule_link_storage_size(&cfg) };
    if size == 0 {
        return;
    }
    let mut lmem = vec![0u64; size / 8 + 1];
    let mut link: *mut ferrule_link_t = core::ptr::null_mut();
    let st = ok(unsafe { ferrule_link_init(lmem.as_mut_ptr().cast(), size, &cfg, 7, &mut link) });
    assert_eq!(st, ferrule_status::FERRULE_OK);
    let frame_len = ferrule_link_max_frame_len(cfg.max_message);
    let mut out = vec![0u8; frame_len];
    let mut msg = vec![0u8; usize::from(cfg.max_message)];
    let mut now = 0u64;
    // Input pieces separated by 0xA5: first byte picks what to do with the rest.
    for piece in rest.split(|&b| b == 0xA5) {
        let Some((&op, body)) = piece.split_first() else {
            continue;
        };
        unsafe {
            match op % 6 {
                0 => {
                    ok(ferrule_link_handle_input(
                        link,
                        body.as_ptr(),
                        body.len(),
                        now,
                    ));
                }
                1 => {
                    ok(ferrule_link_handle_datagram(
                        link,
                        body.as_ptr(),
                        body.len(),
                        now,
                    ));
                }
                2 => {
                    now += u64::from(op) * 3;
                    ok(ferrule_link_handle_timeout(link, now));
                }
                3 => {
                    let mut id = 0u32;
                    ok(ferrule_link_send(
                        link,
                        op >> 7,
                        body.as_ptr(),
                        body.len(),
                        now,
                        &mut id,
                    ));
                }
                4 => {
                    let mut ev = core::mem::MaybeUninit::zeroed();
                    while ok(ferrule_link_poll_event(link, ev.as_mut_ptr()))
                        == ferrule_status::FERRULE_OK
                    {}
                    let mut r = core::mem::MaybeUninit::zeroed();
                    let cap = usize::from(op) % (msg.len() + 1);
                    let _ = ok(ferrule_link_recv(
                        link,
                        msg.as_mut_ptr(),
                        cap,
                        r.as_mut_ptr(),
                    ));
                }
                _ => {}
            }
            let mut guard = 0;
            loop {
                let mut n = usize::MAX;
                let st = ok(ferrule_link_poll_transmit(
                    link,
                    now,
                    out.as_mut_ptr(),
                    out.len(),
                    &mut n,
                ));
                if st != ferrule_status::FERRULE_OK {
                    break;
                }
                assert!(n <= out.len());
                guard += 1;
                assert!(guard < 1000);
            }
            let mut dl = 0u64;
            ok(ferrule_link_poll_timeout(link, &mut dl));
        }
    }
});
