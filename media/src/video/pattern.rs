//! The `pattern` video source: moving colour bars with the frame number burned in as a
//! row of 32 black/white 16x16 blocks (bit 31 first). Blocks that big survive VP8
//! compression, so a receiver can read the number back and prove that frames arrive in
//! order and none are stuck.

// Draws our own test picture; reads nothing from the network.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::I420;

const BLOCK: usize = 16;
const BITS: usize = 32;
/// Where the number is: the top-left corner, one block down.
const TOP: usize = BLOCK;

/// Draws frame `n` into `f` (any size at least 32 blocks wide and 3 blocks high).
pub fn draw(n: u32, f: &mut I420) {
    let (w, h) = (f.width, f.height);
    // Colour bars sliding one pixel per frame: one row drawn, then copied.
    let shift = n as usize % w.max(1);
    for col in 0..w {
        let bar = ((col + shift) * 8 / w.max(1)) % 8;
        f.y[col] = 40 + (bar as u8) * 25;
    }
    for row in 1..h {
        f.y.copy_within(0..w, row * w);
    }
    let cw = f.chroma_width();
    for col in 0..cw {
        let bar = ((col * 2 + shift) * 8 / w.max(1)) % 8;
        f.u[col] = 64 + (bar as u8) * 16;
        f.v[col] = 192 - (bar as u8) * 16;
    }
    for row in 1..h.div_ceil(2) {
        f.u.copy_within(0..cw, row * cw);
        f.v.copy_within(0..cw, row * cw);
    }
    // The number, on a neutral background.
    for bit in 0..BITS {
        let on = n >> (BITS - 1 - bit) & 1 == 1;
        let luma = if on { 235 } else { 16 };
        let x0 = bit * BLOCK;
        if x0 + BLOCK > w || TOP + BLOCK > h {
            break;
        }
        for row in TOP..TOP + BLOCK {
            f.y[row * w + x0..row * w + x0 + BLOCK].fill(luma);
        }
        for row in TOP / 2..(TOP + BLOCK) / 2 {
            f.u[row * cw + x0 / 2..row * cw + (x0 + BLOCK) / 2].fill(128);
            f.v[row * cw + x0 / 2..row * cw + (x0 + BLOCK) / 2].fill(128);
        }
    }
}

/// Glyphs 3 pixels wide and 5 high, one row per `u8` (bit 2 = left): digits, then
/// ':' and '.'.
pub const GLYPHS: [[u8; 5]; 12] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 3, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 2, 2],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
    [0, 2, 0, 2, 0],
    [0, 0, 0, 0, 2],
];

/// Writes `text` (digits, ':' and '.'; anything else is a space) in white on black at
/// (`x`, `y`), each glyph pixel `scale` pixels square: the frame number and capture time
/// for people looking at the pattern.
pub fn draw_text(f: &mut I420, x: usize, y: usize, text: &str, scale: usize) {
    let (w, h) = (f.width, f.height);
    let cell = 4 * scale;
    let box_w = (text.len() * cell + scale).min(w.saturating_sub(x));
    let box_h = (7 * scale).min(h.saturating_sub(y));
    for row in y..y + box_h {
        f.y[row * w + x..row * w + x + box_w].fill(16);
    }
    for (i, ch) in text.chars().enumerate() {
        let glyph = match ch {
            '0'..='9' => GLYPHS[ch as usize - '0' as usize],
            ':' => GLYPHS[10],
            '.' => GLYPHS[11],
            _ => continue,
        };
        for (gy, bits) in glyph.iter().enumerate() {
            for gx in 0..3 {
                if bits >> (2 - gx) & 1 == 0 {
                    continue;
                }
                let px = x + scale + i * cell + gx * scale;
                let py = y + scale + gy * scale;
                for row in py..(py + scale).min(h) {
                    if px + scale <= w {
                        f.y[row * w + px..row * w + px + scale].fill(235);
                    }
                }
            }
        }
    }
}

/// Reads the frame number back from a (decoded) picture: each block's centre luma.
pub fn read(y: &[u8], stride: usize) -> u32 {
    let mut n = 0u32;
    for bit in 0..BITS {
        let x = bit * BLOCK + BLOCK / 2;
        let row = TOP + BLOCK / 2;
        // A picture too small for the pattern reads as zeros.
        let on = y.get(row * stride + x).is_some_and(|&v| v > 128);
        n = n << 1 | on as u32;
    }
    n
}

/// The frame numbers in a Y4M recording of the pattern (as `--video-out` writes it),
/// with the picture size. Black pictures (what a camera that is off sends, five a
/// second, to keep the stream alive) are no frames of the pattern: left out, not
/// read as frame 0.
pub fn numbers_in_y4m(data: &[u8]) -> Option<((usize, usize), Vec<u32>)> {
    let (w, h, frames) = super::y4m::read_y4m_luma(data)?;
    let black = |y: &&[u8]| y.iter().all(|&v| v < 40);
    Some((
        (w, h),
        frames
            .into_iter()
            .filter(|y| !black(y))
            .map(|y| read(y, w))
            .collect(),
    ))
}

/// Whether frame numbers increase with no gap longer than `max_gap` (a few lost or
/// skipped pictures are normal; stuck or reordered ones are not).
pub fn increasing(numbers: &[u32], max_gap: u32) -> bool {
    numbers
        .windows(2)
        .all(|p| p[1] > p[0] && p[1] - p[0] <= max_gap)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_number_reads_back() {
        let mut f = I420::new(640, 480);
        for n in [0, 1, 29, 30, 12345, u32::MAX] {
            draw(n, &mut f);
            assert_eq!(read(&f.y, f.width), n);
        }
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn digits_are_drawn_where_asked_and_leave_the_number_alone() {
        let mut f = I420::new(640, 480);
        draw(7, &mut f);
        draw_text(&mut f, 16, 48, "1", 4);
        let at = |x: usize, y: usize| f.y[y * 640 + x];
        // '1': the middle column is lit on every row, the left one only on the second.
        let (x0, y0) = (16 + 4, 48 + 4);
        for row in 0..5 {
            assert_eq!(at(x0 + 4 + 1, y0 + row * 4 + 1), 235, "row {row}");
        }
        assert_eq!(at(x0 + 1, y0 + 1), 16);
        assert_eq!(at(x0 + 1, y0 + 4 + 1), 235);
        assert_eq!(read(&f.y, 640), 7);
        if let Ok(path) = std::env::var("PATTERN_PGM") {
            let mut src = crate::video::io::VideoSourceSpec::Pattern
                .open(640, 480, 30)
                .unwrap();
            let p = src.capture().unwrap().unwrap();
            let mut out = b"P5 640 480 255\n".to_vec();
            out.extend_from_slice(&p.y);
            std::fs::write(path, out).unwrap();
        }
    }
}
