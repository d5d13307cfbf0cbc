//! banter-media: Banter's media engine. Knows no XMPP: it takes and returns typed
//! session descriptions and moves audio between two endpoints over ICE + DTLS-SRTP.

pub mod audio;
pub mod description;
pub mod error;
pub mod fuzzing;
pub mod netsim;
mod rtcp;
pub mod session;
pub mod turn_tcp;
pub mod video;

pub use description::{Candidate, CandidateKind, SessionDescription};
pub use error::MediaError;
pub use session::{
    CallStats, Cidr, IceServer, LatencyProbe, MediaConfig, MediaEvent, MediaSession, VideoStats,
};
