//! The call machine's video: the camera on and off, video added or refused, one-way
//! video joined, and the video's own transport for a peer that does not bundle.

use super::*;

impl Call {
    /// The peer did not take the video we offered: the call goes on as it was, and
    /// the video may be offered again (under the same name).
    pub(super) fn video_refused(&mut self, out: &mut Vec<Output>) {
        let adding = std::mem::take(&mut self.adding);
        self.local_names.retain(|n| !adding.contains(n));
        self.video_on = false;
        out.push(Output::VideoRefused);
    }

    /// Remembers which content has a transport of its own (our video, for a peer that
    /// does not bundle), so that its candidates are signaled under its name.
    pub(super) fn note_video_transport(&mut self, desc: &SessionDescription, creator: &str) {
        if let Some(c) = desc.contents.iter().find(|c| c.transport.is_some()) {
            self.video_transport = Some((creator.to_string(), c.name.clone()));
        }
    }

    /// Sends the video transport's candidates once its content is signaled (and never
    /// before the user accepted: the same rule as the main transport's).
    pub(super) fn flush_video_candidates(&mut self, out: &mut Vec<Output>) {
        if !self.can_send_candidates || self.video_transport.is_none() {
            return;
        }
        let signaled = self
            .video_transport
            .as_ref()
            .is_some_and(|(_, name)| self.local_names.contains(name));
        if signaled && !self.local_video_candidates.is_empty() {
            let pending = std::mem::take(&mut self.local_video_candidates);
            self.send_video_candidates(pending, out);
        }
    }

    /// Whether `name` is the call's video content (a mute naming it is the camera).
    pub fn is_video_content(&self, name: &str) -> bool {
        self.remote_desc.as_ref().is_some_and(|d| {
            d.contents
                .iter()
                .any(|c| c.name == name && c.kind == MediaKind::Video)
        })
    }

    pub(super) fn we_initiated(&self) -> bool {
        self.direction == CallDirection::Out
    }

    /// Our role's name, for the contents we create.
    pub(super) fn role(&self) -> &'static str {
        match self.direction {
            CallDirection::Out => "initiator",
            CallDirection::In => "responder",
        }
    }

    pub(super) fn camera(&mut self, on: bool, out: &mut Vec<Output>) {
        if self.state != CallState::Active {
            // Applies when the media starts.
            self.video_on = on;
            return;
        }
        let video_content = self
            .remote_desc
            .as_ref()
            .and_then(|d| d.contents.iter().find(|c| c.kind == MediaKind::Video))
            .map(|c| c.name.clone());
        match video_content {
            Some(name) => {
                self.video_on = on;
                if on {
                    self.join_one_way_video(&name, out);
                }
                out.push(Output::SetCamera(on));
                let info = if on {
                    Info::Unmute(Some(name))
                } else {
                    Info::Mute(Some(name))
                };
                out.extend(self.session_info(info));
            }
            None if on && self.adding.is_empty() && self.peer_adding.is_none() => {
                self.video_on = true;
                out.push(Output::AddVideo);
            }
            // Off before the peer accepted the video we offered: take the offer back
            // with content-remove (XEP-0166 §7.2.15), as Conversations does.
            None if !on && !self.adding.is_empty() => {
                self.video_on = false;
                let names = std::mem::take(&mut self.adding);
                self.local_names.retain(|n| !names.contains(n));
                out.push(Output::VideoWithdrawn);
                if let Some(to) = self.peer_full.clone() {
                    let mut j = Jingle::new(Action::ContentRemove, &self.id);
                    j.contents = names
                        .iter()
                        .map(|n| Content::named(&self.video_creator, n, "both"))
                        .collect();
                    out.push(Output::Jingle { to, jingle: j });
                }
            }
            // Off while the offer is still being made: `LocalReoffer` drops it.
            None => self.video_on = on && self.video_on,
        }
    }

    /// Our camera turned on in a video the peer sends one way (Dino's camera-on is a
    /// content-add with senders = its own role): content-modify to `both`, and the
    /// video renegotiated locally so that ours goes out too.
    pub(super) fn join_one_way_video(&mut self, name: &str, out: &mut Vec<Output>) {
        let role = self.role();
        let Some(video) = self
            .remote_desc
            .as_mut()
            .and_then(|d| d.contents.iter_mut().find(|c| c.name == name))
        else {
            return;
        };
        // The peer sends only: both now. Nobody sends: we do.
        let (peer_dir, senders) = match video.direction {
            Direction::SendOnly => (Direction::SendRecv, "both"),
            Direction::Inactive => (Direction::RecvOnly, role),
            _ => return,
        };
        video.direction = peer_dir;
        out.push(Output::SetVideoDirection(peer_dir));
        let Some(to) = self.peer_full.clone() else {
            return;
        };
        let mut j = Jingle::new(Action::ContentModify, &self.id);
        j.contents
            .push(Content::named(&self.video_creator, name, senders));
        out.push(Output::Jingle { to, jingle: j });
    }

    /// The peer changes who sends the video (content-modify).
    pub(super) fn on_content_modify(&mut self, j: Jingle, out: &mut Vec<Output>) {
        let peer_is_initiator = !self.we_initiated();
        for c in &j.contents {
            if !self.is_video_content(&c.name) {
                continue;
            }
            let dir = mapping::senders_to_direction(&c.senders, peer_is_initiator);
            if let Some(v) = self
                .remote_desc
                .as_mut()
                .and_then(|d| d.contents.iter_mut().find(|x| x.name == c.name))
            {
                if v.direction != dir {
                    v.direction = dir;
                    out.push(Output::SetVideoDirection(dir));
                }
            }
        }
    }

    /// The peer adds a content. Accepted when it is video added to a call without
    /// video (what Conversations and Dino do when the camera is turned on); anything
    /// else is refused and the call goes on.
    pub(super) fn on_content_add(&mut self, j: Jingle, out: &mut Vec<Output>) {
        let all_video = !j.contents.is_empty()
            && j.contents.iter().all(|c| {
                c.description
                    .as_ref()
                    .is_some_and(|d| d.media == MediaKind::Video)
            });
        let acceptable = self.state == CallState::Active
            && all_video
            && !self.media.contains(&MediaKind::Video)
            && self.adding.is_empty()
            && self.peer_adding.is_none();
        let merged = match (&self.remote_desc, acceptable) {
            (Some(base), true) => mapping::with_added(base, &j, !self.we_initiated()).ok(),
            _ => None,
        };
        if let Some(offer) = merged {
            let creator = j
                .contents
                .first()
                .map(|c| c.creator.clone())
                .unwrap_or_else(|| "initiator".into());
            let names = j.contents.iter().map(|c| c.name.clone()).collect();
            self.peer_adding = Some((creator, names));
            self.remote_desc = Some(offer.clone());
            out.push(Output::AcceptContentAdd {
                offer,
                send_video: self.video_on,
            });
            return;
        }
        let contents = j
            .contents
            .iter()
            .map(|c| Content::named(&c.creator, &c.name, &c.senders))
            .collect();
        self.content_reject(contents, out);
    }

    /// Refuses the peer's content-add (these contents) and the call goes on.
    pub(super) fn content_reject(&self, contents: Vec<Content>, out: &mut Vec<Output>) {
        let Some(to) = self.peer_full.clone() else {
            return;
        };
        let mut reject = Jingle::new(Action::ContentReject, &self.id);
        reject.contents = contents;
        reject.reason = Some(Reason::FailedApplication);
        out.push(Output::Jingle { to, jingle: reject });
    }
}
