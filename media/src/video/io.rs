//! Where video comes from (camera, test pattern) and where received video goes (a Y4M
//! file, the window).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::camera::Camera;
pub use super::convert::{i420_to_rgba, RgbaFrame};
use super::pipewire::PipewireCapture;
use super::screen::{ScreenCapture, ScreenSpec};
use super::{pattern, I420};
use crate::error::MediaError;

/// What a call sends as video.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VideoSourceSpec {
    /// No video is sent (an audio call, or video only received).
    #[default]
    None,
    /// Moving bars with the frame number burned in (`pattern`).
    Pattern,
    /// The same, opened only after this many milliseconds, as a slow USB camera
    /// (`slow-pattern:MS`): for trying that nothing else waits for a camera.
    SlowPattern(u64),
    /// The default camera, or the first one whose name contains the string.
    Camera(Option<String>),
    /// What the peer sends, sent back (the "Try it locally" Echo contact).
    Echo,
    /// A monitor or a window (X11), sent for detail rather than motion.
    Screen(ScreenSpec),
}

impl VideoSourceSpec {
    pub fn parse(s: &str) -> Result<Self, MediaError> {
        Ok(match s {
            "none" => VideoSourceSpec::None,
            "pattern" => VideoSourceSpec::Pattern,
            "camera" => VideoSourceSpec::Camera(None),
            "echo" => VideoSourceSpec::Echo,
            _ if s.starts_with("screen") => match ScreenSpec::parse(s) {
                // The portal's dialog is asked for when sharing starts, not here.
                Some(ScreenSpec::Portal(_)) => {
                    return Err(MediaError::Screen(
                        "--video-in cannot ask the desktop's portal: use --share-screen portal"
                            .into(),
                    ))
                }
                Some(spec) => VideoSourceSpec::Screen(spec),
                None => return Err(MediaError::BadVideoSpec(s.to_string())),
            },
            _ => match (s.strip_prefix("camera:"), s.strip_prefix("slow-pattern:")) {
                (Some(n), _) if !n.is_empty() => VideoSourceSpec::Camera(Some(n.to_string())),
                (_, Some(ms)) => match ms.parse::<u64>() {
                    Ok(ms) if ms <= 60_000 => VideoSourceSpec::SlowPattern(ms),
                    _ => return Err(MediaError::BadVideoSpec(s.to_string())),
                },
                _ => return Err(MediaError::BadVideoSpec(s.to_string())),
            },
        })
    }

    pub fn is_none(&self) -> bool {
        *self == VideoSourceSpec::None
    }

    /// A screen is sent for detail: full resolution, fewer frames (the engine's
    /// screen profile).
    pub fn is_screen(&self) -> bool {
        matches!(self, VideoSourceSpec::Screen(_))
    }

    pub fn open(&self, width: usize, height: usize, fps: u32) -> Result<VideoSource, MediaError> {
        Ok(match self {
            VideoSourceSpec::None => VideoSource::Black(I420::new(width, height)),
            VideoSourceSpec::Pattern => VideoSource::Pattern {
                frame: I420::new(width, height),
                n: 0,
            },
            VideoSourceSpec::SlowPattern(ms) => {
                std::thread::sleep(std::time::Duration::from_millis(*ms));
                VideoSourceSpec::Pattern.open(width, height, fps)?
            }
            VideoSourceSpec::Camera(name) => {
                VideoSource::Camera(Box::new(Camera::open(name.as_deref(), width, height, fps)?))
            }
            VideoSourceSpec::Echo => VideoSource::Echo,
            VideoSourceSpec::Screen(ScreenSpec::Portal(Some(stream))) => {
                VideoSource::Portal(Box::new(PipewireCapture::open(stream)?))
            }
            VideoSourceSpec::Screen(spec) => {
                VideoSource::Screen(Box::new(ScreenCapture::open(spec)?))
            }
        })
    }
}

/// An open source; `next` is called once per frame interval.
pub enum VideoSource {
    Pattern {
        frame: I420,
        n: u32,
    },
    Camera(Box<Camera>),
    /// Camera off: black pictures keep the stream (and the peer's decoder) alive.
    Black(I420),
    /// The last picture decoded from the peer (the engine supplies it).
    Echo,
    Screen(Box<ScreenCapture>),
    /// A screen the desktop's portal granted, read through PipeWire.
    Portal(Box<PipewireCapture>),
}

impl VideoSource {
    /// A shared screen (X11 or the portal's), sent with the screen profile.
    pub fn is_screen(&self) -> bool {
        matches!(self, VideoSource::Screen(_) | VideoSource::Portal(_))
    }

    pub fn capture(&mut self) -> Result<Option<&I420>, MediaError> {
        match self {
            VideoSource::Pattern { frame, n } => {
                pattern::draw(*n, frame);
                // The same number for people, and the capture time (UTC).
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0);
                let (s, ms) = (ms / 1000, ms % 1000);
                let text = format!(
                    "{:06} {:02}:{:02}:{:02}.{ms:03}",
                    *n,
                    s / 3600 % 24,
                    s / 60 % 60,
                    s % 60
                );
                pattern::draw_text(frame, 16, 48, &text, 4);
                *n = n.wrapping_add(1);
                Ok(Some(frame))
            }
            // Never waits: the engine looks again a few milliseconds later.
            VideoSource::Camera(c) => c.next(0),
            VideoSource::Black(f) => Ok(Some(f)),
            VideoSource::Echo => Ok(None),
            VideoSource::Screen(s) => s.capture().map(Some),
            VideoSource::Portal(p) => p.capture(),
        }
    }
}

/// The latest remote and local pictures of a call, for the window to pick up. Stale
/// pictures are replaced, never queued: a slow window skips frames instead of lagging.
#[derive(Default)]
pub struct VideoView {
    remote: Mutex<Option<RgbaFrame>>,
    local: Mutex<Option<RgbaFrame>>,
    waker: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for VideoView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VideoView")
    }
}

impl VideoView {
    pub fn new() -> Arc<VideoView> {
        Arc::new(VideoView::default())
    }

    /// Called (from the video thread) after each new picture: the window asks for a
    /// repaint here.
    pub fn set_waker(&self, wake: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut w) = self.waker.lock() {
            *w = Some(Box::new(wake));
        }
    }

    pub fn take_remote(&self) -> Option<RgbaFrame> {
        self.remote.lock().ok()?.take()
    }

    pub fn take_local(&self) -> Option<RgbaFrame> {
        self.local.lock().ok()?.take()
    }

    fn put(&self, slot: &Mutex<Option<RgbaFrame>>, f: &I420, scale: usize) {
        if let Ok(mut s) = slot.lock() {
            // Reuse the previous buffer when the window has not taken it.
            let mut frame = s.take().unwrap_or(RgbaFrame {
                width: 0,
                height: 0,
                pixels: Vec::new(),
            });
            i420_to_rgba(f, scale, &mut frame);
            *s = Some(frame);
        }
        if let Ok(w) = self.waker.lock() {
            if let Some(w) = w.as_ref() {
                w();
            }
        }
    }

    /// A picture from the peer (the video thread calls this).
    pub fn put_remote(&self, f: &I420) {
        self.put(&self.remote, f, 1);
    }

    /// Our own picture; the preview is small: every other pixel of every other row.
    pub fn put_local(&self, f: &I420) {
        self.put(&self.local, f, 2);
    }
}

/// Where received video goes.
#[derive(Debug, Clone, Default)]
pub enum VideoSinkSpec {
    #[default]
    Null,
    /// Every decoded picture appended to a YUV4MPEG2 file (plays in mpv/ffplay; the
    /// tests read the burned-in numbers from it).
    Y4m(PathBuf),
    /// The window.
    View(Arc<VideoView>),
}

impl VideoSinkSpec {
    pub fn parse(s: &str) -> VideoSinkSpec {
        match s {
            "null" | "none" => VideoSinkSpec::Null,
            path => VideoSinkSpec::Y4m(PathBuf::from(path)),
        }
    }

    pub fn open(&self) -> Result<VideoSink, MediaError> {
        Ok(match self {
            VideoSinkSpec::Null => VideoSink::Null,
            VideoSinkSpec::View(v) => VideoSink::View(v.clone()),
            VideoSinkSpec::Y4m(path) => {
                let file = std::fs::File::create(path).map_err(|e| MediaError::VideoWrite {
                    path: path.display().to_string(),
                    why: e.to_string(),
                })?;
                VideoSink::Y4m {
                    out: std::io::BufWriter::new(file),
                    size: None,
                    path: path.clone(),
                }
            }
        })
    }
}

pub enum VideoSink {
    Null,
    View(Arc<VideoView>),
    Y4m {
        out: std::io::BufWriter<std::fs::File>,
        size: Option<(usize, usize)>,
        path: PathBuf,
    },
}

impl VideoSink {
    /// Takes one decoded picture. A Y4M file keeps the first picture's size (the format
    /// has one size); pictures of another size are left out.
    pub fn write(&mut self, f: &I420) -> Result<(), MediaError> {
        match self {
            VideoSink::Null => Ok(()),
            VideoSink::View(v) => {
                v.put_remote(f);
                Ok(())
            }
            VideoSink::Y4m { out, size, path } => {
                let err = |e: std::io::Error| MediaError::VideoWrite {
                    path: path.display().to_string(),
                    why: e.to_string(),
                };
                if size.is_none() {
                    *size = Some((f.width, f.height));
                    writeln!(
                        out,
                        "YUV4MPEG2 W{} H{} F30:1 Ip A1:1 C420jpeg",
                        f.width, f.height
                    )
                    .map_err(err)?;
                }
                if *size != Some((f.width, f.height)) {
                    return Ok(());
                }
                out.write_all(b"FRAME\n").map_err(err)?;
                out.write_all(&f.y).map_err(err)?;
                out.write_all(&f.u).map_err(err)?;
                out.write_all(&f.v).map_err(err)
            }
        }
    }

    pub fn finish(&mut self) -> Result<(), MediaError> {
        if let VideoSink::Y4m { out, path, .. } = self {
            out.flush().map_err(|e| MediaError::VideoWrite {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::super::y4m::read_y4m_luma;
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            VideoSourceSpec::parse("pattern").unwrap(),
            VideoSourceSpec::Pattern
        );
        assert_eq!(
            VideoSourceSpec::parse("camera:C920").unwrap(),
            VideoSourceSpec::Camera(Some("C920".into()))
        );
        assert!(VideoSourceSpec::parse("webcam").is_err());
        assert!(VideoSourceSpec::parse("camera:").is_err());
        assert_eq!(
            VideoSourceSpec::parse("slow-pattern:1500").unwrap(),
            VideoSourceSpec::SlowPattern(1500)
        );
        assert!(VideoSourceSpec::parse("slow-pattern:").is_err());
        assert!(VideoSourceSpec::parse("slow-pattern:600000").is_err());
    }

    #[test]
    fn y4m_round_trip_keeps_the_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.y4m");
        let mut sink = VideoSinkSpec::Y4m(path.clone()).open().unwrap();
        let mut src = VideoSourceSpec::Pattern.open(640, 480, 30).unwrap();
        for _ in 0..3 {
            let f = src.capture().unwrap().unwrap().clone();
            sink.write(&f).unwrap();
        }
        // Another size is left out.
        sink.write(&I420::new(320, 240)).unwrap();
        sink.finish().unwrap();
        let data = std::fs::read(&path).unwrap();
        let (w, h, frames) = read_y4m_luma(&data).unwrap();
        assert_eq!((w, h, frames.len()), (640, 480, 3));
        let n: Vec<u32> = frames.iter().map(|y| pattern::read(y, w)).collect();
        assert_eq!(n, [0, 1, 2]);
    }

    #[test]
    fn rgba_of_grey_and_colour() {
        let mut f = I420::new(4, 4);
        f.y.fill(235);
        let mut out = RgbaFrame {
            width: 0,
            height: 0,
            pixels: vec![],
        };
        i420_to_rgba(&f, 1, &mut out);
        assert_eq!(&out.pixels[..4], &[255, 255, 255, 255]);
        // Pure red in BT.601 limited range.
        f.y.fill(81);
        f.u.fill(90);
        f.v.fill(240);
        i420_to_rgba(&f, 2, &mut out);
        assert_eq!((out.width, out.height), (2, 2));
        let px = &out.pixels[..4];
        assert!(px[0] > 250 && px[1] < 5 && px[2] < 5, "{px:?}");
    }
}
