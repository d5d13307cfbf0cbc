//! Reading back the Y4M files `--video-out` writes (video/io.rs): for tests, the
//! camera check and the fuzzer.

/// One picture of a Y4M file, borrowed from it.
pub struct Y4mFrame<'a> {
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
}

/// Reads a Y4M file written by `VideoSink` (4:2:0): (width, height, pictures).
pub fn read_y4m(data: &[u8]) -> Option<(usize, usize, Vec<Y4mFrame<'_>>)> {
    let nl = data.iter().position(|b| *b == b'\n')?;
    let header = std::str::from_utf8(data.get(..nl)?).ok()?;
    let mut w = 0usize;
    let mut h = 0usize;
    for f in header.split_whitespace() {
        if let Some(v) = f.strip_prefix('W') {
            w = v.parse().ok()?;
        } else if let Some(v) = f.strip_prefix('H') {
            h = v.parse().ok()?;
        }
    }
    if w == 0 || h == 0 || w > 8192 || h > 8192 {
        return None;
    }
    let c = w.div_ceil(2) * h.div_ceil(2);
    let frame = w * h + 2 * c;
    let mut frames = Vec::new();
    let mut at = nl + 1;
    while let (Some(b"FRAME\n"), Some(picture)) =
        (data.get(at..at + 6), data.get(at + 6..at + 6 + frame))
    {
        let (y, rest) = picture.split_at(w * h);
        let (u, v) = rest.split_at(c);
        frames.push(Y4mFrame { y, u, v });
        at += 6 + frame;
    }
    Some((w, h, frames))
}

/// The luma planes of [`read_y4m`].
pub fn read_y4m_luma(data: &[u8]) -> Option<(usize, usize, Vec<&[u8]>)> {
    let (w, h, frames) = read_y4m(data)?;
    Some((w, h, frames.into_iter().map(|f| f.y).collect()))
}
