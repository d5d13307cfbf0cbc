//! Two endpoints on virtual time, a network that drops, duplicates, delays and reorders
//! stanzas, and a stand-in media engine per call. Property tests (`tests.rs`) drive it
//! with random user actions and check invariants over everything that happened.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use minidom::Element;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::stanza::Stanza;

use banter_media::description::{Candidate, Fingerprint, SessionDescription, Setup};
use banter_media::session::IceCredentials;

use super::{Directory, Endpoint, Event, IqAnswer, MediaCommand, MediaResult};
use crate::jingle::session::tests as session_tests;
use crate::jingle::session::{CallState, EndReason, Input};
use crate::jingle::{Jingle, Reason};

pub const ALICE: usize = 0;
pub const BOB: usize = 1;

/// Everyone may call, features known and bundling (the libwebrtc case).
pub struct Open;

impl Directory for Open {
    fn may_call(&self, _: &BareJid) -> bool {
        true
    }
    fn bundles(&self, _: &FullJid) -> Option<bool> {
        Some(true)
    }
    fn features_pending(&self, _: &FullJid) -> bool {
        false
    }
}

/// What a side knows of the world: by default `Open`; calls whose fingerprints wait
/// for keys on their way (OMEMO bundles); a side that takes no calls from the other
/// (a stranger, by its call policy); a side that never learns the peer's features
/// (asked, never answered: the offer waits for them, then goes).
#[derive(Default)]
pub struct Dir {
    pub sealing: BTreeSet<String>,
    pub refuses: bool,
    pub features_lost: bool,
}

impl Directory for Dir {
    fn may_call(&self, _: &BareJid) -> bool {
        !self.refuses
    }
    fn bundles(&self, _: &FullJid) -> Option<bool> {
        (!self.features_lost).then_some(true)
    }
    fn features_pending(&self, _: &FullJid) -> bool {
        self.features_lost
    }
    fn keys_pending(&self, call: &str) -> bool {
        self.sealing.contains(call)
    }
}

/// How the network treats each stanza.
#[derive(Debug, Clone, Copy)]
pub struct Net {
    pub drop: f64,
    pub duplicate: f64,
    /// Each copy is delayed uniformly up to this (so copies overtake each other).
    pub max_delay: Duration,
}

/// What happened, in order, for the invariants.
#[derive(Debug, Clone)]
pub enum Seen {
    /// A stanza left `side`; `candidates` counts ICE candidates in it.
    Sent {
        side: usize,
        /// The Jingle action, JMI element or IQ type.
        kind: String,
        sid: Option<String>,
        candidates: usize,
    },
    State {
        side: usize,
        call: String,
        state: CallState,
    },
    /// An event about a call (state, info or media work), for "nothing after the end".
    About { side: usize, call: String },
}

enum Due {
    Deliver {
        to: usize,
        stanza: Element,
    },
    Media {
        side: usize,
        call: String,
        r: MediaResult,
    },
}

/// A stand-in media engine: descriptions and candidates at once, "connected" when it
/// has both descriptions and a remote candidate; it fails when the peer's engine closed
/// (ICE consent lost).
#[derive(Default)]
struct FakeMedia {
    local: bool,
    remote: bool,
    remote_candidate: bool,
    connected: bool,
    closed: bool,
    /// ICE restarts made or answered.
    restarts: u32,
}

pub struct World {
    pub now: Instant,
    pub eps: [Endpoint; 2],
    jids: [FullJid; 2],
    net: Net,
    rng: StdRng,
    queue: BTreeMap<(Instant, u64), Due>,
    seq: u64,
    media: [BTreeMap<String, FakeMedia>; 2],
    pub seen: Vec<Seen>,
    /// Calls placed to a full JID (no JMI): the caller's candidates may go first.
    pub direct: BTreeSet<String>,
    /// Who placed each call.
    pub placed: BTreeMap<String, usize>,
    pub dirs: [Dir; 2],
    /// Calls `side` places wait for keys to seal them (until `keys_arrive`).
    pub keys_slow: [bool; 2],
    /// `side`'s XMPP stream is down: what it sends and what is sent to it is lost.
    pub down: [bool; 2],
}

impl World {
    pub fn new(seed: u64, net: Net) -> World {
        let jids = [
            FullJid::new("alice@example.test/pc").expect("jid"),
            FullJid::new("bob@example.test/phone").expect("jid"),
        ];
        let ep = |j: &FullJid, s: u64| {
            let mut e = Endpoint::new(j.to_bare(), true, Duration::from_secs(45), s);
            e.set_bound(Some(j.clone()));
            e
        };
        World {
            now: Instant::now(),
            eps: [ep(&jids[0], seed), ep(&jids[1], seed ^ 0x5eed)],
            jids,
            net,
            rng: StdRng::seed_from_u64(seed.wrapping_mul(31)),
            queue: BTreeMap::new(),
            seq: 0,
            media: [BTreeMap::new(), BTreeMap::new()],
            seen: Vec::new(),
            direct: BTreeSet::new(),
            placed: BTreeMap::new(),
            dirs: [Dir::default(), Dir::default()],
            keys_slow: [false, false],
            down: [false, false],
        }
    }

    fn schedule(&mut self, after: Duration, due: Due) {
        self.seq += 1;
        self.queue.insert((self.now + after, self.seq), due);
    }

    pub fn place(&mut self, side: usize, id: &str, direct: bool, video: bool) {
        let peer = self.jids[1 - side].clone();
        let to = if direct {
            Jid::from(peer)
        } else {
            Jid::from(peer.to_bare())
        };
        if direct {
            self.direct.insert(id.to_string());
        }
        self.placed.insert(id.to_string(), side);
        if self.keys_slow[side] {
            self.dirs[side].sealing.insert(id.to_string());
        }
        let now = self.now;
        let _ = self.eps[side].place(id.to_string(), to, video, now, &self.dirs[side]);
        self.drain(side);
    }

    pub fn user(&mut self, side: usize, call: &str, input: Input) {
        let now = self.now;
        self.eps[side].input(call, input, now, &self.dirs[side]);
        self.drain(side);
    }

    /// `side`'s stream goes down, or comes back (`renewed`: as a new session, what
    /// was in flight lost).
    pub fn stream(&mut self, side: usize, up: bool, renewed: bool) {
        self.down[side] = !up;
        let now = self.now;
        self.eps[side].signaling(up, renewed, now, &self.dirs[side]);
        self.drain(side);
    }

    /// The keys `side`'s calls waited for came.
    pub fn keys_arrive(&mut self, side: usize) {
        self.dirs[side].sealing.clear();
        self.eps[side].keys_arrived(&self.dirs[side]);
        self.drain(side);
    }

    pub fn hang_up_all(&mut self, side: usize) {
        let now = self.now;
        self.eps[side].hang_up_all(now, &self.dirs[side]);
        self.drain(side);
    }

    /// The calls `side` knows, in id order.
    pub fn calls(&self, side: usize) -> Vec<(String, CallState)> {
        self.eps[side]
            .call_ids()
            .filter_map(|id| Some((id.clone(), self.eps[side].state(id)?)))
            .collect()
    }

    /// Runs until `until`, delivering what is due and firing timers, in time order.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            let next_net = self.queue.keys().next().map(|k| k.0);
            let next_timer = [0, 1]
                .into_iter()
                .filter_map(|s| self.eps[s].poll_timeout().map(|t| (t, s)))
                .min();
            let next = [next_net, next_timer.map(|t| t.0)]
                .into_iter()
                .flatten()
                .min();
            let Some(t) = next.filter(|t| *t <= until) else {
                self.now = self.now.max(until);
                return;
            };
            self.now = self.now.max(t);
            if next_net == Some(t) {
                let Some((_, due)) = self.queue.pop_first() else {
                    continue;
                };
                self.handle(due);
            } else if let Some((_, side)) = next_timer {
                let now = self.now;
                self.eps[side].handle_timeout(now, &self.dirs[side]);
                self.drain(side);
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn handle(&mut self, due: Due) {
        let now = self.now;
        match due {
            // A stream that is down hears nothing.
            Due::Deliver { to, .. } if self.down[to] => {}
            Due::Deliver { to, stanza } => match to_stanza(stanza) {
                Some(Stanza::Message(m)) if self.eps[to].is_jmi(&m) => {
                    self.eps[to].handle_jmi(&m, now, &self.dirs[to]);
                }
                Some(Stanza::Iq(Iq::Set {
                    from, id, payload, ..
                })) => self.eps[to].handle_jingle(from, id, &payload, now, &self.dirs[to]),
                Some(Stanza::Iq(Iq::Result { from, id, .. })) => {
                    let dir = &self.dirs[to];
                    self.eps[to].handle_iq_answer(&id, from.as_ref(), IqAnswer::Done, now, dir);
                }
                Some(Stanza::Iq(Iq::Error { from, id, .. })) => {
                    self.eps[to].handle_iq_answer(
                        &id,
                        from.as_ref(),
                        IqAnswer::Refused,
                        now,
                        &self.dirs[to],
                    );
                }
                _ => {}
            },
            Due::Media { side, call, r } => {
                // An engine that was closed says nothing more.
                if self.media[side].get(&call).is_some_and(|m| !m.closed) {
                    self.eps[side].handle_media(&call, r, now, &self.dirs[side]);
                }
            }
        }
        self.drain(0);
        self.drain(1);
    }

    /// Carries out what `side`'s endpoint asked for.
    fn drain(&mut self, side: usize) {
        while let Some(ev) = self.eps[side].poll() {
            match ev {
                Event::Send(stanza) => self.send(side, stanza),
                Event::Media { call, command } => {
                    self.seen.push(Seen::About {
                        side,
                        call: call.clone(),
                    });
                    self.media_command(side, call, command);
                }
                Event::State { call, state, .. } => {
                    self.seen.push(Seen::About {
                        side,
                        call: call.clone(),
                    });
                    self.seen.push(Seen::State { side, call, state });
                }
                Event::Info { call, .. } | Event::Signal { call, .. } => {
                    self.seen.push(Seen::About { side, call })
                }
                Event::Ended(_) => {}
            }
        }
    }

    /// Through the network: the sender's address stamped as a server does, then
    /// dropped, duplicated or delayed.
    fn send(&mut self, side: usize, stanza: Stanza) {
        let (kind, sid, candidates) = jingle_facts(&stanza);
        self.seen.push(Seen::Sent {
            side,
            kind,
            sid,
            candidates,
        });
        let from = Some(Jid::from(self.jids[side].clone()));
        let stanza = match stanza {
            Stanza::Message(mut m) => {
                m.from = from;
                Stanza::Message(m)
            }
            Stanza::Iq(iq) => Stanza::Iq(match iq {
                Iq::Set {
                    to, id, payload, ..
                } => Iq::Set {
                    from,
                    to,
                    id,
                    payload,
                },
                Iq::Result {
                    to, id, payload, ..
                } => Iq::Result {
                    from,
                    to,
                    id,
                    payload,
                },
                Iq::Error {
                    to,
                    id,
                    error,
                    payload,
                    ..
                } => Iq::Error {
                    from,
                    to,
                    id,
                    error,
                    payload,
                },
                other => other,
            }),
            other => other,
        };
        let to = match &stanza {
            Stanza::Message(m) => m.to.clone(),
            Stanza::Iq(Iq::Set { to, .. } | Iq::Result { to, .. } | Iq::Error { to, .. }) => {
                to.clone()
            }
            _ => None,
        };
        let Some(to) = to.map(|j| j.to_bare()) else {
            return;
        };
        let Some(target) = (0..2).find(|s| self.jids[*s].to_bare() == to) else {
            return;
        };
        if self.rng.random_bool(self.net.drop) || self.down[side] {
            return;
        }
        let copies = if self.rng.random_bool(self.net.duplicate) {
            2
        } else {
            1
        };
        let stanza = Element::from(stanza);
        for _ in 0..copies {
            let max = self.net.max_delay.as_micros() as u64;
            let delay = Duration::from_micros(self.rng.random_range(0..=max));
            self.schedule(
                delay,
                Due::Deliver {
                    to: target,
                    stanza: stanza.clone(),
                },
            );
        }
    }

    fn media_command(&mut self, side: usize, call: String, command: MediaCommand) {
        let soon = Duration::from_millis(self.rng.random_range(1..50));
        let m = self.media[side].entry(call.clone()).or_default();
        if m.closed {
            return;
        }
        let mut results = Vec::new();
        match command {
            MediaCommand::CreateOffer { .. } => {
                m.local = true;
                results.push(MediaResult::Description(desc(side, Setup::ActPass)));
                results.push(MediaResult::Candidate(cand(side)));
            }
            MediaCommand::AcceptOffer { .. } => {
                m.local = true;
                m.remote = true;
                results.push(MediaResult::Description(desc(side, Setup::Active)));
                results.push(MediaResult::Candidate(cand(side)));
            }
            MediaCommand::AcceptAnswer(_) => m.remote = true,
            MediaCommand::RemoteCandidates(c) => m.remote_candidate |= !c.is_empty(),
            MediaCommand::AddVideo => results.push(MediaResult::Reoffer(
                session_tests::with_video(desc(side, Setup::ActPass)),
            )),
            MediaCommand::AcceptContentAdd { .. } => results.push(MediaResult::ContentAnswer(
                session_tests::with_video(desc(side, Setup::Active)),
            )),
            MediaCommand::RestartIce => {
                m.restarts += 1;
                let ours = creds(side, m.restarts);
                results.push(MediaResult::Restarted { ours, offer: true });
                results.push(MediaResult::Candidate(cand(side)));
            }
            MediaCommand::PeerRestarted { offer: true, .. } => {
                m.restarts += 1;
                let ours = creds(side, m.restarts);
                results.push(MediaResult::Restarted { ours, offer: false });
                results.push(MediaResult::Candidate(cand(side)));
            }
            MediaCommand::Close => {
                m.closed = true;
                // The peer's engine loses consent a while later.
                let other = 1 - side;
                if self.media[other].get(&call).is_some_and(|o| !o.closed) {
                    let r = MediaResult::Failed(Reason::ConnectivityError);
                    self.schedule(
                        Duration::from_secs(5),
                        Due::Media {
                            side: other,
                            call,
                            r,
                        },
                    );
                }
                return;
            }
            _ => {}
        }
        for r in results {
            self.schedule(
                soon,
                Due::Media {
                    side,
                    call: call.clone(),
                    r,
                },
            );
        }
        self.check_connected(&call);
    }

    /// ICE connects both engines once each has both descriptions and either knows a
    /// candidate of the other (the other learns a peer-reflexive one from its checks).
    fn check_connected(&mut self, call: &str) {
        let (Some(a), Some(b)) = (self.media[0].get(call), self.media[1].get(call)) else {
            return;
        };
        let ready = |m: &FakeMedia| m.local && m.remote && !m.closed;
        if !(ready(a) && ready(b) && (a.remote_candidate || b.remote_candidate)) {
            return;
        }
        for side in [0, 1] {
            let soon = Duration::from_millis(self.rng.random_range(1..50));
            if let Some(m) = self.media[side].get_mut(call).filter(|m| !m.connected) {
                m.connected = true;
                let (call, r) = (call.to_string(), MediaResult::Connected);
                self.schedule(soon, Due::Media { side, call, r });
            }
        }
    }

    /// How each side's calls ended: (side, call) → reason.
    pub fn outcomes(&self) -> BTreeMap<(usize, String), EndReason> {
        let mut out = BTreeMap::new();
        for s in &self.seen {
            if let Seen::State {
                side,
                call,
                state: CallState::Ended(r),
            } = s
            {
                out.insert((*side, call.clone()), *r);
            }
        }
        out
    }

    /// The calls each side ever saw active.
    pub fn talked(&self) -> BTreeSet<(usize, String)> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::State {
                    side,
                    call,
                    state: CallState::Active,
                } => Some((*side, call.clone())),
                _ => None,
            })
            .collect()
    }
}

/// A stanza as it arrives (every copy parsed anew).
fn to_stanza(el: Element) -> Option<Stanza> {
    if el.name() == "message" {
        xmpp_parsers::message::Message::try_from(el)
            .ok()
            .map(Stanza::Message)
    } else {
        Iq::try_from(el).ok().map(Stanza::Iq)
    }
}

/// What a stanza is, the Jingle sid or JMI id it names and how many ICE candidates
/// it carries.
fn jingle_facts(stanza: &Stanza) -> (String, Option<String>, usize) {
    match stanza {
        Stanza::Iq(Iq::Set { payload, .. }) => match Jingle::parse(payload) {
            Ok(j) => {
                let n = j
                    .contents
                    .iter()
                    .filter_map(|c| c.transport.as_ref())
                    .map(|t| t.candidates.len())
                    .sum();
                (j.action.as_str().to_string(), Some(j.sid), n)
            }
            Err(_) => ("bad-jingle".into(), None, 0),
        },
        Stanza::Iq(Iq::Result { .. }) => ("result".into(), None, 0),
        Stanza::Iq(Iq::Error { .. }) => ("error".into(), None, 0),
        Stanza::Message(m) => match crate::jingle::jmi::Jmi::from_message(m) {
            Some(j) => {
                let name = format!("{:?}", j);
                let name = name
                    .split([' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                (name, Some(j.id().to_string()), 0)
            }
            None => ("message".into(), None, 0),
        },
        _ => ("other".into(), None, 0),
    }
}

/// The session tests' audio offer, made this side's (ufrag, fingerprint, role).
fn desc(side: usize, setup: Setup) -> SessionDescription {
    let mut d = session_tests::desc();
    d.ice_ufrag = format!("uf{side}");
    d.fingerprint = Fingerprint {
        hash: "sha-256".into(),
        value: if side == ALICE { "AA:BB" } else { "CC:DD" }.into(),
    };
    d.setup = setup;
    d
}

/// This side's ICE credentials after `n` restarts.
fn creds(side: usize, n: u32) -> IceCredentials {
    IceCredentials {
        ufrag: format!("uf{side}r{n}"),
        pwd: format!("pwd{side}restart{n}xxxxxxxxxx"),
    }
}

fn cand(side: usize) -> Candidate {
    session_tests::cand(40000 + side as u16)
}
