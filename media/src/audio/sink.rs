//! Where received audio goes: a speaker (cpal), a WAV file, or nowhere.

use std::path::PathBuf;
use std::sync::Arc;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::HeapRb;

use super::source::{pick_device, DeviceFault};
use super::{FRAME, RATE};
use crate::error::MediaError;

/// What `--audio-out` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkSpec {
    Speaker(Option<String>),
    Wav(PathBuf),
    Null,
}

impl SinkSpec {
    pub fn parse(s: &str) -> Result<Self, MediaError> {
        Ok(match s {
            "speaker" => SinkSpec::Speaker(None),
            "null" => SinkSpec::Null,
            _ if s.starts_with("speaker:") => SinkSpec::Speaker(Some(s[8..].to_string())),
            _ if s.to_ascii_lowercase().ends_with(".wav") => SinkSpec::Wav(PathBuf::from(s)),
            _ => return Err(MediaError::BadSpec(s.to_string())),
        })
    }

    /// Opens the sink (on the engine thread: cpal streams stay where they were made).
    pub fn open(&self) -> Result<Box<dyn Sink>, MediaError> {
        Ok(match self {
            SinkSpec::Null => Box::new(NullSink),
            SinkSpec::Wav(p) => Box::new(WavSink::create(p)?),
            SinkSpec::Speaker(name) => Box::new(DeviceSink::open(name.as_deref())?),
        })
    }
}

pub trait Sink {
    /// Takes one 20 ms frame.
    fn write(&mut self, frame: &[i16]) -> Result<(), MediaError>;
    /// Flushes files; called at the end of a call.
    fn finish(&mut self) -> Result<(), MediaError> {
        Ok(())
    }
}

pub struct NullSink;

impl Sink for NullSink {
    fn write(&mut self, _frame: &[i16]) -> Result<(), MediaError> {
        Ok(())
    }
}

/// A recording: frames are handed to a writer thread, so a disk that stalls (a
/// write held back while the kernel flushes other dirty pages, which after a big
/// build took the engine 200 ms and cost ten concealed frames) never holds up the
/// engine's tick. Up to [`WAV_QUEUE`] frames wait; more are lost, and said at the end.
pub struct WavSink {
    tx: Option<std::sync::mpsc::SyncSender<[i16; FRAME]>>,
    writer: Option<std::thread::JoinHandle<Result<(), MediaError>>>,
    lost: u64,
    path: String,
}

/// Frames a recording may fall behind by: 10 s.
pub const WAV_QUEUE: usize = 500;

impl WavSink {
    pub fn create(path: &std::path::Path) -> Result<WavSink, MediaError> {
        let mut wav = super::wav::WavWriter::create(path)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<[i16; FRAME]>(WAV_QUEUE);
        let writer = std::thread::Builder::new()
            .name("wav writer".into())
            .spawn(move || {
                for frame in rx {
                    wav.write(&frame)?;
                }
                wav.finish()
            })
            .map_err(|e| MediaError::WavWrite {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
        Ok(WavSink {
            tx: Some(tx),
            writer: Some(writer),
            lost: 0,
            path: path.display().to_string(),
        })
    }
}

impl Sink for WavSink {
    fn write(&mut self, frame: &[i16]) -> Result<(), MediaError> {
        let mut f = [0i16; FRAME];
        let n = frame.len().min(FRAME);
        if let (Some(dst), Some(src)) = (f.get_mut(..n), frame.get(..n)) {
            dst.copy_from_slice(src);
        }
        let Some(tx) = self.tx.as_ref() else {
            return Ok(());
        };
        match tx.try_send(f) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(_)) => self.lost += 1,
            // The writer stopped: its error comes with `finish`.
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => self.tx = None,
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), MediaError> {
        self.tx = None;
        let written = match self.writer.take().map(|w| w.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(MediaError::WavWrite {
                path: self.path.clone(),
                why: "the writer thread failed".into(),
            }),
            None => Ok(()),
        };
        written?;
        if self.lost > 0 {
            return Err(MediaError::WavWrite {
                path: self.path.clone(),
                why: format!(
                    "the disk fell behind: {} ms of the recording were lost",
                    self.lost * 20
                ),
            });
        }
        Ok(())
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// A speaker through cpal: frames go into a lock-free ring the output callback drains;
/// an empty ring plays silence.
pub struct DeviceSink {
    _stream: cpal::Stream,
    ring: ringbuf::HeapProd<i16>,
    fault: Arc<DeviceFault>,
}

impl DeviceSink {
    pub fn open(name: Option<&str>) -> Result<Self, MediaError> {
        let host = cpal::default_host();
        let which = || name.map(|n| format!(" matching '{n}'")).unwrap_or_default();
        let devices = host
            .output_devices()
            .map_err(|e| MediaError::Device(e.to_string()))?;
        let device = pick_device(devices, host.default_output_device(), name)
            .ok_or_else(|| MediaError::NoOutputDevice(which()))?;
        let default = device
            .default_output_config()
            .map_err(|e| MediaError::NoOutputDevice(format!(" ({e})")))?;
        let channels = default.channels().max(1);
        let config = cpal::StreamConfig {
            channels,
            sample_rate: RATE,
            buffer_size: cpal::BufferSize::Default,
        };
        let (prod, mut cons) = HeapRb::<i16>::new(RATE as usize / 2).split();
        let fault = Arc::new(DeviceFault::default());
        let fault_cb = fault.clone();
        let ch = channels as usize;
        let stream = device
            .build_output_stream(
                config,
                move |data: &mut [f32], _| {
                    for frame in data.chunks_mut(ch) {
                        let v = cons.try_pop().unwrap_or(0) as f32 / 32768.0;
                        frame.fill(v);
                    }
                },
                move |e| fault_cb.report(e),
                None,
            )
            .map_err(|e| MediaError::Device(format!("cannot open speaker: {e}")))?;
        stream
            .play()
            .map_err(|e| MediaError::Device(format!("cannot start speaker: {e}")))?;
        Ok(DeviceSink {
            _stream: stream,
            ring: prod,
            fault,
        })
    }
}

impl Sink for DeviceSink {
    fn write(&mut self, frame: &[i16]) -> Result<(), MediaError> {
        self.fault.check().map_err(MediaError::Device)?;
        // Bound the playout latency: if the device fell behind, skip this frame.
        if self.ring.occupied_len() > 4 * FRAME {
            return Ok(());
        }
        self.ring.push_slice(frame);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// What the engine hands the recording is all in the file once it is finished,
    /// in order, though a thread of its own wrote it.
    #[test]
    fn a_recording_is_written_whole_off_the_engine_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.wav");
        let mut sink = SinkSpec::Wav(path.clone()).open().unwrap();
        for k in 0..200i16 {
            sink.write(&[k; FRAME]).unwrap();
        }
        sink.finish().unwrap();
        let pcm: Vec<i16> = hound::WavReader::open(&path)
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect();
        assert_eq!(pcm.len(), 200 * FRAME);
        assert!(
            (0..200).all(|k| pcm[k * FRAME] == k as i16 && pcm[k * FRAME + FRAME - 1] == k as i16)
        );
    }
}
