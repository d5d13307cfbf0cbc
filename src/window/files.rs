//! Files on screen: sending (the desktop's picker, files dropped on the window, a
//! pasted picture), the progress of ours on their way, fetching a peer's (into the
//! downloads folder, or for a picture's preview into Banter's data), and pictures
//! decoded off the UI thread into textures. A contact's pictures are previewed by
//! themselves; a stranger's are fetched only on a click.

use super::*;
use banter::client::{TransferKind, TransferState};
use banter_ui::model::{FileLink, FileState, Upload};

/// Pictures from contacts are fetched for their preview up to this size.
const AUTO_PREVIEW_MAX: u64 = 10 * 1024 * 1024;
/// The side of a preview's texture.
const PREVIEW_SIDE: u32 = 640;
/// A download's transfer id is its message's with this prefix.
const DOWNLOAD: &str = "dl:";

impl App {
    /// A file command from the window (`None`: it was none of these).
    pub(super) fn file_command(&mut self, c: UiCommand) -> Option<UiCommand> {
        match c {
            UiCommand::AttachFile { to } => self.pick_files(to),
            UiCommand::ChooseAvatar => self.choose_avatar(),
            UiCommand::SendFiles { to, paths } => {
                for path in paths {
                    self.send_file(&to, path);
                }
            }
            UiCommand::SendPicture {
                to,
                width,
                height,
                rgba,
            } => self.send_pasted(to, width, height, rgba),
            UiCommand::FetchFile {
                peer,
                id,
                url,
                preview,
            } => self.fetch_file(&peer, &id, url, preview, None),
            UiCommand::CancelTransfer { id } => {
                self.send(Command::CancelTransfer { id });
            }
            UiCommand::DismissUpload { peer, id } => {
                if self.model.room(&peer).is_some() {
                    self.model.room_mut(&peer).uploads.retain(|u| u.id != id);
                } else if let Some(conv) = self.model.conversations.get_mut(&peer) {
                    conv.uploads.retain(|u| u.id != id);
                }
            }
            UiCommand::OpenFile { path } => {
                if let Err(e) = std::process::Command::new("xdg-open").arg(&path).spawn() {
                    self.model.notice = Some(banter_ui::t!(
                        "chat-cannot-open",
                        path = path.display().to_string(),
                        error = e.to_string()
                    ));
                }
            }
            other => return Some(other),
        }
        None
    }

    fn send_file(&mut self, to: &str, path: PathBuf) {
        let Ok(jid) = BareJid::new(to) else { return };
        self.send(Command::SendFile {
            id: client::new_id(),
            to: jid,
            path,
        });
    }

    /// The desktop's file picker (XDG portal), on the runtime: what is picked is sent.
    fn pick_files(&mut self, to: String) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let Ok(jid) = BareJid::new(&to) else { return };
        let ctx = self.ctx.clone();
        let title = banter_ui::t!("chat-send-files-title", jid = &to);
        self.runtime.spawn(async move {
            let picked = rfd::AsyncFileDialog::new()
                .set_title(title)
                .pick_files()
                .await;
            match picked {
                Some(files) => {
                    for f in files {
                        let _ = client.send(Command::SendFile {
                            id: client::new_id(),
                            to: jid.clone(),
                            path: f.path().to_path_buf(),
                        });
                    }
                }
                None => tracing::info!("no file picked (or no file picker on this desktop)"),
            }
            if let Some(ctx) = ctx {
                ctx.request_repaint();
            }
        });
    }

    /// Our picture from a file the user picks: cropped, scaled and published (the
    /// decoding off the UI thread).
    fn choose_avatar(&mut self) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let notices = self.events_tx.clone();
        let ctx = self.ctx.clone();
        let (title, pictures) = (
            banter_ui::t!("chat-choose-picture"),
            banter_ui::t!("chat-pictures-filter"),
        );
        self.runtime.spawn(async move {
            let Some(file) = rfd::AsyncFileDialog::new()
                .set_title(title)
                .add_filter(pictures, &["png", "jpg", "jpeg", "gif"])
                .pick_file()
                .await
            else {
                return;
            };
            let path = file.path().to_path_buf();
            let made = tokio::task::spawn_blocking(move || client::avatar_png(&path)).await;
            match made {
                Ok(Ok((png, width, height))) => {
                    let _ = client.send(Command::SetAvatar { png, width, height });
                }
                Ok(Err(e)) => {
                    let _ = notices.send(AppEvent::Notice(e));
                }
                Err(e) => {
                    let _ = notices.send(AppEvent::Notice(e.to_string()));
                }
            }
            if let Some(ctx) = ctx {
                ctx.request_repaint();
            }
        });
    }

    /// A pasted picture: made a PNG in Banter's outbox (off the UI thread), then sent.
    fn send_pasted(&mut self, to: String, width: usize, height: usize, rgba: Vec<u8>) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let Ok(jid) = BareJid::new(&to) else { return };
        let dir = self.data_dir.join("outbox");
        let notices = self.events_tx.clone();
        let not_whole = banter_ui::t!("chat-pasted-not-whole");
        self.runtime.spawn_blocking(move || {
            let name = format!("picture-{}.png", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
            let path = dir.join(name);
            let written = std::fs::create_dir_all(&dir)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    let img = image::RgbaImage::from_raw(width as u32, height as u32, rgba)
                        .ok_or(not_whole)?;
                    img.save_with_format(&path, image::ImageFormat::Png)
                        .map_err(|e| e.to_string())
                });
            match written {
                Ok(()) => {
                    let _ = client.send(Command::SendFile {
                        id: client::new_id(),
                        to: jid,
                        path,
                    });
                }
                Err(e) => {
                    let _ = notices.send(AppEvent::Notice(banter_ui::t!(
                        "chat-send-picture-failed",
                        error = e
                    )));
                }
            }
        });
    }

    /// Where a picture's preview is kept: one folder per URL in Banter's data.
    fn preview_dir(&self, url: &str) -> PathBuf {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(url.as_bytes());
        let name: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        self.data_dir.join("files").join(name)
    }

    fn fetch_file(&mut self, peer: &str, id: &str, url: String, preview: bool, max: Option<u64>) {
        let dir = if preview {
            self.preview_dir(&url)
        } else {
            directories::UserDirs::new()
                .and_then(|u| u.download_dir().map(|d| d.to_path_buf()))
                .unwrap_or_else(|| self.data_dir.join("downloads"))
        };
        let (mut sha256, mut name) = (None, None);
        self.with_file(peer, id, |f| {
            sha256 = f.sha256.clone();
            name = Some(f.name.clone());
            f.state = FileState::Fetching {
                done: 0,
                total: f.size,
            }
        });
        self.send(Command::Download {
            id: format!("{DOWNLOAD}{id}"),
            peer: peer.to_string(),
            url,
            dir,
            max_size: max,
            sha256,
            name,
        });
    }

    /// The file of message `id` with `peer`: a contact's conversation, or a room's
    /// line (`id`: the room's id for it).
    fn with_file(&mut self, peer: &str, id: &str, f: impl FnOnce(&mut FileLink)) {
        if self.model.room(peer).is_some() {
            let line = self.model.room_mut(peer).line_mut(id);
            if let Some(file) = line.and_then(|l| l.extra.file.as_deref_mut()) {
                f(file);
            }
            return;
        }
        let Some(conv) = self.model.conversations.get_mut(peer) else {
            return;
        };
        let file = conv.items.iter_mut().find_map(|i| match i {
            TimelineItem::Message { id: mid, extra, .. } if mid == id => extra.file.as_deref_mut(),
            _ => None,
        });
        if let Some(file) = file {
            f(file);
        }
    }

    fn file_of(&mut self, peer: &str, id: &str) -> Option<FileLink> {
        let mut found = None;
        self.with_file(peer, id, |f| found = Some(f.clone()));
        found
    }

    /// A room line with a file is on screen: as `file_shown`, but only our own
    /// pictures are fetched by themselves (occupants are strangers, mostly).
    pub(super) fn room_file_shown(&mut self, room: &str, reference: &str) {
        let own = self.model.room(room).is_some_and(|r| {
            r.lines
                .iter()
                .rev()
                .find(|l| l.reference() == reference)
                .is_some_and(|l| r.sent_files.contains(&l.id))
        });
        self.file_shown(room, reference, own);
    }

    /// A message with a file is on screen: a picture already fetched is shown, one
    /// from a contact (or ours) is fetched to be; anything else waits for a click.
    pub(super) fn file_shown(&mut self, peer: &str, id: &str, outgoing: bool) {
        let Some(file) = self.file_of(peer, id) else {
            return;
        };
        let contact = self
            .model
            .contacts
            .iter()
            .any(|c| c.jid == peer && c.in_roster);
        // A contact's file without a size (Conversations sends none): its server is
        // asked (HEAD), as a download would; a stranger's waits for a click.
        let probe = file.size.is_none() && file.state == FileState::Remote && !file.is_picture();
        if probe && (outgoing || contact) {
            self.send(Command::FileInfo {
                peer: peer.to_string(),
                id: id.to_string(),
                url: file.url.clone(),
            });
        }
        if !file.is_picture() || file.state != FileState::Remote {
            return;
        }
        let dir = self.preview_dir(&file.url);
        let kept = std::fs::read_dir(&dir)
            .ok()
            .and_then(|d| d.flatten().map(|e| e.path()).find(|p| !hidden(p)));
        if let Some(path) = kept {
            self.with_file(peer, id, |f| f.state = FileState::Saved(path.clone()));
            return self.decode_preview(peer, id, path);
        }
        let small = file.size.is_none_or(|s| s <= AUTO_PREVIEW_MAX);
        if (outgoing || contact) && small {
            self.fetch_file(peer, id, file.url, true, Some(AUTO_PREVIEW_MAX));
        }
    }

    /// Decodes a picture on the runtime's blocking pool; it comes back as an AppEvent.
    fn decode_preview(&mut self, peer: &str, id: &str, path: PathBuf) {
        let account = self.model.account.clone().unwrap_or_default();
        let (peer, id) = (peer.to_string(), id.to_string());
        let tx = self.events_tx.clone();
        let ctx = self.ctx.clone();
        self.runtime.spawn_blocking(move || {
            let picture = client::picture_preview(&path, PREVIEW_SIDE);
            let _ = tx.send(AppEvent::Picture {
                account,
                peer,
                id,
                picture,
            });
            if let Some(ctx) = ctx {
                ctx.request_repaint();
            }
        });
    }

    /// A decoded picture (or why it could not be) as a texture named `name`.
    pub(super) fn picture_texture(
        &self,
        name: String,
        picture: Result<client::Preview, String>,
    ) -> Option<VideoTexture> {
        match picture {
            Ok(p) => self.ctx.as_ref().map(|ctx| {
                let image = egui::ColorImage::from_rgba_unmultiplied(
                    [p.width as usize, p.height as usize],
                    &p.rgba,
                );
                VideoTexture(ctx.load_texture(name, image, egui::TextureOptions::LINEAR))
            }),
            Err(e) => {
                tracing::info!(%name, error = %e, "a picture that cannot be shown");
                None
            }
        }
    }

    /// A decoded picture (or why it could not be): a texture on its message.
    pub(super) fn on_picture(
        &mut self,
        peer: &str,
        id: &str,
        picture: Result<client::Preview, String>,
    ) {
        let texture = self.picture_texture(format!("picture {peer} {id}"), picture);
        self.with_file(peer, id, |f| f.picture = texture);
    }

    /// What a file's server said of it: the card shows its size (and type).
    pub(super) fn on_file_info(
        &mut self,
        peer: &str,
        id: &str,
        size: Option<u64>,
        mime: Option<String>,
    ) {
        self.with_file(peer, id, |f| {
            f.size = f.size.or(size);
            if f.mime.is_none() {
                f.mime = mime;
            }
        });
    }

    /// A transfer's progress or end, on its message (download) or its row (upload).
    pub(super) fn on_transfer(
        &mut self,
        id: String,
        kind: TransferKind,
        peer: String,
        name: String,
        state: TransferState,
    ) {
        match kind {
            TransferKind::Download => {
                let Some(mid) = id.strip_prefix(DOWNLOAD) else {
                    return;
                };
                let mut saved = None;
                self.with_file(&peer, mid, |f| match state {
                    TransferState::Waiting => {}
                    TransferState::Progress { done, total } => {
                        f.state = FileState::Fetching {
                            done,
                            total: total.or(f.size),
                        }
                    }
                    TransferState::Done { size, path, .. } => {
                        f.size = Some(size);
                        if let Some(p) = path {
                            if f.is_picture() {
                                saved = Some(p.clone());
                            }
                            f.state = FileState::Saved(p);
                        }
                    }
                    TransferState::Failed { reason } => f.state = FileState::Failed(reason),
                    TransferState::Cancelled => f.state = FileState::Remote,
                });
                if let Some(path) = saved {
                    self.decode_preview(&peer, mid, path);
                }
            }
            TransferKind::Upload => {
                if matches!(state, TransferState::Waiting) && self.model.room(&peer).is_some() {
                    let sent = &mut self.model.room_mut(&peer).sent_files;
                    if sent.len() >= 100 {
                        sent.remove(0);
                    }
                    sent.push(id.clone());
                }
                let uploads = match self.model.room(&peer).is_some() {
                    true => &mut self.model.room_mut(&peer).uploads,
                    false => &mut self.model.conversations.entry(peer).or_default().uploads,
                };
                let row = match uploads.iter().position(|u| u.id == id) {
                    Some(i) => uploads.get_mut(i),
                    None if matches!(state, TransferState::Waiting) => {
                        uploads.push(Upload {
                            id: id.clone(),
                            name,
                            ..Default::default()
                        });
                        uploads.last_mut()
                    }
                    None => None,
                };
                let Some(row) = row else { return };
                match state {
                    TransferState::Waiting => {}
                    TransferState::Progress { done, total } => {
                        row.done = done;
                        row.total = total;
                    }
                    TransferState::Failed { reason } => row.failed = Some(reason),
                    // Done: its message is in the timeline now.
                    TransferState::Done { .. } | TransferState::Cancelled => {
                        uploads.retain(|u| u.id != id)
                    }
                }
            }
        }
    }
}

/// A partial download (`.name.part`), not a file.
fn hidden(p: &std::path::Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'))
}
