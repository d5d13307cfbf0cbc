//! `send` (a message, a correction, a reply), `react` and `retract`: each signs in
//! without announcing presence, sends one stanza and exits 0 once the server has it;
//! `block` and `unblock`, which exit once the server's list says so; `send --file`
//! and `download`, which print their progress.

use super::*;

/// What `send` sends.
pub enum Outgoing {
    /// Encrypted where the conversation is.
    Message,
    /// Unencrypted, as the user chose.
    Plain,
    Correction {
        of: String,
    },
    Reply {
        of: String,
    },
}

pub async fn send(
    args: &AccountArgs,
    to: &str,
    body: String,
    what: Outgoing,
) -> Result<(), CliError> {
    let to = parse_jid(to)?;
    deliver(args, |id| match what {
        Outgoing::Message => Command::SendMessage { id, to, body },
        Outgoing::Plain => Command::SendPlain { id, to, body },
        Outgoing::Correction { of } => Command::CorrectMessage { id, to, of, body },
        Outgoing::Reply { of } => Command::Reply { id, to, of, body },
    })
    .await
}

pub async fn react(
    args: &AccountArgs,
    peer: &str,
    of: String,
    reactions: Vec<String>,
) -> Result<(), CliError> {
    let to = parse_jid(peer)?;
    deliver(args, |id| Command::React {
        id,
        to,
        of,
        reactions,
    })
    .await
}

pub async fn retract(args: &AccountArgs, peer: &str, of: String) -> Result<(), CliError> {
    let to = parse_jid(peer)?;
    deliver(args, |id| Command::Retract { id, to, of }).await
}

/// Blocks or unblocks `contact` (none: prints the list) and prints the list after.
pub async fn block(
    args: &AccountArgs,
    contact: Option<&str>,
    blocked: bool,
) -> Result<(), CliError> {
    let jid = contact.map(parse_jid).transpose()?;
    let mut client = signed_in_once(args).await?;
    // The list at sign-in comes first; the change's answer follows it.
    let mut lists_to_see = 1;
    if let Some(jid) = &jid {
        client.send(Command::Block {
            jid: jid.clone(),
            blocked,
        });
        lists_to_see = 2;
    }
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    let result = loop {
        tokio::select! {
            ev = client.next_event() => match ev {
                Some(ev @ Event::Blocklist { .. }) => {
                    lists_to_see -= 1;
                    if lists_to_see == 0 {
                        print_event(&mut std::io::stdout(), &ev, args.json);
                        break Ok(());
                    }
                }
                Some(ev @ Event::Error { .. }) => print_event(&mut std::io::stderr(), &ev, args.json),
                Some(Event::ConnectionError { message, fatal: true }) => break Err(CliError(message)),
                Some(_) => {}
                None => break Err(CliError("the connection ended before the server answered".into())),
            },
            _ = &mut deadline => break Err(CliError("the server did not answer within 30 s".into())),
        }
    };
    client.shutdown().await;
    result
}

/// Publishes our picture from `file` and waits until contacts are told.
pub async fn set_avatar(args: &AccountArgs, file: &std::path::Path) -> Result<(), CliError> {
    let path = file.to_path_buf();
    let (png, width, height) = tokio::task::spawn_blocking(move || client::avatar_png(&path))
        .await
        .map_err(|e| CliError(e.to_string()))?
        .map_err(CliError)?;
    let mut cfg = config(args)?;
    cfg.presence = None;
    cfg.catch_up = false;
    cfg.autojoin = false;
    let own = cfg.jid.to_string();
    let mut client = connect(cfg).await?;
    wait_online(&mut client).await?;
    let hash = banter::client::avatar_hash(&png);
    client.send(Command::SetAvatar { png, width, height });
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    let result = loop {
        tokio::select! {
            ev = client.next_event() => match ev {
                Some(ev @ Event::Avatar { .. })
                    if matches!(&ev, Event::Avatar { jid, path: Some(p) } if *jid == own && p.ends_with(&hash)) =>
                {
                    print_event(&mut std::io::stdout(), &ev, args.json);
                    break Ok(());
                }
                Some(Event::Error { message }) => break Err(CliError(message)),
                Some(Event::ConnectionError { message, fatal: true }) => break Err(CliError(message)),
                Some(_) => {}
                None => break Err(CliError("the connection ended before the server answered".into())),
            },
            _ = &mut deadline => break Err(CliError("the server did not answer within 30 s".into())),
        }
    };
    client.shutdown().await;
    result
}

/// Signs in, sends what `command` makes with a fresh id and waits for the server to
/// confirm it; `--json` prints `{"event":"sent","id":…}` then.
async fn deliver(
    args: &AccountArgs,
    command: impl FnOnce(String) -> Command,
) -> Result<(), CliError> {
    let mut client = signed_in_once(args).await?;
    let id = client::new_id();
    client.send(command(id.clone()));
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    let result = loop {
        tokio::select! {
            ev = client.next_event() => match ev {
                Some(Event::MessageAcked { id: acked }) if acked == id => break Ok(()),
                Some(Event::MessageFailed { id: failed, error }) if failed == id => break Err(CliError(error)),
                Some(Event::ConnectionError { message, fatal: true }) => break Err(CliError(message)),
                // Said, not fatal (e.g. an OMEMO device list the server could not give).
                Some(ev @ Event::Error { .. }) if args.json => print_event(&mut std::io::stdout(), &ev, true),
                Some(Event::Error { message }) => eprintln!("warning: {message}"),
                Some(_) => {}
                None => break Err(CliError("the connection ended before the server confirmed the message".into())),
            },
            _ = &mut deadline => break Err(CliError("the server did not confirm the message within 30 s; it stays queued and is sent next time".into())),
        }
    };
    if result.is_ok() && args.json {
        println!("{}", json!({"event": "sent", "id": id}));
    }
    client.shutdown().await;
    result
}

/// Uploads `file` and sends it to `to`; exits 0 once its message is confirmed. SIGINT
/// or SIGTERM cancels it (nothing stays on the server).
pub async fn send_file(args: &AccountArgs, to: &str, file: PathBuf) -> Result<(), CliError> {
    let to = parse_jid(to)?;
    let mut stop = crate::signals::StopSignals::new();
    let mut client = signed_in_once(args).await?;
    let id = client::new_id();
    client.send(Command::SendFile {
        id: id.clone(),
        to,
        path: file,
    });
    let mut out = std::io::stdout();
    let result = loop {
        tokio::select! {
            ev = client.next_event() => match ev {
                Some(ev @ Event::Transfer { .. }) => {
                    let Event::Transfer { id: t, state, .. } = &ev else { continue };
                    if *t != id {
                        continue;
                    }
                    match state {
                        TransferState::Failed { reason } => break Err(CliError(reason.clone())),
                        TransferState::Cancelled => break Err(CliError("cancelled".into())),
                        _ => print_event(&mut out, &ev, args.json),
                    }
                }
                Some(Event::MessageAcked { id: acked }) if acked == id => break Ok(()),
                Some(Event::MessageFailed { id: failed, error }) if failed == id => break Err(CliError(error)),
                Some(Event::ConnectionError { message, fatal: true }) => break Err(CliError(message)),
                Some(Event::Error { message }) => eprintln!("warning: {message}"),
                Some(_) => {}
                None => break Err(CliError("the connection ended before the file was sent".into())),
            },
            _ = stop.wait() => {
                client.send(Command::CancelTransfer { id: id.clone() });
                break Err(CliError("cancelled".into()));
            }
        }
    };
    if result.is_ok() && args.json {
        println!("{}", json!({"event": "sent", "id": id}));
    }
    client.shutdown().await;
    result
}

/// Fetches `url` into `dir` (default: the downloads folder), printing progress.
pub async fn download(
    args: &AccountArgs,
    url: &str,
    dir: Option<PathBuf>,
    sha256: Option<String>,
) -> Result<(), CliError> {
    let dir = match dir {
        Some(d) => d,
        None => directories::UserDirs::new()
            .and_then(|u| u.download_dir().map(|d| d.to_path_buf()))
            .or_else(|| std::env::current_dir().ok())
            .ok_or_else(|| CliError("no downloads folder: use --dir".into()))?,
    };
    let progress = client::TransferProgress::default();
    let work = client::download_file(
        args.ca_file.as_deref(),
        url,
        &dir,
        sha256.as_deref(),
        progress.clone(),
    );
    tokio::pin!(work);
    let mut stop = crate::signals::StopSignals::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last = u64::MAX;
    let done = loop {
        tokio::select! {
            r = &mut work => break r.map_err(CliError)?,
            _ = tick.tick() => {
                let now = progress.load(std::sync::atomic::Ordering::Relaxed);
                if now != last && args.json {
                    last = now;
                    println!("{}", json!({"event": "transfer", "kind": "download", "state": "progress", "done": now}));
                }
            }
            // The partial file goes with the dropped download.
            _ = stop.wait() => return Err(CliError("cancelled".into())),
        }
    };
    if args.json {
        println!(
            "{}",
            json!({"event": "transfer", "kind": "download", "state": "done", "path": done.path,
                   "size": done.size, "sha256": done.sha256})
        );
    } else {
        println!(
            "saved {} ({} bytes, SHA-256 {})",
            done.path.display(),
            done.size,
            done.sha256
        );
    }
    Ok(())
}
