//! banter-media: Banter's media engine. Knows no XMPP: it takes and returns typed
//! session descriptions and moves audio between two endpoints over ICE + DTLS-SRTP.

// Much of this crate handles what a peer sends (RTP, RTCP, STUN/TURN, SDP from its
// Jingle): a panic there is a remote crash, so none of it may unwrap or index blindly.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod audio;
pub mod config;
pub mod description;
pub mod error;
pub mod events;
pub mod fuzzing;
pub mod netcheck;
pub mod netsim;
pub mod netwatch;
mod rtcp;
pub mod session;
pub mod turn_tcp;
pub mod video;

pub use description::{Candidate, CandidateKind, SessionDescription};
pub use error::MediaError;
pub use session::{
    AudioDevice, CallStats, Cidr, IceServer, LatencyProbe, MediaConfig, MediaEvent, MediaSession,
    VideoStats,
};
