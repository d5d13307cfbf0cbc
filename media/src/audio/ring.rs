//! The ringtone: a soft two-note chime (660 Hz then 880 Hz, a quarter second each,
//! then 1.5 s of quiet), repeated on its own thread until the `Ringer` is dropped.

// Our own ringtone; not network input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::sink::SinkSpec;
use super::{FRAME, RATE};
use crate::error::MediaError;

/// One period of the pattern, in 20 ms frames.
const PERIOD_FRAMES: usize = 100;
const NOTE_FRAMES: usize = 12;

/// Fills `frame` with the chime at frame index `n` (counting from the start).
pub fn chime_frame(n: usize, frame: &mut [i16]) {
    let pos = n % PERIOD_FRAMES;
    let hz = match pos {
        p if p < NOTE_FRAMES => 660.0,
        p if p < 2 * NOTE_FRAMES => 880.0,
        _ => {
            frame.fill(0);
            return;
        }
    };
    let start = (n * FRAME) as f32;
    for (i, s) in frame.iter_mut().enumerate() {
        let t = (start + i as f32) / RATE as f32;
        // A short fade in and out of each note: no clicks.
        let in_note = ((pos % NOTE_FRAMES) * FRAME + i) as f32 / (NOTE_FRAMES * FRAME) as f32;
        let env = (in_note * 20.0).min(1.0) * ((1.0 - in_note) * 20.0).min(1.0);
        *s = ((t * hz * std::f32::consts::TAU).sin() * env * 0.25 * i16::MAX as f32) as i16;
    }
}

/// Rings until dropped.
pub struct Ringer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ringer {
    /// Starts ringing on `out` (the speaker, or a file in tests). The device is opened
    /// on the ringer's thread; an error is returned when it cannot be.
    pub fn start(out: SinkSpec) -> Result<Ringer, MediaError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("banter-ring".into())
            .spawn(move || {
                let mut sink = match out.open() {
                    Ok(s) => {
                        let _ = tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let mut frame = [0i16; FRAME];
                let tick = Duration::from_millis(20);
                let mut next = Instant::now();
                let mut n = 0;
                while !flag.load(Ordering::Acquire) {
                    chime_frame(n, &mut frame);
                    if sink.write(&frame).is_err() {
                        break;
                    }
                    n += 1;
                    next += tick;
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
                let _ = sink.finish();
            })
            .map_err(|e| MediaError::Device(e.to_string()))?;
        match rx.recv() {
            Ok(Ok(())) => Ok(Ringer {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(MediaError::Device("the ringtone thread ended".into())),
        }
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::audio::analysis::dominant_frequency;

    #[test]
    fn rings_into_a_file_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.wav");
        let r = Ringer::start(SinkSpec::Wav(path.clone())).unwrap();
        std::thread::sleep(Duration::from_millis(1200));
        drop(r);
        let pcm: Vec<i16> = hound::WavReader::open(&path)
            .unwrap()
            .samples::<i16>()
            .map(|s| s.unwrap())
            .collect();
        // About as long as it rang, paced in real time.
        let secs = pcm.len() as f32 / RATE as f32;
        assert!((1.0..1.6).contains(&secs), "{secs} s");
        let first = dominant_frequency(&pcm[..NOTE_FRAMES * FRAME], RATE);
        let second = dominant_frequency(&pcm[NOTE_FRAMES * FRAME..2 * NOTE_FRAMES * FRAME], RATE);
        assert!((first - 660.0).abs() < 5.0, "{first}");
        assert!((second - 880.0).abs() < 5.0, "{second}");
        // Then quiet.
        assert!(pcm[2 * NOTE_FRAMES * FRAME + 100..]
            .iter()
            .all(|s| s.abs() < 10));
    }

    #[test]
    fn a_device_that_cannot_open_is_an_error() {
        assert!(Ringer::start(SinkSpec::Wav("/nonexistent/dir/ring.wav".into())).is_err());
    }
}
