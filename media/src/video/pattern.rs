//! The `pattern` video source: moving colour bars with the frame number burned in as a
//! row of 32 black/white 16x16 blocks (bit 31 first). Blocks that big survive VP8
//! compression, so a receiver can read the number back and prove that frames arrive in
//! order and none are stuck.

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

/// Reads the frame number back from a (decoded) picture: each block's centre luma.
pub fn read(y: &[u8], stride: usize) -> u32 {
    let mut n = 0u32;
    for bit in 0..BITS {
        let x = bit * BLOCK + BLOCK / 2;
        let row = TOP + BLOCK / 2;
        let on = y[row * stride + x] > 128;
        n = n << 1 | on as u32;
    }
    n
}

/// The frame numbers in a Y4M recording of the pattern (as `--video-out` writes it),
/// with the picture size.
pub fn numbers_in_y4m(data: &[u8]) -> Option<((usize, usize), Vec<u32>)> {
    let (w, h, frames) = super::io::read_y4m_luma(data)?;
    Some(((w, h), frames.iter().map(|y| read(y, w)).collect()))
}

/// Whether frame numbers increase with no gap longer than `max_gap` (a few lost or
/// skipped pictures are normal; stuck or reordered ones are not).
pub fn increasing(numbers: &[u32], max_gap: u32) -> bool {
    numbers
        .windows(2)
        .all(|p| p[1] > p[0] && p[1] - p[0] <= max_gap)
}

#[cfg(test)]
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
