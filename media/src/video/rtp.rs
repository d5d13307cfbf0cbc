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
mod tests;
