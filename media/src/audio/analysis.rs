//! Signal analysis used by tests, the sound test and benchmarks: dominant frequency,
//! gaps, echo return loss, click onsets.

// Analyses recordings for the tests and the sound test; not network input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use realfft::RealFftPlanner;

/// The strongest frequency in `samples` (Hann window, FFT, parabolic interpolation).
pub fn dominant_frequency(samples: &[i16], rate: u32) -> f32 {
    let n = samples.len().next_power_of_two().min(1 << 18);
    let n = if n > samples.len() { n / 2 } else { n };
    if n < 64 {
        return 0.0;
    }
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(n);
    let mut input: Vec<f32> = samples[..n]
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let w = 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n as f32).cos();
            s as f32 * w
        })
        .collect();
    let mut spectrum = fft.make_output_vec();
    if fft.process(&mut input, &mut spectrum).is_err() {
        return 0.0;
    }
    let mags: Vec<f32> = spectrum.iter().map(|c| c.norm()).collect();
    let (k, _) = mags
        .iter()
        .enumerate()
        .skip(1)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap_or((0, &0.0));
    let shift = if k > 0 && k + 1 < mags.len() {
        let (a, b, c) = (mags[k - 1], mags[k], mags[k + 1]);
        let d = a - 2.0 * b + c;
        if d.abs() > f32::EPSILON {
            0.5 * (a - c) / d
        } else {
            0.0
        }
    } else {
        0.0
    };
    (k as f32 + shift) * rate as f32 / n as f32
}

/// Longest run of near-silence (|s| below `threshold`) in ms, between the first and the
/// last sound: a dropout in a signal that should be continuous.
pub fn longest_gap_ms(samples: &[i16], rate: u32, threshold: i16) -> f32 {
    let loud = |s: &i16| s.unsigned_abs() >= threshold as u16;
    let Some(first) = samples.iter().position(loud) else {
        return samples.len() as f32 * 1000.0 / rate as f32;
    };
    let last = samples.iter().rposition(loud).unwrap_or(first);
    // A tone crosses zero twice a period; count a gap only when a whole ms is quiet.
    let win = (rate / 1000) as usize;
    let mut longest = 0usize;
    let mut run = 0usize;
    for chunk in samples[first..=last].chunks(win) {
        if chunk.iter().any(loud) {
            run = 0;
        } else {
            run += 1;
            longest = longest.max(run);
        }
    }
    longest as f32
}

/// Energy ratio in dB: 10·log10(E(a)/E(b)).
pub fn energy_ratio_db(a: &[f32], b: &[f32]) -> f32 {
    let ea: f64 = a.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() + 1e-9;
    let eb: f64 = b.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() + 1e-9;
    (10.0 * (ea / eb).log10()) as f32
}

/// Sample indices where the signal rises above `threshold` after at least `quiet`
/// samples below it: the starts of clicks or bursts.
pub fn onsets(samples: &[i16], threshold: i16, quiet: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut below = quiet;
    for (i, &s) in samples.iter().enumerate() {
        if s.unsigned_abs() >= threshold as u16 {
            if below >= quiet {
                out.push(i);
            }
            below = 0;
        } else {
            below += 1;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn tone(f: f32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| ((i as f32 / 48_000.0 * f * std::f32::consts::TAU).sin() * 10_000.0) as i16)
            .collect()
    }

    #[test]
    fn finds_tone_frequency() {
        for f in [440.0, 880.0, 1234.0] {
            let got = dominant_frequency(&tone(f, 48_000), 48_000);
            assert!((got - f).abs() < 1.0, "{f} → {got}");
        }
    }

    #[test]
    fn finds_gaps() {
        let mut s = tone(440.0, 48_000);
        assert!(longest_gap_ms(&s, 48_000, 500) < 2.0);
        for x in &mut s[10_000..13_840] {
            *x = 0;
        }
        let g = longest_gap_ms(&s, 48_000, 500);
        assert!((79.0..=81.0).contains(&g), "{g}");
    }

    #[test]
    fn finds_onsets() {
        let mut s = vec![0i16; 48_000];
        s[1000] = 20_000;
        s[30_000] = 20_000;
        assert_eq!(onsets(&s, 10_000, 480), vec![1000, 30_000]);
    }
}
