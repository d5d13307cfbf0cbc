//! The start of a VP9 frame's uncompressed header (VP9 bitstream spec §6.2): whether it
//! is a keyframe and the size it declares. The receiver needs both before libvpx sees
//! the frame (to wait for a keyframe after a loss, and to refuse a huge picture), and
//! the RTP sender puts the size in the payload descriptor of a keyframe.

// Reads what peers send: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

/// Reads bits most significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
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

/// The header up to the frame type: `(profile, keyframe)`, `None` if it is no VP9.
fn frame_type(r: &mut Bits<'_>) -> Option<(u32, bool)> {
    if r.bits(2)? != 2 {
        return None; // frame_marker
    }
    let low = r.bit()?;
    let profile = r.bit()? << 1 | low;
    if profile == 3 && r.bit()? != 0 {
        return None; // reserved_zero
    }
    if r.bit()? == 1 {
        return Some((profile, false)); // show_existing_frame: a repeat, no new picture
    }
    Some((profile, r.bit()? == 0))
}

/// Whether the frame (or the first frame of a superframe) is a keyframe.
pub fn is_keyframe(frame: &[u8]) -> bool {
    frame_type(&mut Bits {
        data: frame,
        pos: 0,
    })
    .is_some_and(|(_, key)| key)
}

/// The size a keyframe declares; `None` for any other frame.
pub fn keyframe_size(frame: &[u8]) -> Option<(usize, usize)> {
    let r = &mut Bits {
        data: frame,
        pos: 0,
    };
    let (profile, true) = frame_type(r)? else {
        return None;
    };
    r.bits(2)?; // show_frame, error_resilient_mode
    if r.bits(24)? != 0x49_83_42 {
        return None; // frame_sync_code
    }
    // color_config
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
    let w = r.bits(16)? as usize + 1;
    let h = r.bits(16)? as usize + 1;
    Some((w, h))
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
