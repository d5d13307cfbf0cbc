//! Pixel conversions of the video path: I420 to RGBA for the window, halving, and
//! the screen's BGRX (with the pointer blended in) to I420 for the encoder. BT.601
//! limited range throughout, as VP8 and the peers expect.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::I420;

/// One picture for a screen, RGBA8 (alpha 255), converted off the UI thread.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbaFrame {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// BT.601 limited-range I420 to RGBA, taking every `scale`-th pixel.
pub fn i420_to_rgba(f: &I420, scale: usize, out: &mut RgbaFrame) {
    let (w, h) = (f.width / scale, f.height / scale);
    out.width = w;
    out.height = h;
    out.pixels.resize(w * h * 4, 255);
    if w == 0 || h == 0 {
        return;
    }
    let cw = f.chroma_width();
    for (row, o) in out.pixels.chunks_exact_mut(w * 4).enumerate().take(h) {
        let sy = row * scale;
        let yline = f.y.get(sy * f.width..).unwrap_or_default();
        let cline = (sy / 2) * cw;
        for (col, px) in o.chunks_exact_mut(4).enumerate() {
            let sx = col * scale;
            let at = |plane: &[u8], i: usize| plane.get(i).copied().unwrap_or(128) as i32;
            let y = (at(yline, sx) - 16) * 298;
            let u = at(&f.u, cline + sx / 2) - 128;
            let v = at(&f.v, cline + sx / 2) - 128;
            if let [r, g, b, a] = px {
                *r = ((y + 409 * v + 128) >> 8).clamp(0, 255) as u8;
                *g = ((y - 100 * u - 208 * v + 128) >> 8).clamp(0, 255) as u8;
                *b = ((y + 516 * u + 128) >> 8).clamp(0, 255) as u8;
                *a = 255;
            }
        }
    }
}

/// Half the size, each output pixel the mean of a 2x2 block.
pub fn halve(src: &I420, dst: &mut I420) {
    let (w, h) = (src.width / 2, src.height / 2);
    if dst.width != w || dst.height != h {
        *dst = I420::new(w, h);
    }
    let plane = |s: &[u8], sw: usize, d: &mut [u8], dw: usize, dh: usize| {
        for (rows, out) in s.chunks_exact(2 * sw).zip(d.chunks_exact_mut(dw)).take(dh) {
            let (r0, r1) = rows.split_at(sw);
            for ((a, b), o) in r0.chunks_exact(2).zip(r1.chunks_exact(2)).zip(out) {
                if let ([a0, a1], [b0, b1]) = (a, b) {
                    let sum = *a0 as u16 + *a1 as u16 + *b0 as u16 + *b1 as u16;
                    *o = ((sum + 2) / 4) as u8;
                }
            }
        }
    };
    plane(&src.y, src.width, &mut dst.y, w, h);
    let (scw, dcw, dch) = (src.chroma_width(), dst.chroma_width(), h.div_ceil(2));
    plane(&src.u, scw, &mut dst.u, dcw, dch.min(src.height / 4));
    plane(&src.v, scw, &mut dst.v, dcw, dch.min(src.height / 4));
}

/// 32-bit BGRX rows (the X server's little-endian Z pixmap) to BT.601 limited-range
/// I420: the inverse of what the window shows (`io::i420_to_rgba`). Chroma is the mean
/// of each 2x2 block.
pub fn bgrx_to_i420(src: &[u8], stride: usize, f: &mut I420) {
    bgrx_rows_to_i420(src, stride, f, |_| true);
}

/// The same for the pairs of rows `changed` says (by the index of the pair's first
/// row / 2); the others keep what `f` had. A screen changes little from one picture
/// to the next: only what changed is converted.
pub fn bgrx_rows_to_i420(
    src: &[u8],
    stride: usize,
    f: &mut I420,
    mut changed: impl FnMut(usize) -> bool,
) {
    let (w, cw) = (f.width.max(1), f.chroma_width().max(1));
    let stride = stride.max(1);
    // Two rows at a time, through iterators (no per-pixel bounds checks): a full-HD
    // screen is two million pixels, fifteen times a second.
    let rows = src.chunks(2 * stride);
    let lumas = f.y.chunks_mut(2 * w);
    let chromas = f.u.chunks_exact_mut(cw).zip(f.v.chunks_exact_mut(cw));
    for (pair_no, ((pair, luma), (u_row, v_row))) in rows.zip(lumas).zip(chromas).enumerate() {
        if !changed(pair_no) {
            continue;
        }
        let (top, bottom) = pair.split_at(stride.min(pair.len()));
        let (y_top, y_bottom) = luma.split_at_mut(w.min(luma.len()));
        for (line, out) in [(top, y_top), (bottom, y_bottom)] {
            for (p, o) in line.chunks_exact(4).zip(out.iter_mut()) {
                if let &[b, g, r, _] = p {
                    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
                    *o = ((66 * r + 129 * g + 25 * b + 128) >> 8) as u8 + 16;
                }
            }
        }
        // Chroma from each 2x2 block.
        for (((a, b), u), v) in top
            .chunks_exact(8)
            .zip(bottom.chunks_exact(8))
            .zip(u_row.iter_mut())
            .zip(v_row.iter_mut())
        {
            if let (&[b0, g0, r0, _, b1, g1, r1, _], &[b2, g2, r2, _, b3, g3, r3, _]) = (a, b) {
                let sum = |p: [u8; 4]| p.iter().map(|&c| i32::from(c)).sum::<i32>();
                let r = (sum([r0, r1, r2, r3]) + 2) / 4;
                let g = (sum([g0, g1, g2, g3]) + 2) / 4;
                let b = (sum([b0, b1, b2, b3]) + 2) / 4;
                *u = (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
                *v = (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
            }
        }
    }
}

/// Blends a premultiplied ARGB image (XFixes' cursor) into the luma and chroma of `f`
/// with its top-left corner at (`x0`, `y0`); what falls outside is left out.
pub fn blend_argb(f: &mut I420, argb: &[u32], w: usize, h: usize, x0: i32, y0: i32) {
    let (fw, fh, cw) = (f.width as i32, f.height as i32, f.chroma_width());
    for (j, row) in argb.chunks_exact(w.max(1)).enumerate().take(h) {
        let y = y0 + j as i32;
        if y < 0 || y >= fh {
            continue;
        }
        for (i, &p) in row.iter().enumerate() {
            let x = x0 + i as i32;
            let a = (p >> 24) as i32;
            if x < 0 || x >= fw || a == 0 {
                continue;
            }
            let (r, g, b) = (
                (p >> 16 & 0xff) as i32,
                (p >> 8 & 0xff) as i32,
                (p & 0xff) as i32,
            );
            let (x, y) = (x as usize, y as usize);
            let mix = |old: u8, new: i32| {
                ((new * 255 + i32::from(old) * (255 - a)) / 255).clamp(0, 255) as u8
            };
            // Premultiplied: the colour's luma is already scaled by alpha (16 offset too).
            if let Some(o) = f.y.get_mut(y * fw as usize + x) {
                let luma = (66 * r + 129 * g + 25 * b + 128) / 256 + 16 * a / 255;
                *o = mix(*o, luma);
            }
            let ci = (y / 2) * cw + x / 2;
            if let (Some(u), Some(v)) = (f.u.get_mut(ci), f.v.get_mut(ci)) {
                let cu = (-38 * r - 74 * g + 112 * b + 128) / 256 + 128 * a / 255;
                let cv = (112 * r - 94 * g - 18 * b + 128) / 256 + 128 * a / 255;
                *u = mix(*u, cu);
                *v = mix(*v, cv);
            }
        }
    }
}

/// The largest picture a shared screen is sent at: full HD. A larger one is halved
/// until it fits.
pub const SCREEN_MAX: (usize, usize) = (1920, 1080);

/// The pictures of a shared screen: the picture at full size (even), converted from
/// BGRX only where it changed since the last one, and, for one larger than full HD,
/// each halving in turn (the last is sent).
pub struct ScreenPictures {
    pub full: I420,
    halved: Vec<I420>,
    /// The previous picture as read (BGRX), to convert only the rows that changed.
    previous: Vec<u8>,
    /// A picture was converted whole already.
    started: bool,
}

impl ScreenPictures {
    pub fn new(width: usize, height: usize) -> ScreenPictures {
        let (w, h) = (width & !1, height & !1);
        let mut halved = Vec::new();
        let (mut sw, mut sh) = (w, h);
        while sw > SCREEN_MAX.0 || sh > SCREEN_MAX.1 {
            sw /= 2;
            sh /= 2;
            halved.push(I420::new(sw, sh));
        }
        ScreenPictures {
            full: I420::new(w, h),
            halved,
            previous: Vec::new(),
            started: false,
        }
    }

    /// Converts the row pairs of `pixels` (BGRX, `stride` bytes a row) that changed
    /// since the last call, and those in `again` (by pair: where a pointer was drawn).
    pub fn update(&mut self, pixels: &[u8], stride: usize, again: std::ops::Range<usize>) {
        let previous = &mut self.previous;
        let first = previous.len() != pixels.len();
        if first {
            previous.clear();
            previous.extend_from_slice(pixels);
        }
        bgrx_rows_to_i420(pixels, stride, &mut self.full, |pair| {
            let rows = pair * 2 * stride..((pair + 1) * 2 * stride).min(pixels.len());
            match (pixels.get(rows.clone()), previous.get_mut(rows)) {
                _ if first || again.contains(&pair) => true,
                (Some(now), Some(before)) if now != before => {
                    before.copy_from_slice(now);
                    true
                }
                _ => false,
            }
        });
    }

    /// Converts the row pairs of `pixels` marked in `changed` (all of them the first
    /// time): for a source that compared them while copying.
    pub fn update_changed(&mut self, pixels: &[u8], stride: usize, changed: &[bool]) {
        let first = !std::mem::replace(&mut self.started, true);
        bgrx_rows_to_i420(pixels, stride, &mut self.full, |pair| {
            first || changed.get(pair).copied().unwrap_or(true)
        });
    }

    /// Halves `full` until it fits (each step from the one before; `full` itself is
    /// kept: the next picture converts into it row by row) and gives what is sent.
    pub fn finish(&mut self) -> &I420 {
        let mut from = &self.full;
        for dst in self.halved.iter_mut() {
            halve(from, dst);
            from = dst;
        }
        from
    }

    /// The picture sent last.
    pub fn last(&self) -> &I420 {
        self.halved.last().unwrap_or(&self.full)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_blocks() {
        let mut src = I420::new(4, 4);
        src.y = (0..16).collect();
        let mut dst = I420::new(0, 0);
        halve(&src, &mut dst);
        assert_eq!((dst.width, dst.height), (2, 2));
        // (0+1+4+5)/4, (2+3+6+7)/4, …
        assert_eq!(dst.y, [3, 5, 11, 13]);
        assert_eq!(dst.u, [128]);
    }

    #[test]
    fn bgrx_converts_to_i420_and_back() {
        let colours: [[i32; 3]; 6] = [
            [255, 255, 255],
            [0, 0, 0],
            [128, 128, 128],
            [200, 30, 40],
            [20, 160, 90],
            [30, 60, 220],
        ];
        for rgb in colours {
            let (w, h) = (4, 2);
            let mut src = Vec::new();
            for _ in 0..w * h {
                src.extend([rgb[2] as u8, rgb[1] as u8, rgb[0] as u8, 0]);
            }
            let mut f = I420::new(w, h);
            bgrx_to_i420(&src, w * 4, &mut f);
            let mut out = RgbaFrame {
                width: 0,
                height: 0,
                pixels: Vec::new(),
            };
            i420_to_rgba(&f, 1, &mut out);
            let grey = rgb[0] == rgb[1] && rgb[1] == rgb[2];
            for (c, want) in out.pixels[..3].iter().zip(rgb) {
                let d = (i32::from(*c) - want).abs();
                assert!(
                    d <= if grey { 2 } else { 6 },
                    "{rgb:?} -> {:?}",
                    &out.pixels[..3]
                );
            }
        }
    }

    /// Only the row pairs said to have changed are converted; the rest keep what the
    /// picture had.
    #[test]
    fn unchanged_rows_are_kept() {
        let (w, h) = (4, 4);
        let white = vec![255u8; w * h * 4];
        let mut f = I420::new(w, h);
        bgrx_to_i420(&white, w * 4, &mut f);
        let black = vec![0u8; w * h * 4];
        bgrx_rows_to_i420(&black, w * 4, &mut f, |pair| pair == 1);
        assert_eq!(&f.y[..8], &[235; 8], "rows 0-1 kept");
        assert_eq!(&f.y[8..], &[16; 8], "rows 2-3 converted");
        assert_eq!(f.u, [128, 128, 128, 128]);
    }

    #[test]
    fn padded_rows_are_skipped() {
        // 2x2 white with 8 bytes of padding per row.
        let mut src = vec![0u8; 16 * 2];
        for row in 0..2 {
            src[row * 16..row * 16 + 8].fill(255);
        }
        let mut f = I420::new(2, 2);
        bgrx_to_i420(&src, 16, &mut f);
        assert_eq!(f.y, [235; 4]);
        assert_eq!((f.u[0], f.v[0]), (128, 128));
    }

    #[test]
    fn the_cursor_is_blended_and_clipped() {
        let mut f = I420::new(8, 8);
        f.y.fill(235);
        // An opaque black 3x3 cursor with a transparent centre, half off the left edge.
        let mut img = vec![0xff00_0000u32; 9];
        img[4] = 0;
        blend_argb(&mut f, &img, 3, 3, -1, 2);
        assert_eq!(f.y[2 * 8], 16, "opaque black over white");
        assert_eq!(f.y[3 * 8], 235, "the transparent centre leaves the picture");
        assert_eq!(f.y[2 * 8 + 1], 16);
        assert_eq!(f.y[2 * 8 + 2], 235, "nothing right of the cursor");
        assert_eq!(f.y[8], 235, "nothing above it");
        // Fully outside: nothing happens, nothing panics.
        blend_argb(&mut f, &img, 3, 3, 100, -50);
    }
}
