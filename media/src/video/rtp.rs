//! VP8 (RFC 7741) and VP9 (RFC 9628) over RTP. Receive side: strips the payload
//! descriptor and puts the packets of a frame back together. Sending uses webrtc-rs'
//! `Vp8Payloader` for VP8 and `Vp9Payloader` here for VP9 (webrtc-rs' marks every
//! frame as not predicted from an earlier one, which a libwebrtc receiver reads as
//! "every frame is a keyframe" and so never notices a loss).
//!
//! Written here rather than using `SampleBuilder` because the decoder needs to know
//! *that* something was lost (to wait for a keyframe and ask for one), and a frame is
//! only handed out when every packet from its start to its marker is there.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

pub use super::vpx::Codec;

/// A packet's payload after its descriptor, and whether it starts a frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub start: bool,
    pub data: &'a [u8],
}

/// Parses the payload descriptor. `None` for a packet too short to be one.
pub fn depacketize(codec: Codec, payload: &[u8]) -> Option<Part<'_>> {
    match codec {
        Codec::Vp8 => depacketize_vp8(payload),
        Codec::Vp9 => depacketize_vp9(payload),
    }
}

/// RFC 7741 §4.2.
fn depacketize_vp8(payload: &[u8]) -> Option<Part<'_>> {
    let first = *payload.first()?;
    let mut i = 1;
    if first & 0x80 != 0 {
        let ext = *payload.get(i)?;
        i += 1;
        if ext & 0x80 != 0 {
            // Picture id: 7 or 15 bits.
            let pid = *payload.get(i)?;
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            i += 1; // TID/Y/KEYIDX
        }
    }
    let data = payload.get(i..)?;
    if data.is_empty() {
        return None;
    }
    let start = first & 0x10 != 0 && first & 0x07 == 0;
    Some(Part { start, data })
}

// The VP9 descriptor's first byte (RFC 9628 §4.2): |I|P|L|F|B|E|V|Z|.
const VP9_I: u8 = 0x80;
const VP9_P: u8 = 0x40;
const VP9_L: u8 = 0x20;
const VP9_F: u8 = 0x10;
const VP9_B: u8 = 0x08;
const VP9_E: u8 = 0x04;
const VP9_V: u8 = 0x02;

/// RFC 9628 §4.2, flexible and non-flexible mode. A frame starts at the first packet
/// of its lowest spatial layer: Banter decodes one layer, as libwebrtc sends to one
/// peer.
fn depacketize_vp9(payload: &[u8]) -> Option<Part<'_>> {
    let first = *payload.first()?;
    let mut i = 1;
    if first & VP9_I != 0 {
        let pid = *payload.get(i)?;
        i += if pid & 0x80 != 0 { 2 } else { 1 };
    }
    let mut sid = 0;
    if first & VP9_L != 0 {
        sid = (*payload.get(i)? >> 1) & 0x07;
        i += 1;
        if first & VP9_F == 0 {
            i += 1; // TL0PICIDX
        }
    }
    if first & VP9_F != 0 && first & VP9_P != 0 {
        // Up to three P_DIFFs, each with the N bit saying another follows.
        for n in 0.. {
            let d = *payload.get(i)?;
            i += 1;
            if d & 1 == 0 {
                break;
            }
            if n == 2 {
                return None;
            }
        }
    }
    if first & VP9_V != 0 {
        // Scalability structure: N_S|Y|G|-|-|-, sizes, then the picture group.
        let ss = *payload.get(i)?;
        i += 1;
        let layers = (ss >> 5) as usize + 1;
        if ss & 0x10 != 0 {
            i += 4 * layers;
        }
        if ss & 0x08 != 0 {
            let groups = *payload.get(i)?;
            i += 1;
            for _ in 0..groups {
                let g = *payload.get(i)?;
                i += 1 + ((g >> 2) & 0x03) as usize;
            }
        }
    }
    let data = payload.get(i..)?;
    if data.is_empty() {
        return None;
    }
    Some(Part {
        start: first & VP9_B != 0 && sid == 0,
        data,
    })
}

/// Whether an assembled frame is a keyframe.
pub fn is_keyframe(codec: Codec, frame: &[u8]) -> bool {
    match codec {
        // VP8: frame tag bit 0 clear.
        Codec::Vp8 => frame.first().is_some_and(|b| b & 1 == 0),
        Codec::Vp9 => super::vp9::is_keyframe(frame),
    }
}

/// VP9 into RTP packets in flexible mode (RFC 9628 §4.2), one spatial and temporal
/// layer: a 15-bit picture id; an inter frame names the picture before it as its
/// reference (P_DIFF 1), so a receiver knows it cannot decode it after a loss; a
/// keyframe's first packet carries the picture size (the scalability structure).
#[derive(Debug, Default)]
pub struct Vp9Payloader {
    picture_id: u16,
}

impl Vp9Payloader {
    pub fn new() -> Vp9Payloader {
        Vp9Payloader {
            picture_id: rand::random::<u16>() & 0x7fff,
        }
    }

    /// The packets of one frame, each payload at most `mtu` bytes.
    pub fn payload(&mut self, mtu: usize, frame: &[u8]) -> Vec<Bytes> {
        let key = super::vp9::is_keyframe(frame);
        let size = key
            .then(|| super::vp9::keyframe_size(frame))
            .flatten()
            .and_then(|(w, h)| Some((u16::try_from(w).ok()?, u16::try_from(h).ok()?)));
        let mut out = Vec::new();
        let mut rest = frame;
        while !rest.is_empty() {
            let first_packet = out.is_empty();
            let ss = size.filter(|_| first_packet);
            // The descriptor: flags, picture id, a P_DIFF for an inter frame, and the
            // scalability structure (one layer, its size) on a keyframe's first packet.
            let n = 3 + usize::from(!key) + if ss.is_some() { 5 } else { 0 };
            let Some(room) = mtu.checked_sub(n).filter(|r| *r > 0) else {
                return Vec::new();
            };
            let (chunk, tail) = rest.split_at(room.min(rest.len()));
            let mut flags = VP9_I | VP9_F;
            if !key {
                flags |= VP9_P;
            }
            if first_packet {
                flags |= VP9_B;
            }
            if ss.is_some() {
                flags |= VP9_V;
            }
            if tail.is_empty() {
                flags |= VP9_E;
            }
            let mut p = BytesMut::with_capacity(n + chunk.len());
            p.put_u8(flags);
            p.put_u16(0x8000 | self.picture_id);
            if !key {
                p.put_u8(1 << 1); // P_DIFF 1, N 0
            }
            if let Some((w, h)) = ss {
                p.put_u8(0x10); // N_S 0 (one layer), Y (its size), no picture group
                p.put_u16(w);
                p.put_u16(h);
            }
            p.put_slice(chunk);
            out.push(p.freeze());
            rest = tail;
        }
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        out
    }
}

/// A whole frame, with whether anything before it went missing.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub codec: Codec,
    pub ts: u32,
    pub data: Vec<u8>,
    /// Packets or frames between the previous frame handed out and this one were lost:
    /// unless this is a keyframe, the decoder's picture is no longer trustworthy.
    pub after_loss: bool,
}

struct Packet {
    seq: u16,
    start: bool,
    marker: bool,
    data: Vec<u8>,
}

struct Pending {
    codec: Codec,
    ts: u32,
    parts: Vec<Packet>,
}

/// Frames waiting for their packets, oldest first; frames leave in order.
#[derive(Default)]
pub struct Assembler {
    pending: VecDeque<Pending>,
    /// Sequence number of the last packet of the last frame handed out.
    last_end: Option<u16>,
    last_ts: Option<u32>,
    lost: bool,
    /// Sequence numbers of recent padding-only packets.
    padding: VecDeque<u16>,
    /// Bytes held in `pending`.
    bytes: usize,
}

const PADDING_KEPT: usize = 256;

/// How far back (in 90 kHz ticks) an incomplete frame is kept: 200 ms.
const MAX_AGE: u32 = 18_000;
const MAX_PENDING: usize = 32;
/// Packets kept for one frame: a 4K keyframe is a few hundred; a peer sending endless
/// packets with one timestamp must not grow our memory without bound.
const MAX_PARTS: usize = 2048;
/// Bytes held in incomplete frames, all together: beyond it the oldest is given up.
const MAX_BYTES: usize = 8 << 20;

fn newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

impl Assembler {
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// Takes one RTP packet, of the codec its payload type names; returns the frames it
    /// completed.
    pub fn push(
        &mut self,
        codec: Codec,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: &[u8],
    ) -> Vec<Frame> {
        let mut done = Vec::new();
        if payload.is_empty() {
            // Padding only (libwebrtc probes bandwidth with these on the media SSRC when
            // there is no RTX): no picture, but its sequence number is no loss.
            if self.padding.len() == PADDING_KEPT {
                self.padding.pop_front();
            }
            self.padding.push_back(seq);
            return done;
        }
        let Some(part) = depacketize(codec, payload) else {
            return done;
        };
        // Too late: its frame was handed out or given up already.
        if let Some(last) = self.last_ts {
            if !newer(ts, last) {
                tracing::trace!(seq, ts, last, "video packet too late");
                return done;
            }
        }
        let idx = match self.pending.iter().position(|p| p.ts == ts) {
            Some(i) => i,
            None => {
                let at = self
                    .pending
                    .iter()
                    .position(|p| newer(p.ts, ts))
                    .unwrap_or(self.pending.len());
                self.pending.insert(
                    at,
                    Pending {
                        codec,
                        ts,
                        parts: Vec::new(),
                    },
                );
                at
            }
        };
        let Some(frame) = self.pending.get_mut(idx) else {
            return done;
        };
        if frame.parts.len() >= MAX_PARTS
            || frame.parts.iter().any(|p| p.seq == seq)
            || frame.codec != codec
        {
            // A duplicate (a retransmission that raced the original), too many, or
            // another codec's packet with this timestamp.
            return done;
        }
        frame.parts.push(Packet {
            seq,
            start: part.start,
            marker,
            data: part.data.to_vec(),
        });
        self.bytes += part.data.len();
        // Give up on frames too old or too many to wait for.
        let newest = self.pending.back().map(|p| p.ts).unwrap_or(ts);
        while self.pending.len() > MAX_PENDING
            || self.bytes > MAX_BYTES
            || self
                .pending
                .front()
                .is_some_and(|p| newest.wrapping_sub(p.ts) > MAX_AGE)
        {
            if let Some(p) = self.pending.pop_front() {
                self.bytes -= p.bytes();
                tracing::trace!(ts = p.ts, parts = p.parts.len(), "video frame given up");
                self.last_ts = Some(p.ts);
                self.lost = true;
            }
        }
        // Hand out complete frames in order. An incomplete older frame holds the newer
        // ones back until it completes (its missing packet retransmitted after a NACK,
        // which takes 100 ms or more) or grows too old and is given up above.
        while self.pending.front().is_some_and(Pending::complete) {
            let Some(mut p) = self.pending.pop_front() else {
                break;
            };
            self.bytes -= p.bytes();
            let first = p.parts.iter().find(|x| x.start).map(|x| x.seq);
            let base = first.unwrap_or(0);
            p.parts.sort_by_key(|x| x.seq.wrapping_sub(base));
            if let (Some(end), Some(first)) = (self.last_end, first) {
                // Every sequence number between the last frame and this one must have
                // been padding.
                let gap = first.wrapping_sub(end.wrapping_add(1)) as usize;
                if gap > PADDING_KEPT {
                    self.lost = true;
                } else {
                    let mut s = end.wrapping_add(1);
                    while s != first {
                        if !self.padding.contains(&s) {
                            self.lost = true;
                            break;
                        }
                        s = s.wrapping_add(1);
                    }
                }
            }
            self.last_end = p.parts.iter().find(|x| x.marker).map(|x| x.seq);
            self.last_ts = Some(p.ts);
            let mut data = Vec::with_capacity(p.parts.iter().map(|x| x.data.len()).sum());
            for x in &p.parts {
                data.extend_from_slice(&x.data);
            }
            done.push(Frame {
                codec: p.codec,
                ts: p.ts,
                data,
                after_loss: std::mem::take(&mut self.lost),
            });
        }
        done
    }
}

impl Pending {
    fn bytes(&self) -> usize {
        self.parts.iter().map(|p| p.data.len()).sum()
    }

    /// A start packet, a marker packet, and every sequence number between them.
    fn complete(&self) -> bool {
        let Some(start) = self.parts.iter().find(|p| p.start).map(|p| p.seq) else {
            return false;
        };
        let Some(end) = self.parts.iter().find(|p| p.marker).map(|p| p.seq) else {
            return false;
        };
        let span = end.wrapping_sub(start) as usize + 1;
        span <= self.parts.len()
            && self
                .parts
                .iter()
                .filter(|p| (p.seq.wrapping_sub(start) as usize) < span)
                .count()
                == span
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
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
}
