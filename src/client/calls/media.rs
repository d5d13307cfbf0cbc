//! One media worker per call: a task that owns the call's `MediaSession` and does its
//! work in the order the endpoint asked for it. Creating the peer connection and opening
//! devices takes time; here it never holds up the account task (chat, other calls).

use std::collections::HashMap;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use banter_media::{MediaConfig, MediaError, MediaEvent, MediaSession};

use crate::client::SettingsChange;
use crate::jingle::endpoint::{MediaCommand, MediaResult};
use crate::jingle::Reason;

/// What comes back from a call's media, to the account task.
#[derive(Debug)]
pub(in crate::client) enum FromMedia {
    /// Something the engine noticed (candidates, connected, stats …).
    Engine(MediaEvent),
    /// The result of a command.
    Done(MediaResult),
    /// Something the user should know; the call goes on.
    Error(String),
    /// A screen to share was made ready (the portal answered, or the X11 source
    /// could be read), or why it cannot be.
    ScreenReady(Result<banter_media::video::screen::ScreenSpec, MediaError>),
}

pub(in crate::client) type MediaTx = mpsc::UnboundedSender<(String, FromMedia)>;

enum ToWorker {
    Do(MediaCommand),
    Settings(SettingsChange),
}

/// The running workers, by call id, and the ones closing.
#[derive(Default)]
pub(in crate::client) struct Workers {
    running: HashMap<String, mpsc::UnboundedSender<ToWorker>>,
    tasks: HashMap<String, JoinHandle<()>>,
    closing: Vec<JoinHandle<()>>,
}

impl Workers {
    pub(in crate::client) fn has(&self, id: &str) -> bool {
        self.running.contains_key(id)
    }

    pub(in crate::client) fn start(&mut self, id: &str, cfg: MediaConfig, results: MediaTx) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(work(id.to_string(), cfg, rx, results));
        self.running.insert(id.to_string(), tx);
        self.tasks.insert(id.to_string(), task);
    }

    pub(in crate::client) fn send(&mut self, id: &str, command: MediaCommand) {
        let close = matches!(command, MediaCommand::Close);
        if let Some(tx) = self.running.get(id) {
            let _ = tx.send(ToWorker::Do(command));
        }
        if close {
            self.running.remove(id);
            self.closing.retain(|h| !h.is_finished());
            if let Some(t) = self.tasks.remove(id) {
                self.closing.push(t);
            }
        }
    }

    pub(in crate::client) fn settings(&self, change: &SettingsChange) {
        for tx in self.running.values() {
            let _ = tx.send(ToWorker::Settings(change.clone()));
        }
    }

    /// The workers still closing (recordings flushing, devices being released), for a
    /// clean stop to wait on.
    pub(in crate::client) fn closing(&mut self) -> Vec<JoinHandle<()>> {
        let mut all: Vec<JoinHandle<()>> = self.closing.drain(..).collect();
        // Workers of calls not ended yet stop when their queue closes.
        self.running.clear();
        all.extend(self.tasks.drain().map(|(_, t)| t));
        all
    }
}

/// How a media failure ends the call.
pub(in crate::client) fn failure_reason(e: &MediaError) -> Reason {
    tracing::info!(error = %e, "media failed");
    match e {
        MediaError::FingerprintMismatch => Reason::SecurityError,
        MediaError::Description(_) | MediaError::Internal(_) => Reason::FailedApplication,
        _ => Reason::ConnectivityError,
    }
}

async fn work(
    id: String,
    mut cfg: MediaConfig,
    mut commands: mpsc::UnboundedReceiver<ToWorker>,
    results: MediaTx,
) {
    let mut session: Option<MediaSession> = None;
    let reply = |r: FromMedia| {
        let _ = results.send((id.clone(), r));
    };
    while let Some(cmd) = commands.recv().await {
        let command = match cmd {
            ToWorker::Settings(change) => {
                settings(&mut cfg, session.as_ref(), change, &reply);
                continue;
            }
            ToWorker::Do(MediaCommand::Close) => break,
            ToWorker::Do(c) => c,
        };
        match command {
            MediaCommand::CreateOffer {
                send_video,
                bundle,
                red,
            } => {
                cfg.send_video = send_video;
                cfg.bundle = bundle;
                cfg.red = red;
                let done = match open(&id, &cfg, &mut session, &results).await {
                    Ok(s) => s.create_offer().await,
                    Err(e) => Err(e),
                };
                reply(FromMedia::Done(described(done)));
            }
            MediaCommand::AcceptOffer {
                offer,
                send_video,
                bundle,
            } => {
                cfg.send_video = send_video;
                cfg.bundle = bundle;
                let done = match open(&id, &cfg, &mut session, &results).await {
                    Ok(s) => s.accept_offer(&offer).await,
                    Err(e) => Err(e),
                };
                reply(FromMedia::Done(described(done)));
            }
            other => {
                let Some(s) = session.as_ref() else { continue };
                run(s, other, &reply).await;
            }
        }
    }
    if let Some(s) = session {
        s.close().await;
    }
}

/// Our offer or answer, or why the engine could not make it (the call ends).
fn described(r: Result<banter_media::description::SessionDescription, MediaError>) -> MediaResult {
    match r {
        Ok(d) => MediaResult::Description(d),
        Err(e) => MediaResult::Failed(failure_reason(&e)),
    }
}

/// The call's session, created on first use (after the user accepted, so nothing is
/// gathered for a call that is declined).
async fn open<'a>(
    id: &str,
    cfg: &MediaConfig,
    session: &'a mut Option<MediaSession>,
    results: &MediaTx,
) -> Result<&'a MediaSession, MediaError> {
    if session.is_none() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let s = MediaSession::new(cfg.clone(), tx).await?;
        let forward = results.clone();
        let sid = id.to_string();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if forward.send((sid.clone(), FromMedia::Engine(ev))).is_err() {
                    return;
                }
            }
        });
        *session = Some(s);
    }
    session
        .as_ref()
        .ok_or(MediaError::Internal("no media session"))
}

async fn run(s: &MediaSession, command: MediaCommand, reply: &impl Fn(FromMedia)) {
    let done = |r: MediaResult| reply(FromMedia::Done(r));
    match command {
        MediaCommand::AcceptAnswer(answer) => {
            if let Err(e) = s.accept_answer(&answer).await {
                done(MediaResult::Failed(failure_reason(&e)));
            }
        }
        MediaCommand::RemoteCandidates(cands) => {
            for c in cands {
                s.add_remote_candidate(c).await;
            }
        }
        MediaCommand::RemoteVideoCandidates(cands) => {
            for c in cands {
                s.add_remote_video_candidate(c).await;
            }
        }
        MediaCommand::SetVideoDirection(d) => {
            if let Err(e) = s.set_video_direction(d).await {
                reply(FromMedia::Error(format!(
                    "the video could not change direction: {e}"
                )));
            }
        }
        MediaCommand::SetMuted(m) => s.set_muted(m),
        MediaCommand::SetHeld(h) => s.set_held(h),
        MediaCommand::AddVideo => match s.add_video().await {
            Ok(offer) => done(MediaResult::Reoffer(offer)),
            Err(e) => {
                reply(FromMedia::Error(format!(
                    "{e}: the call goes on without video"
                )));
                done(MediaResult::AddVideoFailed);
            }
        },
        MediaCommand::AcceptContentAdd { offer, send_video } => {
            match s.accept_offer(&offer).await {
                Ok(answer) => {
                    if send_video {
                        if let Err(e) = s.set_camera(true) {
                            reply(FromMedia::Error(e.to_string()));
                        }
                    }
                    done(MediaResult::ContentAnswer(answer));
                }
                Err(e) => {
                    tracing::info!(error = %e, "the peer's video could not be added");
                    reply(FromMedia::Error(format!(
                        "the peer's video could not be added: {e}"
                    )));
                    done(MediaResult::ContentAddFailed);
                }
            }
        }
        MediaCommand::ShareScreen {
            screen,
            camera_back,
            share,
        } => {
            let starting = screen.is_some();
            if let Err(error) = s.share_screen(screen, camera_back, share) {
                if starting {
                    // Undone where it was started (the client's share, the call bar).
                    reply(FromMedia::Engine(MediaEvent::ScreenShareEnded {
                        error,
                        share,
                    }));
                } else {
                    reply(FromMedia::Error(error.to_string()));
                }
            }
        }
        MediaCommand::SetCamera(on) => {
            if let Err(e) = s.set_camera(on) {
                reply(FromMedia::Error(e.to_string()));
            }
        }
        MediaCommand::RestartIce => match s.restart_ice().await {
            Ok(ours) => done(MediaResult::Restarted { ours, offer: true }),
            Err(e) => {
                tracing::warn!(error = %e, "ICE could not be restarted");
                done(MediaResult::Failed(failure_reason(&e)));
            }
        },
        MediaCommand::PeerRestarted { peer, offer } => match s.peer_restarted(peer, offer).await {
            Ok(Some(ours)) => done(MediaResult::Restarted { ours, offer: false }),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the peer's ICE restart could not be applied");
                done(MediaResult::Failed(failure_reason(&e)));
            }
        },
        MediaCommand::RemoveVideo => s.remove_video().await,
        MediaCommand::CancelVideoOffer => s.cancel_video_offer().await,
        // Handled by the worker loop.
        MediaCommand::CreateOffer { .. }
        | MediaCommand::AcceptOffer { .. }
        | MediaCommand::Close => {}
    }
}

/// A settings change: for the session not made yet, and live for the one running.
fn settings(
    cfg: &mut MediaConfig,
    s: Option<&MediaSession>,
    change: SettingsChange,
    reply: &impl Fn(FromMedia),
) {
    use SettingsChange as S;
    match change {
        S::AudioIn(spec) => {
            if let Some(s) = s {
                s.set_audio_in(spec.clone());
            }
            cfg.audio_in = spec;
        }
        S::AudioOut(spec) => {
            if let Some(s) = s {
                s.set_audio_out(spec.clone());
            }
            cfg.audio_out = spec;
        }
        S::Processing(p) => {
            if let Some(s) = s {
                s.set_processing(p);
            }
            cfg.processing = p;
        }
        S::VideoIn(spec) => {
            if let Some(Err(e)) = s.map(|s| s.set_video_in(spec.clone())) {
                reply(FromMedia::Error(e.to_string()));
            }
            cfg.video_in = spec;
        }
        S::RelayOnly(r) => cfg.relay_only = r,
        S::CallsFromAnyone(_) => {}
    }
}
