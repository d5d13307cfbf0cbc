//! RTP payload for redundant audio (RFC 2198, `red/48000/2`), as Chromium negotiates it
//! for Opus: each packet carries the current frame and copies of the one or two before
//! it, so a lost packet's frame arrives 20 ms later with the next one. At 5 % random
//! loss a frame is then lost only when two (or three) packets in a row are.
//!
//! Pure functions over byte slices: the writer task packs, the receive task unpacks.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::jitter::FRAME_SAMPLES;

/// The payload type we register for RED (Chromium's).
pub const PAYLOAD_TYPE: u8 = 63;
/// Redundant blocks a packet may carry (more are not read).
pub const MAX_BLOCKS: usize = 4;
/// A block's length field is 10 bits; its timestamp offset 14 bits.
const MAX_BLOCK_LEN: usize = 1023;
const MAX_OFFSET: u32 = 0x3fff;

/// One redundant block: a copy of an earlier frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    pub payload_type: u8,
    /// How far (in RTP timestamp units) before the packet's timestamp it belongs.
    pub offset: u32,
    pub data: &'a [u8],
}

/// A RED packet taken apart, without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpacked<'a> {
    pub primary_type: u8,
    pub primary: &'a [u8],
    blocks: [Option<Block<'a>>; MAX_BLOCKS],
    /// Blocks the packet had, including any beyond `MAX_BLOCKS`.
    pub count: usize,
}

impl<'a> Unpacked<'a> {
    /// The redundant blocks read, oldest first.
    pub fn blocks(&self) -> impl Iterator<Item = Block<'a>> + '_ {
        self.blocks.iter().flatten().copied()
    }
}

/// Takes a RED payload apart. `None` when the headers do not fit the payload (a
/// truncated or hostile packet): the packet is then dropped, as a lost one would be.
pub fn unpack(payload: &[u8]) -> Option<Unpacked<'_>> {
    let mut headers: [(u8, u32, usize); MAX_BLOCKS] = [(0, 0, 0); MAX_BLOCKS];
    let mut count = 0;
    let mut at = 0;
    let primary_type = loop {
        let first = *payload.get(at)?;
        if first & 0x80 == 0 {
            at += 1;
            break first & 0x7f;
        }
        let h = payload.get(at..at + 4)?;
        let (b1, b2, b3) = (*h.get(1)? as u32, *h.get(2)? as u32, *h.get(3)? as u32);
        let offset = (b1 << 6) | (b2 >> 2);
        let len = (((b2 & 0x03) << 8) | b3) as usize;
        if let Some(slot) = headers.get_mut(count) {
            *slot = (first & 0x7f, offset, len);
        }
        count += 1;
        at += 4;
    };
    let mut blocks = [None; MAX_BLOCKS];
    // Every block's data comes first, in header order, whether we keep it or not.
    for i in 0..count {
        let len = match headers.get(i) {
            Some(&(pt, offset, len)) => {
                let data = payload.get(at..at + len)?;
                if let Some(b) = blocks.get_mut(i) {
                    *b = Some(Block {
                        payload_type: pt,
                        offset,
                        data,
                    });
                }
                len
            }
            // Beyond what we read: its length is unknown to us, so is the primary.
            None => return None,
        };
        at += len;
    }
    Some(Unpacked {
        primary_type,
        primary: payload.get(at..)?,
        blocks,
        count,
    })
}

/// Packs `primary` and the earlier frames in `history` (oldest first, each with its
/// timestamp) into `out`. A frame is left out when it would not fit the format (too
/// long, too old) or would push the packet past `max_len`.
pub fn pack(
    out: &mut Vec<u8>,
    payload_type: u8,
    ts: u32,
    primary: &[u8],
    history: &[(u32, &[u8])],
    max_len: usize,
) {
    out.clear();
    let fits = |offset: u32, data: &[u8]| {
        offset > 0 && offset <= MAX_OFFSET && !data.is_empty() && data.len() <= MAX_BLOCK_LEN
    };
    let mut room = max_len.saturating_sub(primary.len() + 1);
    let mut take = [false; MAX_BLOCKS];
    // Newest first: when room runs out, the oldest copy is the one left out.
    for (i, (t, data)) in history.iter().enumerate().rev() {
        let offset = ts.wrapping_sub(*t);
        if fits(offset, data) && data.len() + 4 <= room {
            if let Some(k) = take.get_mut(i) {
                *k = true;
                room -= data.len() + 4;
            }
        }
    }
    let kept = || {
        history
            .iter()
            .zip(take.iter())
            .filter(|(_, k)| **k)
            .map(|(h, _)| h)
    };
    for (t, data) in kept() {
        let offset = ts.wrapping_sub(*t);
        let len = data.len() as u32;
        out.push(0x80 | (payload_type & 0x7f));
        out.push((offset >> 6) as u8);
        out.push((((offset & 0x3f) << 2) | (len >> 8)) as u8);
        out.push((len & 0xff) as u8);
    }
    out.push(payload_type & 0x7f);
    for (_, data) in kept() {
        out.extend_from_slice(data);
    }
    out.extend_from_slice(primary);
}

/// How many packets before its carrier a block belongs to, when that can be told for
/// sure: 20 ms frames back to back, the block `k` frames old being the `k`-th from the
/// end. Anything else (a DTX gap, frames of another length) is not used.
pub fn distance(block_offset: u32, position_from_end: usize) -> Option<u16> {
    if !block_offset.is_multiple_of(FRAME_SAMPLES) {
        return None;
    }
    let k = block_offset / FRAME_SAMPLES;
    (k as usize == position_from_end && (1..=MAX_BLOCKS as u32).contains(&k)).then_some(k as u16)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_with_two_copies_comes_apart_as_packed() {
        let mut out = Vec::new();
        let (a, b, c) = (vec![1u8; 70], vec![2u8; 80], vec![3u8; 90]);
        pack(
            &mut out,
            111,
            10_000,
            &c,
            &[(10_000 - 1920, &a), (10_000 - 960, &b)],
            1200,
        );
        assert_eq!(out.len(), 4 + 4 + 1 + 70 + 80 + 90);
        let u = unpack(&out).unwrap();
        assert_eq!((u.primary_type, u.primary), (111, &c[..]));
        let blocks: Vec<_> = u.blocks().collect();
        assert_eq!(blocks.len(), 2);
        assert_eq!((blocks[0].offset, blocks[0].data), (1920, &a[..]));
        assert_eq!((blocks[1].offset, blocks[1].data), (960, &b[..]));
        assert_eq!(distance(blocks[0].offset, 2), Some(2));
        assert_eq!(distance(blocks[1].offset, 1), Some(1));
    }

    #[test]
    fn without_history_it_is_the_frame_behind_one_byte() {
        let mut out = Vec::new();
        pack(&mut out, 111, 5, &[9, 9, 9], &[], 1200);
        assert_eq!(out, vec![111, 9, 9, 9]);
        let u = unpack(&out).unwrap();
        assert_eq!(u.primary, &[9, 9, 9]);
        assert_eq!(u.blocks().count(), 0);
    }

    #[test]
    fn the_oldest_copy_is_left_out_when_the_packet_would_be_too_long() {
        let mut out = Vec::new();
        let big = vec![7u8; 500];
        pack(
            &mut out,
            111,
            9600,
            &big,
            &[(9600 - 1920, &big), (9600 - 960, &big)],
            1200,
        );
        let u = unpack(&out).unwrap();
        let blocks: Vec<_> = u.blocks().collect();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].offset, 960);
        assert!(out.len() <= 1200);
    }

    #[test]
    fn copies_the_format_cannot_carry_are_left_out() {
        let mut out = Vec::new();
        let long = vec![1u8; 1100];
        // Too old for 14 bits, too long for 10, and a copy of the frame itself.
        pack(
            &mut out,
            111,
            100_000,
            &[5],
            &[
                (100_000 - 20_000, &[1][..]),
                (99_040, &long),
                (100_000, &[2]),
            ],
            5000,
        );
        assert_eq!(out, vec![111, 5]);
    }

    #[test]
    fn hostile_packets_are_refused_not_read_past_their_end() {
        // Header promises more data than there is.
        assert_eq!(unpack(&[0x80 | 111, 0, 4 << 2, 200, 111, 1, 2]), None);
        // Header cut short.
        assert_eq!(unpack(&[0x80 | 111, 0]), None);
        assert_eq!(unpack(&[]), None);
        // More blocks than we read: refused as a whole.
        let mut many = Vec::new();
        for _ in 0..MAX_BLOCKS + 1 {
            many.extend_from_slice(&[0x80 | 111, 0x0f, 0x00, 0x01]);
        }
        many.push(111);
        many.extend(std::iter::repeat_n(0u8, MAX_BLOCKS + 2));
        assert_eq!(unpack(&many), None);
        // Every byte string is either refused or read within bounds.
        let mut seed = 1u32;
        for _ in 0..20_000 {
            let len = (seed % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            if let Some(u) = unpack(&bytes) {
                let total: usize =
                    u.blocks().map(|b| b.data.len()).sum::<usize>() + u.primary.len();
                assert!(total <= bytes.len());
            }
        }
    }

    #[test]
    fn only_back_to_back_frames_map_to_a_packet() {
        assert_eq!(distance(960, 1), Some(1));
        assert_eq!(distance(1920, 1), None);
        assert_eq!(distance(1000, 1), None);
        assert_eq!(distance(0, 0), None);
    }
}
