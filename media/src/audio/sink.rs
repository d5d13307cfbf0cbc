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
            SinkSpec::Wav(p) => Box::new(WavSink(super::wav::WavWriter::create(p)?)),
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

pub struct WavSink(super::wav::WavWriter);

impl Sink for WavSink {
    fn write(&mut self, frame: &[i16]) -> Result<(), MediaError> {
        self.0.write(frame)
    }
    fn finish(&mut self) -> Result<(), MediaError> {
        self.0.finish()
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
