//! Opus (libopus via the `opus` crate): 48 kHz mono, 20 ms frames, in-band FEC, optional
//! DTX, and a bitrate that follows the loss and RTT the far end reports.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use opus::{Application, Bitrate, Channels};

use super::FRAME;
use crate::error::MediaError;

pub const MIN_BITRATE: i32 = 16_000;
pub const MAX_BITRATE: i32 = 64_000;
pub const START_BITRATE: i32 = 32_000;
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
/// (new bitrate, expected loss % for the FEC, new streak). Heavy loss lowers the
/// bitrate quickly (and makes FEC stronger); a long clean stretch raises it slowly.
pub fn adapt(bitrate: i32, clean: u32, loss: f32, rtt_ms: f32) -> (i32, i32, u32) {
    let loss_perc = ((loss * 100.0).round() as i32 + 3).clamp(3, 30);
    if loss > 0.10 || rtt_ms > 600.0 {
        (
            (((bitrate as f32) * 0.75) as i32).max(MIN_BITRATE),
            loss_perc,
            0,
        )
    } else if loss > 0.03 {
        (
            (((bitrate as f32) * 0.92) as i32).max(MIN_BITRATE),
            loss_perc,
            0,
        )
    } else if clean + 1 >= 3 {
        (
            (((bitrate as f32) * 1.10) as i32).min(MAX_BITRATE),
            loss_perc,
            0,
        )
    } else {
        (bitrate, loss_perc, clean + 1)
    }
}

pub struct Decoder {
    inner: opus::Decoder,
}

impl Decoder {
    pub fn new() -> Result<Self, MediaError> {
        Ok(Decoder {
            inner: opus::Decoder::new(super::RATE, Channels::Mono).map_err(codec_err)?,
        })
    }

    /// Decodes a packet into one frame. A corrupt packet is concealed instead.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> usize {
        match self.inner.decode(packet, out, false) {
            Ok(n) => n,
            Err(_) => self.conceal(out),
        }
    }

    /// Recovers the frame before `next_packet` from its in-band FEC data.
    pub fn decode_fec(&mut self, next_packet: &[u8], out: &mut [i16]) -> usize {
        let Some(frame) = out.get_mut(..FRAME) else {
            return 0;
        };
        match self.inner.decode(next_packet, frame, true) {
            Ok(n) => n,
            Err(_) => self.conceal(out),
        }
    }

    /// Packet loss concealment for one frame.
    pub fn conceal(&mut self, out: &mut [i16]) -> usize {
        let Some(frame) = out.get_mut(..FRAME) else {
            return 0;
        };
        match self.inner.decode(&[], frame, false) {
            Ok(n) => n,
            Err(_) => {
                frame.fill(0);
                FRAME
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn bitrate_falls_fast_and_rises_slowly() {
        let (b, perc, _) = adapt(32_000, 0, 0.2, 50.0);
        assert_eq!(b, 24_000);
        assert_eq!(perc, 23);
        let mut b = MIN_BITRATE;
        let mut clean = 0;
        for _ in 0..60 {
            let r = adapt(b, clean, 0.0, 40.0);
            b = r.0;
            clean = r.2;
        }
        assert_eq!(b, MAX_BITRATE);
        assert_eq!(adapt(MIN_BITRATE, 0, 0.5, 50.0).0, MIN_BITRATE);
    }

    #[test]
    fn roundtrip_and_fec() {
        let mut enc = Encoder::new(false).unwrap();
        let mut dec = Decoder::new().unwrap();
        let mut pkt = [0u8; MAX_PACKET];
        let mut packets = Vec::new();
        for f in 0..10 {
            let pcm: Vec<i16> = (0..FRAME)
                .map(|i| {
                    let t = (f * FRAME + i) as f32 / 48_000.0;
                    ((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16
                })
                .collect();
            let n = enc.encode(&pcm, &mut pkt).unwrap();
            packets.push(pkt[..n].to_vec());
        }
        let mut out = [0i16; FRAME];
        for p in &packets[..5] {
            assert_eq!(dec.decode(p, &mut out), FRAME);
        }
        // Frame 5 lost: recovered from frame 6's FEC.
        assert_eq!(dec.decode_fec(&packets[6], &mut out), FRAME);
        assert!(super::super::level_dbfs(&out) > -40.0);
        assert_eq!(dec.conceal(&mut out), FRAME);
    }
}
