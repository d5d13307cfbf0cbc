//! VP8 over RTP (RFC 7741), receive side: strips the payload descriptor and puts the
//! packets of a frame back together. Sending uses webrtc-rs' `Vp8Payloader`.
//!
//! Written here rather than using `SampleBuilder` because the decoder needs to know
//! *that* something was lost (to wait for a keyframe and ask for one), and a frame is
//! only handed out when every packet from its start to its marker is there.
// Reads what peers and servers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::VecDeque;

/// A VP8 packet's payload after its descriptor, and whether it starts a frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Vp8Part<'a> {
    pub start: bool,
    pub data: &'a [u8],
}

/// Parses the payload descriptor (RFC 7741 §4.2). `None` for a packet too short to be
/// VP8.
pub fn depacketize(payload: &[u8]) -> Option<Vp8Part<'_>> {
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
    Some(Vp8Part { start, data })
}

/// Whether an assembled VP8 frame is a keyframe (frame tag bit 0 clear).
pub fn is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

/// A whole frame, with whether anything before it went missing.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub ts: u32,
    pub data: Vec<u8>,
    /// Packets or frames between the previous frame handed out and this one were lost:
    /// unless this is a keyframe, the decoder's picture is no longer trustworthy.
    pub after_loss: bool,
}

struct Part {
    seq: u16,
    start: bool,
    marker: bool,
    data: Vec<u8>,
}

struct Pending {
    ts: u32,
    parts: Vec<Part>,
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

    /// Takes one RTP packet; returns the frames it completed.
    pub fn push(&mut self, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<Frame> {
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
        let Some(part) = depacketize(payload) else {
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
        if frame.parts.len() >= MAX_PARTS || frame.parts.iter().any(|p| p.seq == seq) {
            return done; // duplicate (a retransmission that raced the original), or too many
        }
        frame.parts.push(Part {
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

    fn packets(frame: &[u8], mtu: usize) -> Vec<Bytes> {
        let mut p = Vp8Payloader::default();
        p.enable_picture_id = true;
        p.payload(mtu, &Bytes::copy_from_slice(frame)).unwrap()
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
            assert!(a.push(seq, 90, false, &[0x10, 1, 2, 3]).is_empty());
        }
        assert_eq!(a.pending.len(), 1);
        assert_eq!(a.pending[0].parts.len(), MAX_PARTS);
        // Big packets for many frames that never complete: the bytes held are capped.
        let mut b = Assembler::new();
        let big = [&[0x10u8][..], &[7u8; 1200][..]].concat();
        for i in 0..20_000u32 {
            b.push(i as u16, 100 + i / 1000, false, &big);
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
        let mut a = Assembler::new();
        let mut seq = 65_530u16; // wraps inside the test
        let mut all = Vec::new();
        for n in 0..4u8 {
            let f = frame(n, 3000);
            let parts = packets(&f, 1000);
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
            out.extend(a.push(*seq, *ts, *m, p));
        }
        assert_eq!(out.len(), 4);
        for (n, f) in out.iter().enumerate() {
            assert_eq!(f.data, frame(n as u8, 3000), "frame {n}");
            assert!(!f.after_loss, "frame {n}");
        }
    }

    /// Ten frames, 33 ms apart; frame 1 loses its second packet. `resend`: the packet
    /// comes again (after a NACK) once frame 3 is in.
    fn run_with_loss(resend: bool) -> Vec<Frame> {
        let mut a = Assembler::new();
        let mut seq = 0u16;
        let mut out = Vec::new();
        let mut lost = None;
        for n in 0..10u8 {
            let parts = packets(&frame(n, 2500), 1000);
            let count = parts.len();
            for (i, p) in parts.into_iter().enumerate() {
                let ts = n as u32 * 3000;
                if n == 1 && i == 1 {
                    lost = Some((seq, ts, i + 1 == count, p));
                } else {
                    out.extend(a.push(seq, ts, i + 1 == count, &p));
                }
                seq += 1;
            }
            if n == 3 && resend {
                let (seq, ts, m, p) = lost.take().unwrap();
                out.extend(a.push(seq, ts, m, &p));
            }
        }
        out
    }

    #[test]
    fn a_retransmitted_packet_completes_its_frame_in_order() {
        let out = run_with_loss(true);
        let ts: Vec<u32> = out.iter().map(|f| f.ts).collect();
        assert_eq!(ts, (0..10).map(|n| n * 3000).collect::<Vec<_>>());
        assert!(out.iter().all(|f| !f.after_loss));
        assert_eq!(out[1].data, frame(1, 2500));
    }

    #[test]
    fn a_packet_never_resent_drops_its_frame_and_flags_the_next() {
        let out = run_with_loss(false);
        let ts: Vec<u32> = out.iter().map(|f| f.ts).collect();
        // Frame 1 is given up once 200 ms newer frames are in; the others come out.
        assert_eq!(ts[0], 0);
        assert_eq!(ts[1], 6000);
        assert!(!out[0].after_loss);
        assert!(out[1].after_loss);
        assert!(out[2..].iter().all(|f| !f.after_loss));
    }

    /// Padding-only packets between frames (libwebrtc's bandwidth probes) are no loss.
    #[test]
    fn padding_between_frames_is_no_loss() {
        let mut a = Assembler::new();
        let mut seq = 100u16;
        let mut out = Vec::new();
        for n in 0..3u8 {
            let parts = packets(&frame(n, 1500), 1000);
            let count = parts.len();
            for (i, p) in parts.into_iter().enumerate() {
                out.extend(a.push(seq, n as u32 * 3000, i + 1 == count, &p));
                seq += 1;
            }
            for _ in 0..3 {
                out.extend(a.push(seq, n as u32 * 3000, false, &[]));
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
            depacketize(&[0x10, 0xaa]),
            Some(Vp8Part {
                start: true,
                data: &[0xaa]
            })
        );
        // X, I with a 15-bit picture id, L, T: 5 bytes of descriptor.
        let p = [0x90, 0xe0, 0x81, 0x02, 0x03, 0x04, 0xbb];
        assert_eq!(depacketize(&p).unwrap().data, &[0xbb]);
        // Continuation packet.
        assert!(!depacketize(&[0x00, 1]).unwrap().start);
        assert_eq!(depacketize(&[]), None);
        assert_eq!(depacketize(&[0x90]), None);
        assert!(is_keyframe(&[0x50]) && !is_keyframe(&[0x51]));
    }
}
