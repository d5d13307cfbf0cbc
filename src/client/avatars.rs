//! Avatars (XEP-0084) in the account: a contact's picture fetched when its metadata
//! says it changed, kept on disk by its SHA-1 (fetched once, whoever uses it), and
//! the contact's current one remembered; ours published from a picture the front end
//! prepared (`avatar_png`: cropped and scaled, never decoded on the account task).

use super::*;
use crate::xmpp::{avatar, vcard};

/// Store key: a contact's current picture (its SHA-1).
fn meta_key(jid: &BareJid) -> String {
    format!("avatar:{jid}")
}

/// Store key: where a contact's picture comes from ("pep" wins over "vcard").
fn source_key(jid: &BareJid) -> String {
    format!("avatar-src:{jid}")
}

/// A picture file made ready to publish: cropped to a square around its centre,
/// scaled to at most 192 px and encoded as PNG; (PNG, width, height). For the front
/// ends, off the account task (decoding a camera's JPEG takes a while).
pub fn avatar_png(path: &std::path::Path) -> Result<(Vec<u8>, u32, u32), String> {
    let img = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(512 * 1024 * 1024);
    let mut img = img;
    img.limits(limits);
    let img = img
        .decode()
        .map_err(|e| format!("{} is not a picture Banter can read: {e}", path.display()))?;
    let side = img.width().min(img.height());
    let square = img.crop_imm(
        (img.width() - side) / 2,
        (img.height() - side) / 2,
        side,
        side,
    );
    let size = side.min(192);
    let small = square.resize_exact(size, size, image::imageops::FilterType::Lanczos3);
    let mut png = Vec::new();
    small
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok((png, size, size))
}

/// The id a picture is published and kept under (its SHA-1).
pub fn avatar_hash(png: &[u8]) -> String {
    avatar::sha1_hex(png)
}

impl State {
    fn avatar_dir(&self) -> PathBuf {
        self.config.data_dir.join("avatars")
    }

    /// A contact's metadata notification. Whether it was one.
    pub(super) fn on_avatar_event(&mut self, m: &Message, out: &mut Vec<Stanza>) -> bool {
        let Some((owner, info)) = avatar::metadata_event(m) else {
            return false;
        };
        // A contact who publishes over PEP is read there from now on, not from vCards.
        self.set_avatar_source(&owner, "pep");
        let Some(info) = info else {
            if let Err(e) = self
                .store
                .set_meta(self.own.as_str(), &meta_key(&owner), "")
            {
                self.store_err(e);
            }
            self.emit(Event::Avatar {
                jid: owner.to_string(),
                path: None,
            });
            return true;
        };
        let file = self.avatar_dir().join(&info.id);
        if file.exists() {
            self.avatar_known(&owner, &info.id);
        } else if info.bytes <= avatar::MAX_BYTES {
            let item = info.id.clone();
            self.iq(
                IqPurpose::AvatarData {
                    jid: owner.clone(),
                    id: info.id,
                },
                |id| avatar::fetch(id, &owner, &item),
                out,
            );
        }
        true
    }

    /// The data of `jid`'s picture `id` came (or `None`: it did not).
    pub(super) fn on_avatar_data(&mut self, jid: BareJid, id: String, answer: Option<&Element>) {
        let Some(bytes) = answer.and_then(|a| avatar::read_data(a, &id)) else {
            tracing::info!(%jid, %id, "an avatar that could not be fetched or was not what it said");
            return;
        };
        if self.keep_avatar(&jid, &id, &bytes) {
            self.avatar_known(&jid, &id);
        }
    }

    fn set_avatar_source(&self, jid: &BareJid, source: &str) {
        if let Err(e) = self
            .store
            .set_meta(self.own.as_str(), &source_key(jid), source)
        {
            self.store_err(e);
        }
    }

    /// XEP-0153: a contact's presence names their vCard picture. Followed unless they
    /// publish over PEP (XEP-0084), which is fresher where both are.
    pub(super) fn on_vcard_photo(&mut self, p: &Presence, out: &mut Vec<Stanza>) {
        let Some(owner) = p.from.as_ref().map(|f| f.to_bare()) else {
            return;
        };
        if owner == self.own {
            return;
        }
        let Some(photo) = vcard::photo_of(p) else {
            return;
        };
        let own = self.own.to_string();
        let source = self
            .store
            .get_meta(&own, &source_key(&owner))
            .ok()
            .flatten();
        if source.as_deref() == Some("pep") {
            return;
        }
        let current = self
            .store
            .get_meta(&own, &meta_key(&owner))
            .ok()
            .flatten()
            .unwrap_or_default();
        let Some(hash) = photo else {
            // "No picture" clears one that came from the vCard only.
            if !current.is_empty() && source.as_deref() == Some("vcard") {
                if let Err(e) = self.store.set_meta(&own, &meta_key(&owner), "") {
                    self.store_err(e);
                }
                self.emit(Event::Avatar {
                    jid: owner.to_string(),
                    path: None,
                });
            }
            return;
        };
        if hash == current {
            return;
        }
        // A contact's (in the roster), not any presence's: a stranger's costs nothing.
        let contact = self
            .store
            .roster(&own)
            .is_ok_and(|r| r.iter().any(|c| c.jid == owner.as_str()));
        if !contact {
            return;
        }
        if self.avatar_dir().join(&hash).exists() {
            self.set_avatar_source(&owner, "vcard");
            return self.avatar_known(&owner, &hash);
        }
        let asked = self
            .pending_iqs
            .values()
            .any(|(p, _)| matches!(p, IqPurpose::VcardPhoto { id, .. } if *id == hash));
        if !asked {
            let jid = owner.clone();
            self.iq(
                IqPurpose::VcardPhoto {
                    jid: owner,
                    id: hash,
                },
                |id| vcard::fetch(id, &jid),
                out,
            );
        }
    }

    /// A contact's vCard came (or `None`: it did not) for picture `id`.
    pub(super) fn on_vcard(&mut self, jid: BareJid, id: String, answer: Option<&Element>) {
        let Some(bytes) = answer.and_then(|a| vcard::read_photo(a, &id)) else {
            tracing::info!(%jid, %id, "a vCard picture that could not be fetched or was not what it said");
            return;
        };
        if self.keep_avatar(&jid, &id, &bytes) {
            self.set_avatar_source(&jid, "vcard");
            self.avatar_known(&jid, &id);
        }
    }

    /// Keeps a picture on disk under its SHA-1; false (said) when it cannot.
    fn keep_avatar(&self, jid: &BareJid, id: &str, bytes: &[u8]) -> bool {
        let dir = self.avatar_dir();
        let written =
            std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(dir.join(id), bytes));
        if let Err(e) = written {
            self.emit(Event::Error {
                message: format!("could not keep {jid}'s picture in {}: {e}", dir.display()),
            });
            return false;
        }
        true
    }

    fn avatar_known(&mut self, jid: &BareJid, id: &str) {
        if let Err(e) = self.store.set_meta(self.own.as_str(), &meta_key(jid), id) {
            self.store_err(e);
        }
        self.emit(Event::Avatar {
            jid: jid.to_string(),
            path: Some(self.avatar_dir().join(id)),
        });
    }

    /// Publishes our picture: the data, then (when the server took it) the metadata.
    pub(super) fn set_avatar(
        &mut self,
        png: Vec<u8>,
        width: u32,
        height: u32,
        out: &mut Vec<Stanza>,
    ) {
        let data = png.clone();
        self.iq(
            IqPurpose::AvatarPublished { png, width, height },
            |id| avatar::publish_data(id, &data),
            out,
        );
    }

    /// Our picture's data was published: now the metadata that points at it.
    pub(super) fn avatar_data_published(
        &mut self,
        png: Vec<u8>,
        width: u32,
        height: u32,
        out: &mut Vec<Stanza>,
    ) {
        let sha = avatar::sha1_hex(&png);
        let dir = self.avatar_dir();
        let _ = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(dir.join(&sha), &png));
        self.iq(
            IqPurpose::AvatarMetadata { id: sha },
            |id| avatar::publish_metadata(id, Some((&png, width, height))),
            out,
        );
    }

    /// Our picture is published: contacts are told.
    pub(super) fn avatar_published(&mut self, id: &str) {
        let own = self.own.clone();
        self.avatar_known(&own, id);
    }

    /// The pictures of these contacts (and ours) known from earlier runs, for the
    /// front end once it has the roster.
    pub(super) fn avatars_from_store(&self, contacts: Vec<BareJid>) {
        let jids = contacts
            .into_iter()
            .chain(std::iter::once(self.own.clone()));
        for jid in jids {
            let id = self
                .store
                .get_meta(self.own.as_str(), &meta_key(&jid))
                .ok()
                .flatten();
            if let Some(id) = id.filter(|i| !i.is_empty()) {
                let path = self.avatar_dir().join(&id);
                if path.exists() {
                    self.emit(Event::Avatar {
                        jid: jid.to_string(),
                        path: Some(path),
                    });
                }
            }
        }
    }
}
