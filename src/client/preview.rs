//! Pictures a peer sent, made small enough to show inline: decoded with hard limits
//! (a hostile header claiming 50 000 × 50 000 pixels allocates nothing), turned as the
//! camera's EXIF orientation says, an animated GIF as its first frame, scaled down.
//! For the front ends, off their UI thread.

use image::{DynamicImage, ImageDecoder};

/// A picture ready for the screen: RGBA, unpremultiplied, `width` × `height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// The largest picture decoded, a side and in all (a 48-megapixel phone photo fits).
const MAX_SIDE: u32 = 16_384;
const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

/// The picture in `path`, at most `max_side` pixels a side.
pub fn picture_preview(path: &std::path::Path, max_side: u32) -> Result<Preview, String> {
    let mut reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let not_shown = |e: image::ImageError| format!("the picture cannot be shown: {e}");
    let mut decoder = reader.into_decoder().map_err(not_shown)?;
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err("the picture is too large to show".into());
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(not_shown)?;
    img.apply_orientation(orientation);
    let small = if img.width() > max_side || img.height() > max_side {
        img.thumbnail(max_side, max_side)
    } else {
        img
    };
    let rgba = small.to_rgba8();
    Ok(Preview {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn encoded(img: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), format)
            .unwrap();
        out
    }

    #[test]
    fn the_camera_orientation_is_honoured_and_big_pictures_are_scaled() {
        let dir = tempfile::tempdir().unwrap();
        // 40 × 20, left half red: a phone held upright stores it turned (EXIF 6).
        let mut img = image::RgbImage::new(40, 20);
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = if x < 20 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            };
        }
        let jpeg = encoded(&DynamicImage::ImageRgb8(img), image::ImageFormat::Jpeg);
        // APP1 Exif: big-endian TIFF, one IFD entry: Orientation (0x0112) = 6.
        let tiff: [u8; 26] = [
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0,
            0,
        ];
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut with_exif = jpeg[..2].to_vec();
        with_exif.extend_from_slice(&[0xFF, 0xE1]);
        with_exif.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        with_exif.extend_from_slice(&app1);
        with_exif.extend_from_slice(&jpeg[2..]);
        let path = dir.path().join("upright.jpg");
        std::fs::write(&path, &with_exif).unwrap();
        let p = picture_preview(&path, 480).unwrap();
        assert_eq!((p.width, p.height), (20, 40), "turned upright");
        // Rotated 90° clockwise: the red left half is now the top.
        let top = &p.rgba[(2 * 20 + 10) * 4..][..4];
        let bottom = &p.rgba[(37 * 20 + 10) * 4..][..4];
        assert!(top[0] > 200 && top[2] < 60, "{top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "{bottom:?}");

        let big = DynamicImage::ImageRgb8(image::RgbImage::new(2000, 1000));
        let path = dir.path().join("big.png");
        std::fs::write(&path, encoded(&big, image::ImageFormat::Png)).unwrap();
        let p = picture_preview(&path, 480).unwrap();
        assert_eq!((p.width, p.height), (480, 240));
        assert_eq!(p.rgba.len(), 480 * 240 * 4);
    }

    #[test]
    fn an_animated_gif_shows_its_first_frame() {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame, RgbaImage};
        let dir = tempfile::tempdir().unwrap();
        let mut data = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut data);
            for colour in [[0, 255, 0, 255], [255, 0, 0, 255]] {
                let frame = RgbaImage::from_pixel(8, 8, image::Rgba(colour));
                enc.encode_frame(Frame::from_parts(
                    frame,
                    0,
                    0,
                    Delay::from_numer_denom_ms(100, 1),
                ))
                .unwrap();
            }
        }
        let path = dir.path().join("anim.gif");
        std::fs::write(&path, &data).unwrap();
        let p = picture_preview(&path, 480).unwrap();
        assert_eq!((p.width, p.height), (8, 8));
        assert!(
            p.rgba[1] > 200 && p.rgba[0] < 60,
            "green first: {:?}",
            &p.rgba[..4]
        );
    }

    #[test]
    fn hostile_pictures_are_refused_without_allocating() {
        let dir = tempfile::tempdir().unwrap();
        // A PNG whose header claims 50 000 × 50 000 (10 GB decoded).
        let png = encoded(
            &DynamicImage::ImageRgb8(image::RgbImage::new(1, 1)),
            image::ImageFormat::Png,
        );
        let mut huge = png.clone();
        huge[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        let crc = crc32(&huge[12..29]);
        huge[29..33].copy_from_slice(&crc.to_be_bytes());
        let path = dir.path().join("huge.png");
        std::fs::write(&path, &huge).unwrap();
        let err = picture_preview(&path, 480).unwrap_err();
        assert!(err.contains("cannot be shown"), "{err}");
        // A JPEG cut in half.
        let jpeg = encoded(
            &DynamicImage::ImageRgb8(image::RgbImage::new(64, 64)),
            image::ImageFormat::Jpeg,
        );
        let path = dir.path().join("cut.jpg");
        std::fs::write(&path, &jpeg[..jpeg.len() / 2]).unwrap();
        assert!(picture_preview(&path, 480).is_err());
        // Not a picture at all.
        let path = dir.path().join("x.png");
        std::fs::write(&path, b"<html>hello</html>").unwrap();
        assert!(picture_preview(&path, 480).is_err());
    }
}
