//! WAV files: any rate and channel count in (mixed to mono, resampled to 48 kHz with
//! rubato's FFT resampler); 48 kHz mono 16-bit out.

// Local files (fuzzed: see fuzz/); not network input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use audioadapter_buffers::owned::InterleavedOwned;
use rubato::{Fft, FixedSync, Resampler};

use crate::error::MediaError;

/// Reads a WAV file as 48 kHz mono i16.
pub fn read_48k_mono(path: &Path) -> Result<Vec<i16>, MediaError> {
    let file = std::fs::File::open(path).map_err(|e| MediaError::WavRead {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    read_48k_mono_from(std::io::BufReader::new(file), &path.display().to_string())
}

/// Sample rates taken (the FFT resampler's buffers grow with the rate ratio).
const RATES: std::ops::RangeInclusive<u32> = 1_000..=384_000;

/// Reads WAV data (named `name` in errors) as 48 kHz mono i16.
pub fn read_48k_mono_from<R: std::io::Read>(input: R, name: &str) -> Result<Vec<i16>, MediaError> {
    let err = |why: String| MediaError::WavRead {
        path: name.to_string(),
        why,
    };
    let mut reader = hound::WavReader::new(input).map_err(|e| err(e.to_string()))?;
    let spec = reader.spec();
    if !RATES.contains(&spec.sample_rate) {
        return Err(err(format!(
            "sample rate {} Hz is outside 1–384 kHz",
            spec.sample_rate
        )));
    }
    let channels = spec.channels.max(1) as usize;
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| err(e.to_string()))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| err(e.to_string()))?
        }
    };
    // NaN or infinite float samples make the FFT resampler panic (found by fuzzing):
    // they are silence, and anything louder than full scale is full scale.
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|c| {
            c.iter()
                .map(|v| {
                    if v.is_finite() {
                        v.clamp(-1.0, 1.0)
                    } else {
                        0.0
                    }
                })
                .sum::<f32>()
                / c.len() as f32
        })
        .collect();
    let resampled = resample(&mono, spec.sample_rate, super::RATE).map_err(err)?;
    Ok(resampled
        .iter()
        .map(|&s| (s * 32767.0).clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Resamples a whole mono clip.
pub fn resample(mono: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to || mono.is_empty() {
        return Ok(mono.to_vec());
    }
    let mut r = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| e.to_string())?;
    let input =
        InterleavedOwned::new_from(mono.to_vec(), 1, mono.len()).map_err(|e| e.to_string())?;
    let out = r
        .process_all(&input, mono.len(), None)
        .map_err(|e| e.to_string())?;
    Ok(out.take_data())
}

/// Writes 48 kHz mono 16-bit frames to a file; finalised on `finish` or drop.
pub struct WavWriter {
    inner: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
    path: String,
}

impl WavWriter {
    pub fn create(path: &Path) -> Result<Self, MediaError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: super::RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let inner = hound::WavWriter::create(path, spec).map_err(|e| MediaError::WavWrite {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        Ok(WavWriter {
            inner: Some(inner),
            path: path.display().to_string(),
        })
    }

    pub fn write(&mut self, frame: &[i16]) -> Result<(), MediaError> {
        if let Some(w) = &mut self.inner {
            for &s in frame {
                w.write_sample(s).map_err(|e| MediaError::WavWrite {
                    path: self.path.clone(),
                    why: e.to_string(),
                })?;
            }
        }
        Ok(())
    }

    pub fn finish(&mut self) -> Result<(), MediaError> {
        if let Some(w) = self.inner.take() {
            w.finalize().map_err(|e| MediaError::WavWrite {
                path: self.path.clone(),
                why: e.to_string(),
            })?;
        }
        Ok(())
    }
}

impl Drop for WavWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn stereo_44k1_file_becomes_48k_mono() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..44_100 {
            let v =
                ((i as f32 / 44_100.0 * 1000.0 * std::f32::consts::TAU).sin() * 10_000.0) as i16;
            w.write_sample(v).unwrap();
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        let pcm = read_48k_mono(&path).unwrap();
        assert!((pcm.len() as i64 - 48_000).abs() < 100, "{}", pcm.len());
        let f = crate::audio::analysis::dominant_frequency(&pcm[4800..43200], 48_000);
        assert!((f - 1000.0).abs() < 3.0, "{f}");
    }
}
