//! Files in the account: sending one (XEP-0363: find the server's upload service and
//! its limit, check the size before anything leaves, ask for a slot, PUT the file,
//! then send its URL in the body and as OOB, as Conversations does) and fetching one
//! a peer sent, into a folder the front end names. In an encrypted conversation the
//! file is encrypted first (XEP-0454 `aesgcm://`) and its message must go encrypted.
//! The HTTP runs in tasks of their own (http.rs); their progress goes straight to the
//! front end, their end comes back here. Cancelling a transfer drops its connection:
//! the server throws the partial upload away, a partial download is deleted.

use super::*;
use crate::http::{HttpError, Progress, Web};
use crate::xmpp::{aesgcm, oob, sfs, upload};
pub use download::{download_file, Downloaded};
pub(super) use download::{fetch, Expect};

mod download;

/// Encrypted files are sealed in memory: at most this size.
const MAX_SEALED: u64 = 256 * 1024 * 1024;
/// What a download takes at most (an encrypted one: `MAX_SEALED`).
pub const MAX_DOWNLOAD: u64 = 4 * 1024 * 1024 * 1024;
/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Uploads waiting for the service or a slot at once.
const MAX_WAITING: usize = 64;

/// Where a transfer is; the `transfer` event's `state`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TransferState {
    /// Waiting for the upload service or a slot.
    Waiting,
    Progress {
        done: u64,
        total: Option<u64>,
    },
    /// Sent (`url`, and the message went as `id`) or fetched (`path`, `sha256` of
    /// what was saved).
    Done {
        size: u64,
        url: Option<String>,
        path: Option<PathBuf>,
        sha256: Option<String>,
    },
    Failed {
        reason: String,
    },
    Cancelled,
}

/// Upload or download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    Upload,
    Download,
}

/// A file being sent, until its slot is used.
#[derive(Debug)]
pub(super) struct Outgoing {
    id: String,
    to: BareJid,
    path: PathBuf,
    name: String,
    mime: String,
    /// Bytes the server gets (with the tag, when encrypted).
    size: u64,
    key: Option<aesgcm::FileKey>,
    /// To a room (a groupchat message), as it was when the file was chosen.
    room: bool,
}

/// The upload service, as far as we know it this session.
#[derive(Debug, Default, Clone)]
enum Service {
    #[default]
    Unknown,
    /// Asked: this many answers still to come.
    Asking(usize),
    Known(Option<upload::Service>),
}

/// The account's transfers.
#[derive(Default)]
pub(super) struct Transfers {
    service: Service,
    waiting: Vec<Outgoing>,
    running: HashMap<String, Running>,
    /// Uploads whose slot is asked for, with their peer and name (a cancel before
    /// it comes drops it).
    slot_asked: HashMap<String, (String, String)>,
}

/// A transfer under way in a task of its own.
struct Running {
    task: tokio::task::AbortHandle,
    kind: TransferKind,
    peer: String,
    name: String,
}

/// A file on the server: its message goes now.
#[derive(Debug)]
pub(super) struct Sent {
    to: BareJid,
    url: String,
    /// Encrypted (the URL holds the key): its message must be too.
    sealed: bool,
    /// What it is, for the receiver (plain files only).
    meta: Option<sfs::FileMeta>,
    room: bool,
}

/// A transfer task's end, back on the account task.
#[derive(Debug)]
pub(super) struct Ended {
    id: String,
    /// An upload that worked: the message to send.
    sent: Option<Sent>,
}

fn size_words(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.0} kB", (n as f64 / 1024.0).ceil())
    }
}

impl State {
    fn transfer_event(
        &self,
        id: &str,
        kind: TransferKind,
        peer: &str,
        name: &str,
        state: TransferState,
    ) {
        self.emit(Event::Transfer {
            id: id.to_string(),
            kind,
            peer: peer.to_string(),
            name: name.to_string(),
            state,
        });
    }

    fn upload_failed(&self, up: &Outgoing, reason: String) {
        self.transfer_event(
            &up.id,
            TransferKind::Upload,
            up.to.as_str(),
            &up.name,
            TransferState::Failed { reason },
        );
    }

    /// Send the file at `path` to `to` as message `id`.
    pub(super) fn send_file(
        &mut self,
        id: String,
        to: BareJid,
        path: PathBuf,
        out: &mut Vec<Stanza>,
    ) {
        let name = oob::safe_name(
            &path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let fail = |st: &State, reason: String| {
            st.transfer_event(
                &id,
                TransferKind::Upload,
                to.as_str(),
                &name,
                TransferState::Failed { reason },
            )
        };
        let size = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m.len(),
            Ok(_) => return fail(self, format!("{} is not a file", path.display())),
            Err(e) => return fail(self, format!("cannot read {}: {e}", path.display())),
        };
        if size == 0 {
            return fail(self, format!("{} is empty", path.display()));
        }
        // Encrypted where messages are (not in rooms); such a file is sealed in memory.
        let room = self.rooms.contains_key(&to);
        if room && !self.in_room(&to) {
            return fail(self, format!("not in {to} yet"));
        }
        let key = (self.omemo.is_on() && !room).then(aesgcm::FileKey::random);
        if key.is_some() && size > MAX_SEALED {
            return fail(
                self,
                format!(
                    "{} is {}; encrypted files go up to {}",
                    name,
                    size_words(size),
                    size_words(MAX_SEALED)
                ),
            );
        }
        if self.transfers.waiting.len() >= MAX_WAITING {
            return fail(self, "too many files waiting to be sent".into());
        }
        let up = Outgoing {
            id: id.clone(),
            to: to.clone(),
            mime: oob::mime_of(&name)
                .unwrap_or("application/octet-stream")
                .to_string(),
            name: name.clone(),
            size: size + if key.is_some() { aesgcm::TAG as u64 } else { 0 },
            path,
            key,
            room,
        };
        self.transfer_event(
            &id,
            TransferKind::Upload,
            to.as_str(),
            &name,
            TransferState::Waiting,
        );
        match &self.transfers.service {
            Service::Known(Some(s)) => {
                let s = s.clone();
                self.ask_slot(&s, up, out)
            }
            Service::Known(None) => self.upload_failed(
                &up,
                "your server offers no file upload (XEP-0363 HTTP File Upload)".into(),
            ),
            Service::Asking(_) => self.transfers.waiting.push(up),
            Service::Unknown => {
                self.transfers.waiting.push(up);
                self.find_upload_service(out);
            }
        }
    }

    /// Asks the server for its services, and the server itself, which offers uploads.
    fn find_upload_service(&mut self, out: &mut Vec<Stanza>) {
        self.transfers.service = Service::Asking(2);
        let domain = Jid::from(self.own.domain().to_owned());
        let d = domain.clone();
        self.iq(IqPurpose::UploadItems, |id| disco::items_query(id, d), out);
        let d = domain.clone();
        self.iq(
            IqPurpose::UploadInfo { jid: domain },
            |id| disco::info_query(id, d, None),
            out,
        );
    }

    /// The server's services (or `None`: it would not say): each is asked.
    pub(super) fn on_upload_items(&mut self, answer: Option<&Element>, out: &mut Vec<Stanza>) {
        let items = answer.map(disco::parse_items).unwrap_or_default();
        if let Service::Asking(n) = &mut self.transfers.service {
            *n += items.len();
        }
        for jid in items {
            let j = jid.clone();
            self.iq(
                IqPurpose::UploadInfo { jid },
                |id| disco::info_query(id, j, None),
                out,
            );
        }
        self.upload_answered(None, out);
    }

    /// What `jid` said it is (or `None`: nothing).
    pub(super) fn on_upload_info(
        &mut self,
        jid: Jid,
        answer: Option<&Element>,
        out: &mut Vec<Stanza>,
    ) {
        let found = answer.and_then(|a| upload::service_of(jid, a));
        self.upload_answered(found, out);
    }

    fn upload_answered(&mut self, found: Option<upload::Service>, out: &mut Vec<Stanza>) {
        let Service::Asking(n) = &mut self.transfers.service else {
            return;
        };
        *n = n.saturating_sub(1);
        let done = *n == 0;
        if found.is_some() || done {
            tracing::info!(service = ?found, "upload service");
            self.transfers.service = Service::Known(found.clone());
            for up in std::mem::take(&mut self.transfers.waiting) {
                match &found {
                    Some(s) => self.ask_slot(s, up, out),
                    None => self.upload_failed(
                        &up,
                        "your server offers no file upload (XEP-0363 HTTP File Upload)".into(),
                    ),
                }
            }
        }
    }

    /// The limit checked, then a slot asked for.
    fn ask_slot(&mut self, service: &upload::Service, up: Outgoing, out: &mut Vec<Stanza>) {
        if let Some(max) = service.max_size.filter(|m| up.size > *m) {
            let reason = format!(
                "{} is {}; your server takes files up to {}",
                up.name,
                size_words(up.size),
                size_words(max)
            );
            return self.upload_failed(&up, reason);
        }
        let jid = service.jid.clone();
        let (name, size, mime) = (up.name.clone(), up.size, up.mime.clone());
        self.transfers
            .slot_asked
            .insert(up.id.clone(), (up.to.to_string(), up.name.clone()));
        self.iq(
            IqPurpose::UploadSlot(Box::new(up)),
            |id| upload::request(id, &jid, &name, size, &mime),
            out,
        );
    }

    /// The slot came (or the server refused one, in `refusal`'s words).
    pub(super) fn on_upload_slot(
        &mut self,
        up: Outgoing,
        answer: Result<Option<&Element>, String>,
    ) {
        if self.transfers.slot_asked.remove(&up.id).is_none() {
            return; // cancelled meanwhile
        }
        let slot = match answer {
            Ok(a) => match a.and_then(upload::read_slot) {
                Some(s) => s,
                None => {
                    return self
                        .upload_failed(&up, "the server's upload slot was not usable".into())
                }
            },
            Err(why) => {
                return self.upload_failed(&up, format!("the server refused the upload: {why}"))
            }
        };
        let web = Web::new(self.trust.clone());
        let events = self.events.clone();
        let ended = self.transfers_tx.clone();
        let (id, to, name) = (up.id.clone(), up.to.clone(), up.name.clone());
        let task = tokio::spawn(async move {
            let progress = Progress::default();
            let report = ProgressReport {
                events: &events,
                id: &up.id,
                kind: TransferKind::Upload,
                peer: up.to.as_str(),
                name: &up.name,
                total: Some(up.size),
            };
            let work = put(&web, &slot, &up, progress.clone());
            let result = report.while_running(&progress, work).await;
            let state = match &result {
                Ok(sha256) => TransferState::Done {
                    size: up.size,
                    url: Some(slot.get.clone()),
                    path: None,
                    sha256: sha256.clone(),
                },
                Err(reason) => TransferState::Failed {
                    reason: reason.clone(),
                },
            };
            report.send(state);
            let sent = result.ok().and_then(|sha256| {
                let url = match &up.key {
                    Some(k) => aesgcm::url(&slot.get, k)?,
                    None => slot.get.clone(),
                };
                let meta = up.key.is_none().then(|| sfs::FileMeta {
                    name: Some(up.name.clone()),
                    media_type: Some(up.mime.clone()),
                    size: Some(up.size),
                    sha256,
                });
                Some(Sent {
                    to: up.to.clone(),
                    url,
                    sealed: up.key.is_some(),
                    meta,
                    room: up.room,
                })
            });
            let _ = ended.send(Ended {
                id: up.id.clone(),
                sent,
            });
        });
        let running = Running {
            task: task.abort_handle(),
            kind: TransferKind::Upload,
            peer: to.to_string(),
            name,
        };
        self.transfers.running.insert(id, running);
    }

    /// A transfer task ended: an upload's message goes now.
    pub(super) fn on_transfer_ended(&mut self, e: Ended, out: &mut Vec<Stanza>) {
        // Cancelled after it ended (its end was on its way): nothing is sent.
        if self.transfers.running.remove(&e.id).is_none() {
            return;
        }
        let Some(Sent {
            to,
            url,
            sealed,
            meta,
            room,
        }) = e.sent
        else {
            return;
        };
        if room {
            if !self.in_room(&to) {
                return self.emit(Event::MessageFailed {
                    id: e.id,
                    error: format!("the file was uploaded, but you are no longer in {to}"),
                });
            }
            let mut m = crate::xmpp::muc::groupchat(&to, &e.id, &url);
            m.payloads.push(oob::element(&url));
            m.payloads.extend(meta.map(|m| sfs::element(&url, &m)));
            out.push(m.into());
        } else if sealed {
            // The URL holds the key: never in the clear.
            self.send_chat(e.id, to, url, vec![], amend::Seal::Must, out);
        } else {
            let mut extra = vec![oob::element(&url)];
            extra.extend(meta.map(|m| sfs::element(&url, &m)));
            self.send_chat(e.id, to, url, extra, amend::Seal::Plain, out);
        }
    }

    /// Fetch `url` (from message or peer `peer`) into `dir`.
    pub(super) fn download(
        &mut self,
        id: String,
        peer: String,
        url: String,
        dir: PathBuf,
        (max_size, sha256, saved_as): (Option<u64>, Option<String>, Option<String>),
    ) {
        let web = Web::new(self.trust.clone());
        let events = self.events.clone();
        let ended = self.transfers_tx.clone();
        let name = match &saved_as {
            Some(n) => oob::safe_name(n),
            None => oob::file_ref(&url)
                .map(|f| f.name)
                .unwrap_or_else(|| "file".into()),
        };
        let running = |task: &tokio::task::JoinHandle<()>| Running {
            task: task.abort_handle(),
            kind: TransferKind::Download,
            peer: peer.clone(),
            name: name.clone(),
        };
        let task_id = id.clone();
        let (p, n) = (peer.clone(), name.clone());
        let task = tokio::spawn(async move {
            let (peer, name) = (p, n);
            let progress = Progress::default();
            let report = ProgressReport {
                events: &events,
                id: &id,
                kind: TransferKind::Download,
                peer: &peer,
                name: &name,
                total: None,
            };
            let expect = Expect {
                max_size,
                sha256: sha256.as_deref(),
                name: Some(&name),
            };
            let work = fetch(&web, &url, &dir, progress.clone(), expect);
            let state = match report.while_running(&progress, work).await {
                Ok(d) => TransferState::Done {
                    size: d.size,
                    url: Some(url.clone()),
                    path: Some(d.path),
                    sha256: Some(d.sha256),
                },
                Err(reason) => TransferState::Failed { reason },
            };
            report.send(state);
            let _ = ended.send(Ended {
                id: id.clone(),
                sent: None,
            });
        });
        let running = running(&task);
        self.transfers.running.insert(task_id, running);
    }

    /// Stop transfer `id`, wherever it is.
    pub(super) fn cancel_transfer(&mut self, id: &str) {
        let asked = self.transfers.slot_asked.remove(id);
        let waiting = self.transfers.waiting.iter().position(|u| u.id == id);
        let (kind, peer, name) = if let Some(r) = self.transfers.running.remove(id) {
            r.task.abort();
            (r.kind, r.peer, r.name)
        } else if let Some(up) = waiting.map(|i| self.transfers.waiting.remove(i)) {
            (TransferKind::Upload, up.to.to_string(), up.name)
        } else if let Some((peer, name)) = asked {
            (TransferKind::Upload, peer, name)
        } else {
            return;
        };
        self.transfer_event(id, kind, &peer, &name, TransferState::Cancelled);
    }

    /// A new session: the service is looked up again (an answer on its way is lost
    /// with the old session), and uploads whose slot was asked for ask again.
    pub(super) fn transfers_online(&mut self, out: &mut Vec<Stanza>) {
        let lost: Vec<String> = self
            .pending_iqs
            .iter()
            .filter(|(_, (p, _))| matches!(p, IqPurpose::UploadSlot(_)))
            .map(|(id, _)| id.clone())
            .collect();
        for iq in lost {
            if let Some((IqPurpose::UploadSlot(up), _)) = self.pending_iqs.remove(&iq) {
                self.transfers.slot_asked.remove(&up.id);
                self.transfers.waiting.push(*up);
            }
        }
        if matches!(self.transfers.service, Service::Asking(_)) {
            self.transfers.service = Service::Unknown;
        }
        if self.transfers.waiting.is_empty() {
            return;
        }
        match self.transfers.service.clone() {
            Service::Known(Some(s)) => {
                for up in std::mem::take(&mut self.transfers.waiting) {
                    self.ask_slot(&s, up, out);
                }
            }
            _ => self.find_upload_service(out),
        }
    }
}

/// Progress of one transfer, as events.
struct ProgressReport<'a> {
    events: &'a mpsc::UnboundedSender<Event>,
    id: &'a str,
    kind: TransferKind,
    peer: &'a str,
    name: &'a str,
    total: Option<u64>,
}

impl ProgressReport<'_> {
    fn send(&self, state: TransferState) {
        let _ = self.events.send(Event::Transfer {
            id: self.id.to_string(),
            kind: self.kind,
            peer: self.peer.to_string(),
            name: self.name.to_string(),
            state,
        });
    }

    /// Runs `work`, reporting `progress` every so often.
    async fn while_running<T>(
        &self,
        progress: &Progress,
        work: impl std::future::Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        tokio::pin!(work);
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        let mut last = u64::MAX;
        loop {
            tokio::select! {
                r = &mut work => return r,
                _ = tick.tick() => {
                    let done = progress.load(Ordering::Relaxed);
                    if done != last {
                        last = done;
                        self.send(TransferState::Progress { done, total: self.total });
                    }
                }
            }
        }
    }
}

/// PUTs the file (sealed first when it has a key); a plain file's SHA-256 (hex).
async fn put(
    web: &Web,
    slot: &upload::Slot,
    up: &Outgoing,
    progress: Progress,
) -> Result<Option<String>, String> {
    let said = |e: HttpError| format!("the upload failed: {e}");
    let unreadable = |e: std::io::Error| format!("cannot read {}: {e}", up.path.display());
    match &up.key {
        Some(k) => {
            let plain = tokio::fs::read(&up.path).await.map_err(unreadable)?;
            let key = k.clone();
            let sealed = tokio::task::spawn_blocking(move || aesgcm::seal(&plain, &key))
                .await
                .ok()
                .flatten()
                .ok_or("the file could not be encrypted")?;
            let size = sealed.len() as u64;
            let body = std::io::Cursor::new(sealed);
            web.put(
                &slot.put,
                &slot.headers,
                "application/octet-stream",
                body,
                size,
                progress,
            )
            .await
            .map_err(said)?;
            Ok(None)
        }
        None => {
            let path = up.path.clone();
            let sha256 = tokio::task::spawn_blocking(move || sha256_of(&path))
                .await
                .map_err(|e| e.to_string())?
                .map_err(unreadable)?;
            let file = tokio::fs::File::open(&up.path).await.map_err(unreadable)?;
            web.put(&slot.put, &slot.headers, &up.mime, file, up.size, progress)
                .await
                .map_err(said)?;
            Ok(Some(sha256))
        }
    }
}

/// A file's SHA-256, hex.
fn sha256_of(path: &std::path::Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hash = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match f.read(&mut buf)? {
            0 => break,
            n => hash.update(buf.get(..n).unwrap_or_default()),
        }
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_said_as_people_read_them() {
        assert_eq!(size_words(5 * 1024 * 1024), "5.0 MB");
        assert_eq!(size_words(1500), "2 kB");
    }
}
