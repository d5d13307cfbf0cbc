//! What the peer was told of our side (mute, hold: session-info, XEP-0167 §7), kept
//! to be told again when it may not have arrived:
//! - our stream came back as a new session, not resumed (a server restart): what was
//!   in flight on the old one is gone, so what is still unanswered is said again;
//! - the peer's server answered that its device was not there (it was reconnecting
//!   too): said again when its presence is back, or (a peer whose presence we do not
//!   get) after 2 s, 4 s, … up to every 30 s.
//!
//! Also the peer's absence: its device going offline while the call's media still
//! flows means its stream was lost, not its client (a new session replacing the old
//! one says "unavailable" first), so the call goes on; it ends when the path is lost
//! as well, with nobody left to restart ICE with.

use super::*;

#[derive(Debug, Clone, Default)]
pub(super) struct News {
    /// Our audio is muted; whether the peer was ever told either way.
    muted: bool,
    told_mute: bool,
    /// We put the call on hold; whether the peer was ever told either way.
    held: bool,
    told_hold: bool,
    /// Our session-infos not answered yet.
    unanswered: u32,
    /// One did not reach the peer's device: say it again when the device is back.
    undelivered: bool,
    /// The pause before saying it again (zero: none planned).
    retry: Duration,
    /// The peer's device went offline while the path was up.
    pub(super) peer_away: bool,
}

impl Call {
    /// A session-info to the peer, once the session exists (counted until answered).
    pub(super) fn session_info(&mut self, info: Info) -> Option<Output> {
        let to = self.peer_full.clone().filter(|_| self.session)?;
        let mut jingle = Jingle::new(Action::SessionInfo, &self.id);
        jingle.info = Some(info);
        self.news.unanswered += 1;
        Some(Output::Jingle { to, jingle })
    }

    pub(super) fn mute(&mut self, muted: bool, out: &mut Vec<Output>) {
        out.push(Output::SetMuted(muted));
        self.news.muted = muted;
        self.news.told_mute = true;
        out.extend(self.session_info(mute_info(muted)));
    }

    pub(super) fn hold(&mut self, held: bool, out: &mut Vec<Output>) {
        if self.state == CallState::Active {
            out.push(Output::SetHeld(held));
            self.news.held = held;
            self.news.told_hold = true;
            out.extend(self.session_info(hold_info(held)));
        }
    }

    /// The peer answered one of our requests (a result or an error).
    pub(super) fn answered(&mut self, action: Action) {
        if action == Action::SessionInfo {
            self.news.unanswered = self.news.unanswered.saturating_sub(1);
        }
    }

    /// The peer acknowledged one of our requests: it is there.
    pub(super) fn delivered(&mut self, action: Action) {
        self.answered(action);
        if action == Action::SessionInfo {
            self.news.retry = Duration::ZERO;
        }
    }

    /// Our request did not reach the peer's device.
    pub(super) fn undelivered(&mut self, action: Action, out: &mut Vec<Output>) {
        if action == Action::SessionInfo {
            self.answered(action);
            self.news.undelivered = true;
            self.news.retry = (self.news.retry * 2).clamp(NEWS_RETRY_FIRST, NEWS_RETRY_MAX);
            self.plan_news_retry(out);
        } else {
            self.refused(action, out);
        }
    }

    /// The call's one timer is the retry's while the path is up (the path's own
    /// timer, when it is lost, says the news again at each restart).
    pub(super) fn plan_news_retry(&mut self, out: &mut Vec<Output>) {
        if self.news.undelivered && self.state == CallState::Active && !self.path_lost_now() {
            out.push(Output::SetTimer(self.news.retry.max(NEWS_RETRY_FIRST)));
        }
    }

    /// The call's timer in an active call.
    pub(super) fn news_timeout(&mut self, out: &mut Vec<Output>) {
        if self.news.undelivered {
            self.tell_again(out);
        }
    }

    /// Our stream is a new session: what is unanswered may never have left.
    pub(super) fn stream_renewed(&mut self, out: &mut Vec<Output>) {
        if self.news.unanswered > 0 || self.news.undelivered {
            self.tell_again(out);
        }
    }

    /// The peer's device went offline: the call ends unless its media still flows.
    pub(super) fn peer_gone(&mut self, out: &mut Vec<Output>) {
        if self.state == CallState::Active && !self.path_lost_now() {
            tracing::info!(call = %self.id, "the peer's device went offline; its media still flows");
            self.news.peer_away = true;
        } else {
            // Nobody left to tell: end here.
            self.end(EndReason::Jingle(Reason::Gone), out);
        }
    }

    pub(super) fn peer_back(&mut self, out: &mut Vec<Output>) {
        self.news.peer_away = false;
        if self.news.undelivered && !self.is_ended() {
            self.tell_again(out);
        }
    }

    /// Says our mute and hold state again, as it is now.
    fn tell_again(&mut self, out: &mut Vec<Output>) {
        self.news.undelivered = false;
        self.news.unanswered = 0;
        if self.news.told_mute {
            out.extend(self.session_info(mute_info(self.news.muted)));
        }
        if self.news.told_hold {
            out.extend(self.session_info(hold_info(self.news.held)));
        }
    }
}

/// The first pause before saying again what did not reach the peer's device, and
/// the longest (it doubles).
const NEWS_RETRY_FIRST: Duration = Duration::from_secs(2);
const NEWS_RETRY_MAX: Duration = Duration::from_secs(30);

fn mute_info(muted: bool) -> Info {
    if muted {
        Info::Mute(None)
    } else {
        Info::Unmute(None)
    }
}

fn hold_info(held: bool) -> Info {
    if held {
        Info::Hold
    } else {
        Info::Unhold
    }
}

#[cfg(test)]
mod tests;
