//! Fetching a file a peer sent (or asking its server its size: `file_info`): into a
//! folder under its own (safe, free) name, its SHA-256 taken on the way; `aesgcm://`
//! files (XEP-0454) decrypted and checked before anything is saved. A partial file
//! never stays: it is deleted when the download fails or its task is dropped
//! (cancelled).

use super::*;
use sha2::{Digest, Sha256};
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// What a download must be: at most so large, and this file when its SHA-256 is known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect<'a> {
    pub max_size: Option<u64>,
    pub sha256: Option<&'a str>,
    /// The name to save it under (made safe), else the URL's.
    pub name: Option<&'a str>,
}

/// What a download saved.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl State {
    /// Asks the file's server its size and type (HEAD), for the front end's card.
    pub(in crate::client) fn file_info(&mut self, peer: String, id: String, url: String) {
        let web = Web::new(self.trust.clone());
        let events = self.events.clone();
        tokio::spawn(async move {
            let (https, sealed) = match aesgcm::parse(&url) {
                Some((https, _)) => (https, true),
                None => (url, false),
            };
            let meta = match web.head(&https).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::info!(error = %e, "no size for a file");
                    return;
                }
            };
            let tag = if sealed { aesgcm::TAG as u64 } else { 0 };
            let mime = meta
                .content_type
                .filter(|_| !sealed)
                .map(|t| t.split(';').next().unwrap_or_default().trim().to_string())
                .filter(|t| !t.is_empty() && t.len() < 128);
            let _ = events.send(Event::FileInfo {
                peer,
                id,
                size: meta.size.map(|s| s.saturating_sub(tag)),
                mime,
            });
        });
    }
}

/// A name in `dir` no file has yet: `name`, `name (1)`, … before the extension; the
/// file is created (empty) so that no other download takes the name meanwhile.
fn free_name(dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    for n in 0..10_000 {
        let path = match n {
            0 => dir.join(name),
            n => dir.join(format!("{stem} ({n}){ext}")),
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "{name}: 10 000 files of that name are there already"
    )))
}

/// Fetches `url` (https, or `aesgcm://`: decrypted and checked) into `dir`, under its
/// own name made safe and free. A partial file is deleted (also when cancelled: the
/// guard goes with the task).
pub(in crate::client) async fn fetch(
    web: &Web,
    url: &str,
    dir: &Path,
    progress: Progress,
    expect: Expect<'_>,
) -> Result<Downloaded, String> {
    let max_size = expect.max_size;
    let file = oob::file_ref(url).ok_or_else(|| format!("not a file address: {url}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot use {}: {e}", dir.display()))?;
    let part = dir.join(format!(".{}.{:08x}.part", file.name, rand::random::<u32>()));
    let guard = PartFile(part.clone());
    let said = |e: HttpError| format!("the download failed: {e}");
    let io = |e: std::io::Error| format!("cannot write {}: {e}", part.display());
    let (size, digest) = match aesgcm::parse(url) {
        Some((https, key)) => {
            let mut sealed = Vec::new();
            web.get(
                &https,
                &mut sealed,
                MAX_SEALED + aesgcm::TAG as u64,
                progress,
            )
            .await
            .map_err(said)?;
            let plain = tokio::task::spawn_blocking(move || aesgcm::open(&sealed, &key))
                .await
                .ok()
                .flatten()
                .ok_or("the file was altered or its key is wrong: it was not saved")?;
            tokio::fs::write(&part, &plain).await.map_err(io)?;
            (plain.len() as u64, Sha256::digest(&plain).to_vec())
        }
        None => {
            let mut out = HashingFile {
                file: tokio::fs::File::create(&part).await.map_err(io)?,
                hash: Sha256::new(),
                size: 0,
            };
            let max = max_size.unwrap_or(MAX_DOWNLOAD).min(MAX_DOWNLOAD);
            web.get(url, &mut out, max, progress).await.map_err(said)?;
            out.file.flush().await.map_err(io)?;
            out.file.sync_all().await.map_err(io)?;
            (out.size, out.hash.finalize().to_vec())
        }
    };
    let digest = hex(&digest);
    if let Some(want) = expect.sha256 {
        if !want.eq_ignore_ascii_case(&digest) {
            return Err(
                "the file that came is not the one that was sent (its SHA-256 differs): it was not saved"
                    .into(),
            );
        }
    }
    // The name is taken (an empty file) before the complete file replaces it.
    let name = expect.name.map(oob::safe_name).unwrap_or(file.name);
    let path = free_name(dir, &name).map_err(io)?;
    std::fs::rename(&part, &path).map_err(io)?;
    std::mem::forget(guard);
    Ok(Downloaded {
        path,
        size,
        sha256: digest,
    })
}

/// A partial download: deleted unless it was completed.
struct PartFile(PathBuf);

impl Drop for PartFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A file written while its SHA-256 is taken.
struct HashingFile {
    file: tokio::fs::File,
    hash: Sha256,
    size: u64,
}

impl tokio::io::AsyncWrite for HashingFile {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let me = &mut *self;
        let r = std::pin::Pin::new(&mut me.file).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &r {
            if let Some(written) = buf.get(..*n) {
                me.hash.update(written);
                me.size += *n as u64;
            }
        }
        r
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

/// Fetches `url` into `dir` without signing in (the account's trust only): for
/// `banter download`. `progress` counts the bytes received.
pub async fn download_file(
    ca_file: Option<&Path>,
    url: &str,
    dir: &Path,
    sha256: Option<&str>,
    progress: Progress,
) -> Result<Downloaded, String> {
    let tls = tls::build(ca_file).map_err(|e| e.to_string())?;
    let expect = Expect {
        max_size: None,
        sha256,
        name: None,
    };
    fetch(&Web::new(tls.config), url, dir, progress, expect).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_never_replaces_one_that_is_there() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            free_name(dir.path(), "a.png").unwrap(),
            dir.path().join("a.png")
        );
        assert_eq!(
            free_name(dir.path(), "a.png").unwrap(),
            dir.path().join("a (1).png"),
            "the first name is taken as soon as it is given"
        );
        assert_eq!(
            free_name(dir.path(), "a.png").unwrap(),
            dir.path().join("a (2).png")
        );
        assert_eq!(
            free_name(dir.path(), "README").unwrap(),
            dir.path().join("README")
        );
    }
}
