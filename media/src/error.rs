//! Errors of the media engine, worded for the person who has to fix them.

use thiserror::Error;

#[derive(Debug, Error, Clone)]
pub enum MediaError {
    #[error("no microphone found{0}")]
    NoInputDevice(String),
    #[error("no speaker found{0}")]
    NoOutputDevice(String),
    #[error("audio device error: {0}")]
    Device(String),
    #[error("cannot read audio file {path}: {why}")]
    WavRead { path: String, why: String },
    #[error("cannot write audio file {path}: {why}")]
    WavWrite { path: String, why: String },
    #[error("invalid audio option '{0}': use mic[:NAME], FILE.wav, tone:HZ or silence (in); speaker[:NAME], FILE.wav or null (out)")]
    BadSpec(String),
    #[error("invalid video option '{0}': use camera[:NAME], screen[:monitor[:N]|:window:NAME], pattern, echo or none")]
    BadVideoSpec(String),
    #[error("no camera found{0}")]
    NoCamera(String),
    #[error("camera: {0}")]
    Camera(String),
    #[error("cannot share the screen: {0}")]
    Screen(String),
    #[error("the shared window was closed")]
    ScreenGone,
    /// The person closed the desktop's own picker (the portal) without picking.
    #[error("the screen sharing was cancelled in the desktop's dialog")]
    ScreenCancelled,
    #[error("cannot write video file {path}: {why}")]
    VideoWrite { path: String, why: String },
    #[error("Opus codec error: {0}")]
    Codec(String),
    #[error("echo canceller: {0}")]
    Echo(String),
    #[error("media transport: {0}")]
    Transport(String),
    #[error("security error: the peer's DTLS certificate does not match the signaled fingerprint")]
    FingerprintMismatch,
    #[error("invalid session description: {0}")]
    Description(String),
    #[error("internal error in the {0} (a bug; please report it)")]
    Internal(&'static str),
}
