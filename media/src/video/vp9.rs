//! The start of a VP9 frame's uncompressed header (VP9 bitstream spec §6.2): whether it
//! is a keyframe and the size it declares. The receiver needs both before libvpx sees
//! the frame (to wait for a keyframe after a loss, and to refuse a huge picture: any
//! frame of a superframe may declare one, a keyframe, an intra-only frame or an inter
//! frame with a size of its own), and the RTP sender puts the size in the payload
//! descriptor of a keyframe.

// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

/// Reads bits most significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn new(data: &[u8]) -> Bits<'_> {
        Bits { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(b as u32)
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0, |v, _| Some(v << 1 | self.bit()?))
    }
}

#[derive(PartialEq, Eq)]
enum Kind {
    Key,
    /// An inter or intra-only frame.
    Other,
    /// show_existing_frame: a repeat, no new picture.
    Existing,
}

/// The header up to the frame type: the profile and the kind of frame; `None` if it
/// is no VP9.
fn frame_type(r: &mut Bits<'_>) -> Option<(u32, Kind)> {
    if r.bits(2)? != 2 {
        return None; // frame_marker
    }
    let low = r.bit()?;
    let profile = r.bit()? << 1 | low;
    if profile == 3 && r.bit()? != 0 {
        return None; // reserved_zero
    }
    if r.bit()? == 1 {
        return Some((profile, Kind::Existing));
    }
    let kind = if r.bit()? == 0 {
        Kind::Key
    } else {
        Kind::Other
    };
    Some((profile, kind))
}

/// Whether the frame (or the first frame of a superframe) is a keyframe.
pub fn is_keyframe(frame: &[u8]) -> bool {
    frame_type(&mut Bits::new(frame)).is_some_and(|(_, k)| k == Kind::Key)
}

/// The size a keyframe declares; `None` for any other frame.
pub fn keyframe_size(frame: &[u8]) -> Option<(usize, usize)> {
    let r = &mut Bits::new(frame);
    let (profile, Kind::Key) = frame_type(r)? else {
        return None;
    };
    r.bits(2)?; // show_frame, error_resilient_mode
    sync_code(r)?;
    color_config(r, profile)?;
    frame_size(r)
}

fn sync_code(r: &mut Bits<'_>) -> Option<()> {
    (r.bits(24)? == 0x49_83_42).then_some(())
}

fn color_config(r: &mut Bits<'_>, profile: u32) -> Option<()> {
    if profile >= 2 {
        r.bit()?; // ten_or_twelve_bit
    }
    let color_space = r.bits(3)?;
    if color_space != 7 {
        r.bit()?; // color_range
        if profile == 1 || profile == 3 {
            r.bits(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        r.bit()?; // reserved_zero
    }
    Some(())
}

fn frame_size(r: &mut Bits<'_>) -> Option<(usize, usize)> {
    let w = r.bits(16)? as usize + 1;
    let h = r.bits(16)? as usize + 1;
    Some((w, h))
}

/// The size one frame declares of its own: a keyframe's, an intra-only frame's, or an
/// inter frame's that takes no reference's size. `None` when it declares none.
fn declared_size(frame: &[u8]) -> Option<(usize, usize)> {
    let r = &mut Bits::new(frame);
    match frame_type(r)? {
        (_, Kind::Key) => keyframe_size(frame),
        (_, Kind::Existing) => None,
        (profile, Kind::Other) => {
            let show_frame = r.bit()?;
            let error_resilient = r.bit()?;
            let intra_only = if show_frame == 0 { r.bit()? } else { 0 };
            if error_resilient == 0 {
                r.bits(2)?; // reset_frame_context
            }
            if intra_only == 1 {
                sync_code(r)?;
                if profile > 0 {
                    color_config(r, profile)?;
                }
                r.bits(8)?; // refresh_frame_flags
                return frame_size(r);
            }
            r.bits(8)?; // refresh_frame_flags
            r.bits(3 * 4)?; // ref_frame_idx and its sign bias, three times
            for _ in 0..3 {
                if r.bit()? == 1 {
                    return None; // found_ref: a reference's size
                }
            }
            frame_size(r)
        }
    }
}

/// The frames of a superframe (the index at its end, spec Annex B), or the data whole.
fn frames(data: &[u8]) -> Vec<&[u8]> {
    let whole = vec![data];
    let Some(&marker) = data.last() else {
        return whole;
    };
    if marker & 0xe0 != 0xc0 {
        return whole;
    }
    let count = usize::from(marker & 0x07) + 1;
    let bytes = usize::from((marker >> 3) & 0x03) + 1;
    let Some(start) = data.len().checked_sub(2 + bytes * count) else {
        return whole;
    };
    if data.get(start) != Some(&marker) {
        return whole;
    }
    let mut out = Vec::with_capacity(count);
    let mut at = 0usize;
    for i in 0..count {
        let field = start + 1 + i * bytes;
        let Some(field) = data.get(field..field + bytes) else {
            return whole;
        };
        let len = field
            .iter()
            .rev()
            .fold(0usize, |v, b| v << 8 | usize::from(*b));
        let end = at.saturating_add(len).min(start);
        if let Some(frame) = data.get(at..end) {
            out.push(frame);
        }
        at = end;
    }
    out
}

/// The largest picture any frame of `data` (a frame or a superframe) declares.
pub fn largest_declared_size(data: &[u8]) -> Option<(usize, usize)> {
    frames(data)
        .into_iter()
        .filter_map(declared_size)
        .max_by_key(|(w, h)| w.saturating_mul(*h))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A profile 0 keyframe header: marker, profile 0, not shown-existing, key, shown,
    /// not resilient, sync code, BT.601 limited range, then the size less one.
    fn key_header(w: u16, h: u16) -> Vec<u8> {
        let mut bits: Vec<u8> = vec![1, 0, 0, 0, 0, 0, 1, 0];
        for i in (0..24).rev() {
            bits.push((0x49_83_42u32 >> i & 1) as u8);
        }
        bits.extend([0, 0, 1, 0]); // color_space 1 (BT.601), color_range 0
        for v in [w - 1, h - 1] {
            for i in (0..16).rev() {
                bits.push((v >> i & 1) as u8);
            }
        }
        bits.resize(bits.len().div_ceil(8) * 8, 0);
        bits.chunks(8)
            .map(|c| c.iter().fold(0u8, |a, b| a << 1 | b))
            .collect()
    }

    #[test]
    fn a_keyframe_header_gives_its_size() {
        let h = key_header(1920, 1080);
        assert!(is_keyframe(&h));
        assert_eq!(keyframe_size(&h), Some((1920, 1080)));
        // 65536x65536, the most a header can say: read, for the decoder to refuse.
        assert_eq!(
            keyframe_size(&key_header(u16::MAX, u16::MAX)),
            Some((65535, 65535))
        );
    }

    /// Bits, most significant first, packed into bytes.
    fn pack(bits: &[u8]) -> Vec<u8> {
        let mut bits = bits.to_vec();
        bits.resize(bits.len().div_ceil(8) * 8, 0);
        bits.chunks(8)
            .map(|c| c.iter().fold(0u8, |a, b| a << 1 | b))
            .collect()
    }

    fn push(bits: &mut Vec<u8>, v: u32, n: u32) {
        for i in (0..n).rev() {
            bits.push((v >> i & 1) as u8);
        }
    }

    /// A huge size declared by a frame that is no keyframe (intra-only, or an inter
    /// frame with a size of its own), or hidden in a superframe, is seen.
    #[test]
    fn every_frame_that_declares_a_size_is_read() {
        // Intra-only, profile 0: marker, profile 00, not existing, inter, hidden, not
        // resilient, intra_only, reset_frame_context, sync, refresh, size.
        let mut b = vec![1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0];
        push(&mut b, 0x49_83_42, 24);
        push(&mut b, 0xff, 8);
        push(&mut b, 60_000, 16);
        push(&mut b, 50_000, 16);
        let intra = pack(&b);
        assert!(!is_keyframe(&intra));
        assert_eq!(keyframe_size(&intra), None);
        assert_eq!(largest_declared_size(&intra), Some((60_001, 50_001)));
        // Inter, shown, resilient: refresh, three refs, no found_ref, a size.
        let mut b = vec![1, 0, 0, 0, 0, 1, 1, 1];
        push(&mut b, 0x01, 8);
        push(&mut b, 0, 12);
        push(&mut b, 0, 3);
        push(&mut b, 40_000, 16);
        push(&mut b, 40_000, 16);
        assert_eq!(largest_declared_size(&pack(&b)), Some((40_001, 40_001)));
        // The same with found_ref on the first: no size of its own.
        let mut b = vec![1, 0, 0, 0, 0, 1, 1, 1];
        push(&mut b, 0x01, 8);
        push(&mut b, 0, 12);
        push(&mut b, 1, 1);
        assert_eq!(largest_declared_size(&pack(&b)), None);
        // A superframe: a small keyframe, then the intra-only frame (index: 2 frames,
        // 1 byte each).
        let key = key_header(320, 240);
        let mut sf = key.clone();
        sf.extend(&intra);
        let marker = 0xc0 | 0x01;
        sf.extend([marker, key.len() as u8, intra.len() as u8, marker]);
        assert_eq!(largest_declared_size(&sf), Some((60_001, 50_001)));
        assert_eq!(largest_declared_size(&key), Some((320, 240)));
        // A broken index is read as one frame; nothing is read out of bounds.
        let mut bad = sf.clone();
        let n = bad.len();
        bad[n - 4] = 0xc8;
        assert_eq!(largest_declared_size(&bad), Some((320, 240)));
        for cut in 0..sf.len() {
            let _ = largest_declared_size(&sf[..cut]);
        }
    }

    #[test]
    fn inter_frames_repeats_and_garbage_are_not_keyframes() {
        // frame_marker 10, profile 0, show_existing 0, frame_type 1 (inter).
        assert!(!is_keyframe(&[0b1000_0100]));
        assert_eq!(keyframe_size(&[0b1000_0100, 0, 0, 0, 0, 0, 0]), None);
        // show_existing_frame.
        assert!(!is_keyframe(&[0b1000_1000]));
        // Not VP9 (a VP8 keyframe's tag), empty, cut short, a wrong sync code.
        assert!(!is_keyframe(&[0x50, 0x42]));
        assert!(!is_keyframe(&[]));
        assert_eq!(keyframe_size(&key_header(640, 480)[..4]), None);
        let mut bad = key_header(640, 480);
        bad[1] ^= 0xff;
        assert_eq!(keyframe_size(&bad), None);
    }
}
