//! The assembler's and the payload formats' tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use super::*;
use bytes::Bytes;
use rtc::rtp::codec::vp8::Vp8Payloader;
use rtc::rtp::packetizer::Payloader;

const BOTH: [Codec; 2] = [Codec::Vp8, Codec::Vp9];

fn packets(codec: Codec, frame: &[u8], mtu: usize) -> Vec<Bytes> {
    match codec {
        Codec::Vp8 => {
            let mut p = Vp8Payloader::default();
            p.enable_picture_id = true;
            p.payload(mtu, &Bytes::copy_from_slice(frame)).unwrap()
        }
        Codec::Vp9 => Vp9Payloader::new().payload(mtu, frame),
    }
}

fn frame(n: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| n.wrapping_add(i as u8)).collect()
}

/// Endless packets for one frame, never completed: memory stays bounded, and the
/// frame is given up once newer ones come.
#[test]
fn a_frame_of_endless_packets_is_bounded() {
    let mut a = Assembler::new();
    for seq in 0..10_000u16 {
        assert!(a
            .push(Codec::Vp8, seq, 90, false, &[0x10, 1, 2, 3])
            .is_empty());
    }
    assert_eq!(a.pending.len(), 1);
    assert_eq!(a.pending[0].parts.len(), MAX_PARTS);
    // Big packets for many frames that never complete: the bytes held are capped.
    let mut b = Assembler::new();
    let big = [&[0x10u8][..], &[7u8; 1200][..]].concat();
    for i in 0..20_000u32 {
        b.push(Codec::Vp8, i as u16, 100 + i / 1000, false, &big);
        assert!(b.bytes <= MAX_BYTES + big.len(), "{} bytes held", b.bytes);
    }
    assert_eq!(b.bytes, b.pending.iter().map(Pending::bytes).sum::<usize>());
    // Random bytes as payloads, with random sequence numbers and timestamps: no
    // panic, and nothing unbounded.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let r = next();
        let len = (r % 40) as usize;
        let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        a.push(
            BOTH[(r >> 41) as usize & 1],
            r as u16,
            (r >> 16) as u32 % 200_000,
            r & 1 << 40 != 0,
            &payload,
        );
        assert!(a.pending.len() <= MAX_PENDING);
    }
}

#[test]
fn frames_come_back_whole_and_in_order_despite_reordering() {
    for codec in BOTH {
        reordered(codec);
    }
}

fn reordered(codec: Codec) {
    let mut a = Assembler::new();
    let mut seq = 65_530u16; // wraps inside the test
    let mut all = Vec::new();
    for n in 0..4u8 {
        let f = frame(n, 3000);
        let parts = packets(codec, &f, 1000);
        assert!(parts.len() > 1);
        let count = parts.len();
        for (i, p) in parts.into_iter().enumerate() {
            all.push((seq, n as u32 * 3000, i + 1 == count, p));
            seq = seq.wrapping_add(1);
        }
    }
    // Swap neighbours inside the first frame and across frames 1 and 2.
    all.swap(0, 1);
    let k = all.iter().position(|x| x.1 == 6000).unwrap();
    all.swap(k - 1, k);
    let mut out = Vec::new();
    for (seq, ts, m, p) in &all {
        out.extend(a.push(codec, *seq, *ts, *m, p));
    }
    assert_eq!(out.len(), 4);
    for (n, f) in out.iter().enumerate() {
        assert_eq!(f.data, frame(n as u8, 3000), "{codec} frame {n}");
        assert_eq!(f.codec, codec);
        assert!(!f.after_loss, "{codec} frame {n}");
    }
}

/// Ten frames, 33 ms apart; frame 1 loses its second packet. `resend`: the packet
/// comes again (after a NACK) once frame 3 is in.
fn run_with_loss(codec: Codec, resend: bool) -> Vec<Frame> {
    let mut a = Assembler::new();
    let mut seq = 0u16;
    let mut out = Vec::new();
    let mut lost = None;
    for n in 0..10u8 {
        let parts = packets(codec, &frame(n, 2500), 1000);
        let count = parts.len();
        for (i, p) in parts.into_iter().enumerate() {
            let ts = n as u32 * 3000;
            if n == 1 && i == 1 {
                lost = Some((seq, ts, i + 1 == count, p));
            } else {
                out.extend(a.push(codec, seq, ts, i + 1 == count, &p));
            }
            seq += 1;
        }
        if n == 3 && resend {
            let (seq, ts, m, p) = lost.take().unwrap();
            out.extend(a.push(codec, seq, ts, m, &p));
        }
    }
    out
}

#[test]
fn a_retransmitted_packet_completes_its_frame_in_order() {
    for codec in BOTH {
        let out = run_with_loss(codec, true);
        let ts: Vec<u32> = out.iter().map(|f| f.ts).collect();
        assert_eq!(ts, (0..10).map(|n| n * 3000).collect::<Vec<_>>());
        assert!(out.iter().all(|f| !f.after_loss));
        assert_eq!(out[1].data, frame(1, 2500));
    }
}

#[test]
fn a_packet_never_resent_drops_its_frame_and_flags_the_next() {
    for codec in BOTH {
        let out = run_with_loss(codec, false);
        let ts: Vec<u32> = out.iter().map(|f| f.ts).collect();
        // Frame 1 is given up once 200 ms newer frames are in; the others come out.
        assert_eq!(ts[0], 0);
        assert_eq!(ts[1], 6000);
        assert!(!out[0].after_loss);
        assert!(out[1].after_loss);
        assert!(out[2..].iter().all(|f| !f.after_loss));
    }
}

/// Padding-only packets between frames (libwebrtc's bandwidth probes) are no loss.
#[test]
fn padding_between_frames_is_no_loss() {
    let mut a = Assembler::new();
    let mut seq = 100u16;
    let mut out = Vec::new();
    for n in 0..3u8 {
        let parts = packets(Codec::Vp8, &frame(n, 1500), 1000);
        let count = parts.len();
        for (i, p) in parts.into_iter().enumerate() {
            out.extend(a.push(Codec::Vp8, seq, n as u32 * 3000, i + 1 == count, &p));
            seq += 1;
        }
        for _ in 0..3 {
            out.extend(a.push(Codec::Vp8, seq, n as u32 * 3000, false, &[]));
            seq += 1;
        }
    }
    assert_eq!(out.len(), 3);
    assert!(
        out.iter().all(|f| !f.after_loss),
        "{:?}",
        out.iter().map(|f| f.after_loss).collect::<Vec<_>>()
    );
}

#[test]
fn descriptor_variants_and_garbage() {
    // No extension, start of partition 0.
    assert_eq!(
        depacketize(Codec::Vp8, &[0x10, 0xaa]),
        Some(Part {
            start: true,
            data: &[0xaa]
        })
    );
    // X, I with a 15-bit picture id, L, T: 5 bytes of descriptor.
    let p = [0x90, 0xe0, 0x81, 0x02, 0x03, 0x04, 0xbb];
    assert_eq!(depacketize(Codec::Vp8, &p).unwrap().data, &[0xbb]);
    // Continuation packet.
    assert!(!depacketize(Codec::Vp8, &[0x00, 1]).unwrap().start);
    assert_eq!(depacketize(Codec::Vp8, &[]), None);
    assert_eq!(depacketize(Codec::Vp8, &[0x90]), None);
    assert!(is_keyframe(Codec::Vp8, &[0x50]) && !is_keyframe(Codec::Vp8, &[0x51]));
}

/// VP9 descriptors as libwebrtc sends them (non-flexible, with layer indices and
/// TL0PICIDX, the scalability structure on a keyframe) and as we do (flexible, with
/// P_DIFF), and ones that are cut short.
#[test]
fn vp9_descriptor_variants_and_garbage() {
    fn vp9(p: &[u8]) -> Option<Part<'_>> {
        depacketize(Codec::Vp9, p)
    }
    // I (15-bit id), L, non-flexible (TL0PICIDX), B, V: SS of one layer with its
    // size and a picture group of one entry with one reference.
    let p = [
        0xaa, 0x81, 0x02, 0x00, 0x07, 0x18, 0x05, 0x00, 0x02, 0xd0, 0x01, 0x04, 0x01, 0xee,
    ];
    assert_eq!(
        vp9(&p),
        Some(Part {
            start: true,
            data: &[0xee]
        })
    );
    // Flexible, P with two P_DIFFs (N set on the first), E: a continuation.
    let p = [0xd4, 0x05, 0x03, 0x04, 0xcc];
    assert_eq!(
        vp9(&p),
        Some(Part {
            start: false,
            data: &[0xcc]
        })
    );
    // A higher spatial layer's first packet does not start a frame.
    assert!(!vp9(&[0xa8, 0x05, 0x02, 0x00, 0xdd]).unwrap().start);
    // Four P_DIFFs, an SS cut short, nothing after the descriptor.
    assert_eq!(vp9(&[0xd8, 0x05, 0x03, 0x03, 0x03, 0x02, 0xcc]), None);
    assert_eq!(vp9(&[0x8a, 0x05, 0x10, 0x05]), None);
    assert_eq!(vp9(&[0x88, 0x05]), None);
    assert_eq!(vp9(&[]), None);
}

/// Our VP9 packets: a keyframe starts with its size and no reference, an inter
/// frame names the picture before it, the picture id counts up, the last packet
/// ends the frame, and nothing exceeds the size asked for.
#[test]
fn vp9_packets_say_what_a_receiver_needs() {
    use crate::video::vpx::{Content, Encoder};
    use crate::video::{pattern, I420};
    let mut enc = Encoder::with_content(Codec::Vp9, 640, 480, 800, Content::Camera).unwrap();
    let mut pic = I420::new(640, 480);
    let mut pay = Vp9Payloader::new();
    let mut ids = Vec::new();
    for n in 0..3u32 {
        pattern::draw(n, &mut pic);
        let e = enc.encode(&pic, n as i64 * 3000, false).unwrap().unwrap();
        let data = e.data.to_vec();
        let parts = pay.payload(300, &data);
        assert!(parts.len() > 1 || n > 0, "a keyframe fills packets");
        assert!(parts.iter().all(|p| p.len() <= 300));
        let first = &parts[0];
        ids.push(u16::from_be_bytes([first[1], first[2]]) & 0x7fff);
        assert_eq!(first[0] & VP9_B, VP9_B);
        assert!(parts[..parts.len() - 1].iter().all(|p| p[0] & VP9_E == 0));
        assert_eq!(parts.last().unwrap()[0] & VP9_E, VP9_E);
        if n == 0 {
            assert_eq!(first[0] & (VP9_P | VP9_V), VP9_V, "a keyframe");
            assert_eq!(&first[3..8], &[0x10, 0x02, 0x80, 0x01, 0xe0], "640x480");
        } else {
            assert_eq!(first[0] & (VP9_P | VP9_V), VP9_P, "an inter frame");
            assert_eq!(first[3], 0x02, "P_DIFF 1");
        }
        let mut a = Assembler::new();
        let mut whole = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            whole.extend(a.push(Codec::Vp9, i as u16, 0, i + 1 == parts.len(), p));
        }
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].data, data, "frame {n} back as it was");
        assert_eq!(is_keyframe(Codec::Vp9, &whole[0].data), n == 0);
    }
    assert_eq!(ids[1], (ids[0] + 1) & 0x7fff);
    assert_eq!(ids[2], (ids[1] + 1) & 0x7fff);
}
