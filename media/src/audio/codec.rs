//! Opus (libopus via the `opus` crate): 48 kHz mono, 20 ms frames, in-band FEC, optional
//! DTX, and a bitrate that follows the loss and RTT the far end reports (`adapt`).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use opus::{Application, Bitrate, Channels};

use super::FRAME;
use crate::error::MediaError;

pub const MIN_BITRATE: i32 = 16_000;
pub const MAX_BITRATE: i32 = 64_000;
/// Where a call starts: wide-band speech is clear here from the first second (at 32 it
/// scored 0.2 WB-PESQ lower until the rate had climbed, which took 20 s of a call).
pub const START_BITRATE: i32 = 48_000;
/// Under random loss the rate goes to this plus 3.2 kbit/s per percent lost (5 %: 48).
const LOSS_BASE_BITRATE: f32 = 32_000.0;
/// Largest Opus packet we produce.
pub const MAX_PACKET: usize = 1275;

fn codec_err(e: opus::Error) -> MediaError {
    MediaError::Codec(e.to_string())
}

pub struct Encoder {
    inner: opus::Encoder,
    bitrate: i32,
    /// Consecutive clean reports, to raise the bitrate slowly.
    clean_reports: u32,
}

impl Encoder {
    pub fn new(dtx: bool) -> Result<Self, MediaError> {
        let mut inner = opus::Encoder::new(super::RATE, Channels::Mono, Application::Voip)
            .map_err(codec_err)?;
        inner.set_inband_fec(true).map_err(codec_err)?;
        inner.set_packet_loss_perc(5).map_err(codec_err)?;
        inner.set_dtx(dtx).map_err(codec_err)?;
        inner.set_complexity(9).map_err(codec_err)?;
        inner
            .set_bitrate(Bitrate::Bits(START_BITRATE))
            .map_err(codec_err)?;
        Ok(Encoder {
            inner,
            bitrate: START_BITRATE,
            clean_reports: 0,
        })
    }

    /// Encodes one 20 ms frame into `out`; returns the packet length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, MediaError> {
        debug_assert_eq!(pcm.len(), FRAME);
        self.inner.encode(pcm, out).map_err(codec_err)
    }

    pub fn bitrate(&self) -> i32 {
        self.bitrate
    }

    /// Adapts to a receiver report: `loss` is the fraction lost (0–1), `rtt_ms` the
    /// round-trip time. Returns the new bitrate.
    pub fn on_report(&mut self, loss: f32, rtt_ms: f32) -> i32 {
        let (bitrate, loss_perc, clean) = adapt(self.bitrate, self.clean_reports, loss, rtt_ms);
        self.clean_reports = clean;
        if bitrate != self.bitrate {
            self.bitrate = bitrate;
            let _ = self.inner.set_bitrate(Bitrate::Bits(bitrate));
        }
        let _ = self.inner.set_packet_loss_perc(loss_perc);
        self.bitrate
    }
}

/// The adaptation rule, pure: (bitrate, clean report streak, loss fraction, RTT) →
/// (new bitrate, expected loss % for the FEC, new streak).
///
/// Loss is not congestion (issue #21): random loss on Wi-Fi or a mobile link says
/// nothing about the capacity, and lowering the rate there starves the codec and its
/// in-band FEC (session 6 measured 64 → 16 kbit/s and WB-PESQ 1.8 at 5 % loss). So loss
/// raises the expected loss the encoder protects against and, with it, the rate, to
/// where FEC carries a good copy of each frame. What congestion looks like is delay
/// (queues filling): a long round trip lowers the rate. (The transport-cc estimate
/// is no help for audio: GCC never goes below 100 kbit/s, above our 64.)
pub fn adapt(bitrate: i32, clean: u32, loss: f32, rtt_ms: f32) -> (i32, i32, u32) {
    let loss_perc = ((loss * 100.0).round() as i32 + 3).clamp(3, 30);
    if rtt_ms > CONGESTED_RTT_MS {
        return (
            ((bitrate as f32 * 0.8) as i32).max(MIN_BITRATE),
            loss_perc,
            0,
        );
    }
    if loss > 0.01 {
        let want = ((LOSS_BASE_BITRATE + loss * 320_000.0) as i32).min(MAX_BITRATE);
        let up = ((bitrate as f32 * 1.15) as i32).min(want.max(bitrate));
        return (up.max(bitrate), loss_perc, 0);
    }
    if clean + 1 >= 3 {
        (
            (((bitrate as f32) * 1.10) as i32).min(MAX_BITRATE),
            loss_perc,
            0,
        )
    } else {
        (bitrate, loss_perc, clean + 1)
    }
}

/// A round trip this long means queues are filling somewhere: congestion.
const CONGESTED_RTT_MS: f32 = 600.0;

/// Concealed frames in a row played as Opus makes them; over the next as many the
/// concealment fades out, then silence. A stationary sound (a tone, a hum) would
/// otherwise go on as a buzz for the whole of an outage (measured: -30 dBFS through
/// a 3 s blackout); speech concealment is only worth its first ~100 ms anyway.
const CONCEAL_FULL: u32 = 5;
const CONCEAL_FADE: u32 = 5;

pub struct Decoder {
    inner: opus::Decoder,
    /// Frames concealed since the last decoded one.
    concealed_run: u32,
}

impl Decoder {
    pub fn new() -> Result<Self, MediaError> {
        Ok(Decoder {
            inner: opus::Decoder::new(super::RATE, Channels::Mono).map_err(codec_err)?,
            concealed_run: 0,
        })
    }

    /// Decodes a packet into one frame. A corrupt packet is concealed instead.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> usize {
        match self.inner.decode(packet, out, false) {
            Ok(n) => {
                self.concealed_run = 0;
                n
            }
            Err(_) => self.conceal(out),
        }
    }

    /// Recovers the frame before `next_packet` from its in-band FEC data.
    pub fn decode_fec(&mut self, next_packet: &[u8], out: &mut [i16]) -> usize {
        let Some(frame) = out.get_mut(..FRAME) else {
            return 0;
        };
        match self.inner.decode(next_packet, frame, true) {
            Ok(n) => {
                self.concealed_run = 0;
                n
            }
            Err(_) => self.conceal(out),
        }
    }

    /// Packet loss concealment for one frame: Opus' own, faded out to silence when
    /// the loss goes on (see `CONCEAL_FULL`).
    pub fn conceal(&mut self, out: &mut [i16]) -> usize {
        let Some(frame) = out.get_mut(..FRAME) else {
            return 0;
        };
        self.concealed_run = self.concealed_run.saturating_add(1);
        if self.concealed_run > CONCEAL_FULL + CONCEAL_FADE {
            frame.fill(0);
            return FRAME;
        }
        let n = match self.inner.decode(&[], frame, false) {
            Ok(n) => n,
            Err(_) => {
                frame.fill(0);
                return FRAME;
            }
        };
        if self.concealed_run > CONCEAL_FULL {
            // Linear from the gain of the frame before to that of the next one.
            let k = (self.concealed_run - CONCEAL_FULL) as f32;
            let fade = CONCEAL_FADE as f32 + 1.0;
            let (from, to) = (1.0 - (k - 1.0) / fade, 1.0 - k / fade);
            let len = frame.len().max(1) as f32;
            for (i, s) in frame.iter_mut().enumerate() {
                let g = from + (to - from) * i as f32 / len;
                *s = (*s as f32 * g) as i16;
            }
        }
        n
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Random loss raises the rate (and the FEC's expected loss) instead of lowering
    /// it; a long round trip (congestion) lowers it; a clean path raises it slowly.
    #[test]
    fn loss_raises_the_rate_and_delay_lowers_it() {
        let (b, perc, _) = adapt(32_000, 0, 0.05, 50.0);
        assert_eq!((b, perc), (36_800, 8));
        let mut b = 32_000;
        for _ in 0..10 {
            b = adapt(b, 0, 0.05, 50.0).0;
        }
        assert_eq!(b, 48_000, "5 % loss settles at 48 kbit/s");
        assert_eq!(adapt(MAX_BITRATE, 0, 0.2, 50.0), (MAX_BITRATE, 23, 0));
        assert_eq!(
            adapt(48_000, 0, 0.2, 900.0).0,
            38_400,
            "congestion gives way"
        );
        assert_eq!(adapt(MIN_BITRATE, 0, 0.5, 900.0).0, MIN_BITRATE);
        let mut b = MIN_BITRATE;
        let mut clean = 0;
        for _ in 0..60 {
            let r = adapt(b, clean, 0.0, 40.0);
            b = r.0;
            clean = r.2;
        }
        assert_eq!(b, MAX_BITRATE);
    }

    /// Frame `f` of a 440 Hz tone, encoded.
    fn tone_packet(enc: &mut Encoder, f: usize) -> Vec<u8> {
        let pcm: Vec<i16> = (0..FRAME)
            .map(|i| {
                let t = (f * FRAME + i) as f32 / 48_000.0;
                ((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16
            })
            .collect();
        let mut pkt = [0u8; MAX_PACKET];
        let n = enc.encode(&pcm, &mut pkt).unwrap();
        pkt[..n].to_vec()
    }

    #[test]
    fn roundtrip_and_fec() {
        let mut enc = Encoder::new(false).unwrap();
        let mut dec = Decoder::new().unwrap();
        let packets: Vec<Vec<u8>> = (0..10).map(|f| tone_packet(&mut enc, f)).collect();
        let mut out = [0i16; FRAME];
        for p in &packets[..5] {
            assert_eq!(dec.decode(p, &mut out), FRAME);
        }
        // Frame 5 lost: recovered from frame 6's FEC.
        assert_eq!(dec.decode_fec(&packets[6], &mut out), FRAME);
        assert!(super::super::level_dbfs(&out) > -40.0);
        assert_eq!(dec.conceal(&mut out), FRAME);
    }

    /// A tone lost for good: Opus' concealment for about 100 ms, fading over the
    /// next 100 ms, then silence (not a buzz for the whole outage); the next packet
    /// plays at full level.
    #[test]
    fn a_long_loss_fades_to_silence_and_the_next_packet_plays() {
        let mut enc = Encoder::new(false).unwrap();
        let mut dec = Decoder::new().unwrap();
        let mut out = [0i16; FRAME];
        for f in 0..20 {
            dec.decode(&tone_packet(&mut enc, f), &mut out);
        }
        let level = |o: &[i16]| super::super::level_dbfs(o);
        let mut levels = Vec::new();
        for _ in 0..50 {
            dec.conceal(&mut out);
            levels.push(level(&out));
        }
        assert!(levels[0] > -30.0, "{levels:?}");
        assert!(levels[7] < levels[0] - 3.0, "fading: {levels:?}");
        assert!(levels[10..].iter().all(|l| *l < -90.0), "{levels:?}");
        for f in 70..75 {
            dec.decode(&tone_packet(&mut enc, f), &mut out);
        }
        assert!(level(&out) > -30.0, "{}", level(&out));
    }
}
