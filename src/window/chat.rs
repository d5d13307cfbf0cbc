//! The chat features on screen: corrections, replies, reactions, retractions and read
//! markers, from the client's events into the timeline and from the timeline's menus
//! into client commands.

use super::*;
use banter::client::StoredMessage;
use banter_ui::model::{FileLink, MessageExtras, ReactionChip, ReplyPreview};

impl App {
    /// A chat command from the timeline (`None`: it was none of these).
    pub(super) fn chat_command(&mut self, c: UiCommand) -> Option<UiCommand> {
        let (to, cmd) = match c {
            UiCommand::Correct { to, id, body } => (to, ChatCmd::Correct(id, body)),
            UiCommand::Reply { to, id, body } => (to, ChatCmd::Reply(id, body)),
            UiCommand::React { to, id, reactions } => (to, ChatCmd::React(id, reactions)),
            UiCommand::Retract { to, id } => (to, ChatCmd::Retract(id)),
            UiCommand::MarkRead { jid } => (jid, ChatCmd::MarkRead),
            UiCommand::Block { jid, blocked } => (jid, ChatCmd::Block(blocked)),
            other => return Some(other),
        };
        let Ok(to) = BareJid::new(&to) else {
            return None;
        };
        let id = client::new_id();
        self.send(match cmd {
            ChatCmd::Correct(of, body) => Command::CorrectMessage { id, to, of, body },
            ChatCmd::Reply(of, body) => Command::Reply { id, to, of, body },
            ChatCmd::React(of, reactions) => Command::React {
                id,
                to,
                of,
                reactions,
            },
            ChatCmd::Retract(of) => Command::Retract { id, to, of },
            ChatCmd::MarkRead => Command::MarkRead { peer: to },
            ChatCmd::Block(blocked) => Command::Block { jid: to, blocked },
        });
        None
    }

    /// A history entry's extras; a reply's quote is found in `page` or on screen.
    pub(super) fn extras_of(&self, m: &StoredMessage, page: &[StoredMessage]) -> MessageExtras {
        let own = self.model.account.clone().unwrap_or_default();
        let reply = m.meta.reply_to.as_ref().map(|r| {
            let text = page
                .iter()
                .find(|o| o.id == r.id)
                .map(|o| (o.body.clone(), o.meta.retracted))
                .or_else(|| self.shown_body(&m.peer, &r.id))
                .map(|(body, retracted)| {
                    if retracted {
                        banter_ui::t!("chat-reply-retracted")
                    } else {
                        banter_ui::view::preview(&body)
                    }
                })
                .unwrap_or_else(|| banter_ui::t!("chat-reply-earlier"));
            ReplyPreview {
                id: r.id.clone(),
                text,
            }
        });
        MessageExtras {
            file: m.meta.file.as_ref().map(|f| Box::new(file_link(f))),
            edited: m.meta.edited,
            retracted: m.meta.retracted,
            reply,
            reactions: m
                .meta
                .reactions
                .iter()
                .map(|r| ReactionChip {
                    emoji: r.emoji.clone(),
                    from: r.from.clone(),
                    mine: r.from.contains(&own),
                })
                .collect(),
        }
    }

    /// A message on screen: its body and whether it was retracted.
    fn shown_body(&self, peer: &str, id: &str) -> Option<(String, bool)> {
        self.model
            .conversations
            .get(peer)?
            .items
            .iter()
            .find_map(|i| match i {
                TimelineItem::Message {
                    id: mid,
                    body,
                    extra,
                    ..
                } if mid == id => Some((body.clone(), extra.retracted)),
                _ => None,
            })
    }

    fn with_message(
        &mut self,
        peer: &str,
        id: &str,
        f: impl FnOnce(&mut String, &mut MessageExtras),
    ) {
        let Some(conv) = self.model.conversations.get_mut(peer) else {
            return;
        };
        for item in &mut conv.items {
            if let TimelineItem::Message {
                id: mid,
                body,
                extra,
                ..
            } = item
            {
                if mid == id {
                    f(body, extra);
                    return;
                }
            }
        }
    }

    pub(super) fn on_corrected(&mut self, m: StoredMessage) {
        self.with_message(&m.peer, &m.id, |body, extra| {
            *body = m.body;
            extra.edited = true;
        });
    }

    pub(super) fn on_retracted(&mut self, peer: &str, id: &str) {
        self.with_message(peer, id, |body, extra| {
            body.clear();
            extra.retracted = true;
            extra.reactions.clear();
        });
    }

    /// `from`'s reactions to `id` are now `set`.
    pub(super) fn on_reactions(&mut self, peer: &str, id: &str, from: &str, set: Vec<String>) {
        let mine = self.model.account.as_deref() == Some(from);
        self.with_message(peer, id, |_, extra| {
            // The sender's new set replaces the one before.
            for c in &mut extra.reactions {
                c.from.retain(|f| f != from);
                c.mine &= !mine;
            }
            for e in &set {
                match extra.reactions.iter_mut().find(|c| c.emoji == *e) {
                    Some(c) => {
                        c.from.push(from.to_string());
                        c.mine |= mine;
                    }
                    None => extra.reactions.push(ReactionChip {
                        emoji: e.clone(),
                        from: vec![from.to_string()],
                        mine,
                    }),
                }
            }
            extra.reactions.retain(|c| !c.from.is_empty());
        });
    }

    /// `peer` read our messages up to `id`.
    pub(super) fn on_displayed(&mut self, peer: &str, id: &str) {
        let Some(conv) = self.model.conversations.get_mut(peer) else {
            return;
        };
        let Some(at) = conv.items.iter().position(
            |i| matches!(i, TimelineItem::Message { id: mid, outgoing: true, .. } if mid == id),
        ) else {
            return;
        };
        for item in conv.items.iter_mut().take(at + 1) {
            if let TimelineItem::Message {
                outgoing: true,
                delivery,
                ..
            } = item
            {
                if matches!(delivery, Delivery::Sent | Delivery::Delivered) {
                    *delivery = Delivery::Read;
                }
            }
        }
    }
}

impl App {
    /// A contact's picture (ours too) on screen: `None`, they have none now; else
    /// decoded off the UI thread (bounded, at most 256 px a side: it is shown small).
    pub(super) fn on_avatar(&mut self, jid: &str, path: Option<&std::path::Path>) {
        let Some(path) = path.map(|p| p.to_path_buf()) else {
            return self.avatar_texture(jid, None);
        };
        let account = self.model.account.clone().unwrap_or_default();
        let jid = jid.to_string();
        let tx = self.events_tx.clone();
        let ctx = self.ctx.clone();
        self.runtime.spawn_blocking(move || {
            let picture = client::picture_preview(&path, 256);
            let _ = tx.send(AppEvent::Avatar {
                account,
                jid,
                picture,
            });
            if let Some(ctx) = ctx {
                ctx.request_repaint();
            }
        });
    }

    /// A decoded picture (or why it could not be) as `jid`'s face.
    pub(super) fn on_avatar_decoded(
        &mut self,
        jid: &str,
        picture: Result<client::Preview, String>,
    ) {
        let texture = self.picture_texture(format!("avatar {jid}"), picture);
        self.avatar_texture(jid, texture);
    }

    fn avatar_texture(&mut self, jid: &str, texture: Option<banter_ui::model::VideoTexture>) {
        if self.model.account.as_deref() == Some(jid) {
            self.model.own_avatar = texture.clone();
        }
        if let Some(c) = self.model.contacts.iter_mut().find(|c| c.jid == jid) {
            c.avatar = texture;
        }
    }
}

enum ChatCmd {
    Correct(String, String),
    Reply(String, String),
    React(String, Vec<String>),
    Retract(String),
    MarkRead,
    Block(bool),
}

/// A message's file as the window shows it (not fetched yet).
pub(super) fn file_link(f: &banter::client::FileRef) -> FileLink {
    FileLink {
        name: f.name.clone(),
        url: f.url.clone(),
        mime: f.mime.clone(),
        size: f.size,
        sha256: f.sha256.clone(),
        ..Default::default()
    }
}
