//! The headless command line (see README.md): `send` and `listen` for now.
//! Exit status 0 when the command did what it was asked; otherwise one `error: ...`
//! line on stderr and a non-zero status.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use banter::client::BareJid;
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use banter::client::parse_server;
use banter::client::Show;
use banter::client::{
    self, CallDirection, CallStatus, ClientError, Command, Config, EndReason, Event, TransferState,
};

mod account;
mod args;
mod calls;
mod chat;
mod media;
mod network;
mod omemo;
mod report;
mod rooms;

use account::*;
pub use args::*;
use calls::*;
use chat::*;
use media::*;
use network::*;
use omemo::*;
use rooms::*;

/// A user-facing failure: printed as `error: ...`.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    if cli.command.is_none() {
        // No subcommand: the window, on this (main) thread; it starts its own runtime
        // for the client.
        let json = cli.account.json;
        let result = window(&cli);
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(CliError(msg)) => fail(&msg, json),
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start: {e}"), false),
    };
    let json = cli.account.json;
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(msg)) => fail(&msg, json),
    }
}

/// Opens the window; with `--jid` (and a password) it signs in right away.
fn window(cli: &Cli) -> Result<(), CliError> {
    let args = &cli.account;
    let start = match &args.jid {
        Some(jid) => Some(crate::window::StartAccount {
            jid: parse_jid(jid)?.to_string(),
            password: password(args)?,
            server: args.server.clone(),
            ca_file: args.ca_file.as_ref().map(|p| p.display().to_string()),
            register: cli.create_account,
        }),
        None if cli.create_account => {
            return Err(CliError(
                "--create-account needs the new account's --jid".into(),
            ))
        }
        None => None,
    };
    crate::window::run(
        data_dir(args)?,
        cli.media.config()?,
        start,
        cli.try_locally,
        args.json,
        cli.hidden,
    )
    .map_err(CliError)
}

fn fail(msg: &str, json: bool) -> ExitCode {
    if json {
        println!("{}", json!({"event": "error", "message": msg}));
    }
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BANTER_LOG")
        // The WebRTC crates warn about routine things; only our own warnings by default.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("error,banter=warn,banter_media=warn")
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Reads the password from `--password-file` or `BANTER_PASSWORD`; never from argv.
pub fn password(args: &AccountArgs) -> Result<String, CliError> {
    if let Some(path) = &args.password_file {
        let s = std::fs::read_to_string(path)
            .map_err(|e| CliError(format!("cannot read password file {}: {e}", path.display())))?;
        return Ok(s.trim_end_matches(['\r', '\n']).to_string());
    }
    if let Ok(p) = std::env::var("BANTER_PASSWORD") {
        return Ok(p);
    }
    let none = || {
        CliError(
            "no password: use --password-file FILE, set BANTER_PASSWORD, or save it in the OS \
             keyring once with `banter account save`"
                .into(),
        )
    };
    let jid = args.jid.as_deref().ok_or_else(none)?;
    match crate::secrets::load(jid) {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(none()),
        Err(e) => Err(CliError(format!("no password given, and {e}"))),
    }
}

/// The password given on the command line or in the environment (not the keyring).
fn given_password(args: &AccountArgs) -> Result<String, CliError> {
    let mut only_given = args.clone();
    only_given.jid = None;
    password(&only_given)
}

/// The data directory: `--config-dir`, or the platform's data dir.
pub fn data_dir(args: &AccountArgs) -> Result<PathBuf, CliError> {
    if let Some(d) = &args.config_dir {
        return Ok(d.clone());
    }
    directories::ProjectDirs::from("im", "banter", "Banter")
        .map(|p| p.data_dir().to_path_buf())
        .ok_or_else(|| CliError("cannot find a home directory; use --config-dir".into()))
}

pub fn parse_jid(s: &str) -> Result<BareJid, CliError> {
    let jid = BareJid::new(s)
        .map_err(|e| CliError(format!("invalid JID '{s}': {e}; expected user@domain")))?;
    if jid.node().is_none() {
        return Err(CliError(format!("invalid JID '{s}': expected user@domain")));
    }
    Ok(jid)
}

/// Builds the account configuration from the command line.
pub fn config(args: &AccountArgs) -> Result<Config, CliError> {
    let jid = args
        .jid
        .as_deref()
        .ok_or_else(|| CliError("no account: use --jid user@domain".into()))?;
    let jid = parse_jid(jid)?;
    let mut cfg = Config::new(jid, password(args)?, data_dir(args)?);
    if let Some(s) = &args.server {
        cfg.server = Some(parse_server(s).ok_or_else(|| {
            CliError(format!("invalid --server '{s}': expected [tls:]HOST:PORT"))
        })?);
    }
    cfg.ca_file = args.ca_file.clone();
    cfg.resource = args.resource.clone();
    // A password kept in the keyring: the FAST tokens that stand in for it there too.
    if args.password_file.is_none() && std::env::var_os("BANTER_PASSWORD").is_none() {
        cfg.tokens = Some(crate::secrets::token_store(cfg.jid.as_str()));
    }
    // On unless turned off (security by default).
    cfg.omemo = !args.no_omemo;
    Ok(cfg)
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let Some(cmd) = cli.command else {
        return Err(CliError("no command".into()));
    };
    let args = cli.account;
    let media = cli.media;
    match cmd {
        Cmd::SoundTest { duration } => sound_test(&media, duration, args.json).await,
        Cmd::CameraTest { duration } => camera_test(&media, duration, args.json).await,
        Cmd::Devices => {
            devices(args.json);
            Ok(())
        }
        Cmd::Send {
            to,
            file: Some(file),
            ..
        } => send_file(&args, &to, file).await,
        Cmd::Download { url, dir, sha256 } => download(&args, &url, dir, sha256).await,
        Cmd::Send {
            to,
            body,
            plaintext,
            correct,
            reply_to,
            file: None,
        } => {
            let body = body.unwrap_or_default();
            let what = match (correct, reply_to) {
                (Some(_), Some(_)) => {
                    return Err(CliError(
                        "--correct and --reply-to do not go together".into(),
                    ))
                }
                (Some(of), None) => Outgoing::Correction { of },
                (None, Some(of)) => Outgoing::Reply { of },
                (None, None) if plaintext => Outgoing::Plain,
                (None, None) => Outgoing::Message,
            };
            send(&args, &to, body, what).await
        }
        Cmd::React {
            peer,
            id,
            reactions,
        } => react(&args, &peer, id, reactions).await,
        Cmd::Retract { peer, id } => retract(&args, &peer, id).await,
        Cmd::Block { contact } => block(&args, contact.as_deref(), true).await,
        Cmd::Unblock { contact } => block(&args, Some(&contact), false).await,
        Cmd::Avatar { file } => set_avatar(&args, &file).await,
        Cmd::NetCheck { show_addresses } => net_check(&args, show_addresses).await,
        Cmd::Listen {
            duration,
            accept_subscriptions,
            show,
            status,
        } => {
            let show =
                Show::parse(&show).ok_or_else(|| CliError(format!("unknown presence '{show}'")))?;
            listen(&args, duration, accept_subscriptions, show, status).await
        }
        Cmd::Contact {
            verb,
            contact: jid,
            name,
        } => {
            let need_jid = || {
                jid.clone().ok_or_else(|| {
                    CliError("which contact? e.g. banter contact add bob@example.org".into())
                })
            };
            let action = match verb {
                ContactVerb::Add => ContactAction::Add {
                    jid: need_jid()?,
                    name,
                },
                ContactVerb::Remove => ContactAction::Remove { jid: need_jid()? },
                ContactVerb::Rename => ContactAction::Rename {
                    jid: need_jid()?,
                    name: name.ok_or_else(|| CliError("rename needs --name NAME".into()))?,
                },
                ContactVerb::List => ContactAction::List,
            };
            contact(&args, action).await
        }
        Cmd::History { peer, limit } => history(&args, &peer, limit),
        Cmd::Omemo {
            verb,
            contact,
            fingerprint,
        } => omemo(&args, verb, contact, fingerprint),
        Cmd::Room {
            verb,
            room: jid,
            opts,
        } => room(&args, verb, jid.as_deref(), opts).await,
        Cmd::Account {
            verb,
            new_password_file,
            yes,
        } => account(&args, verb, new_password_file, yes).await,
        Cmd::Call {
            to,
            duration,
            video,
            add_video_after,
            share,
            report,
        } => {
            let opts = CallOptions {
                duration,
                video,
                add_video_after,
                share: calls::ShareOptions::from_args(&share, None)?,
                report,
            };
            call(&args, &media, &to, opts).await
        }
        Cmd::Answer {
            from,
            duration,
            calls: count,
            video,
            share,
            report,
        } => {
            let opts = calls::AnswerOptions {
                duration,
                calls: count,
                video,
                // Shared once each call is up: never from the first picture.
                share: calls::ShareOptions::from_args(&share, Some(0.0))?,
                report,
            };
            answer(&args, &media, &from, opts).await
        }
    }
}

async fn connect(mut cfg: Config) -> Result<client::ClientHandle, CliError> {
    cfg.connect_timeout = Duration::from_secs(15);
    client::start(cfg).await.map_err(|e| match e {
        ClientError::Connect(c) => CliError(c.to_string()),
        other => CliError(other.to_string()),
    })
}

/// Waits for the first `Connected`; a fatal connection error ends the wait.
async fn wait_online(client: &mut client::ClientHandle) -> Result<String, CliError> {
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            ev = client.next_event() => match ev {
                Some(Event::Connected { jid, .. }) => return Ok(jid),
                Some(Event::ConnectionError { message, fatal: true }) => return Err(CliError(message)),
                Some(_) => {}
                None => return Err(CliError("the connection ended".into())),
            },
            _ = &mut deadline => return Err(CliError("timed out waiting for the session".into())),
        }
    }
}

async fn listen(
    args: &AccountArgs,
    duration: Option<f64>,
    accept_subscriptions: bool,
    show: Show,
    status: Option<String>,
) -> Result<(), CliError> {
    let mut stop = crate::signals::StopSignals::new();
    let mut cfg = config(args)?;
    cfg.presence = Some((show, status));
    let mut client = connect(cfg).await?;
    let sleep = async {
        match duration {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    let mut out = std::io::stdout();
    loop {
        tokio::select! {
            ev = client.next_event() => {
                let Some(ev) = ev else { return Err(CliError("the connection ended".into())) };
                if let Event::SubscriptionRequest { from } = &ev {
                    if accept_subscriptions {
                        if let Ok(jid) = BareJid::new(from) {
                            client.send(Command::AnswerSubscription { jid, accept: true });
                        }
                    }
                }
                if let Event::ConnectionError { message, fatal: true } = &ev {
                    return Err(CliError(message.clone()));
                }
                print_event(&mut out, &ev, args.json);
            }
            _ = &mut sleep => break,
            _ = stop.wait() => break,
        }
    }
    client.shutdown().await;
    Ok(())
}

fn history(args: &AccountArgs, peer: &str, limit: usize) -> Result<(), CliError> {
    let account = parse_jid(
        args.jid
            .as_deref()
            .ok_or_else(|| CliError("no account: use --jid user@domain".into()))?,
    )?;
    let peer = parse_jid(peer)?;
    let offline = banter::client::offline::Offline::open(&data_dir(args)?)?;
    let mut out = std::io::stdout();
    for message in offline.history(account.as_str(), peer.as_str(), limit)? {
        print_event(&mut out, &Event::Message { message }, args.json);
    }
    Ok(())
}

async fn contact(args: &AccountArgs, action: ContactAction) -> Result<(), CliError> {
    let mut cfg = config(args)?;
    cfg.presence = None;
    cfg.catch_up = false;
    cfg.autojoin = false;
    let mut client = connect(cfg).await?;
    wait_online(&mut client).await?;
    // The roster arrives first; then apply the change and wait for the server's push.
    let target = match &action {
        ContactAction::Add { jid, .. }
        | ContactAction::Remove { jid }
        | ContactAction::Rename { jid, .. } => Some(parse_jid(jid)?),
        ContactAction::List => None,
    };
    let mut out = std::io::stdout();
    let deadline = tokio::time::sleep(Duration::from_secs(20));
    tokio::pin!(deadline);
    let mut sent = false;
    let result = loop {
        tokio::select! {
            ev = client.next_event() => {
                let Some(ev) = ev else { break Err(CliError("the connection ended".into())) };
                match (&ev, &action, &target) {
                    (Event::Roster { .. }, ContactAction::List, _) => {
                        print_event(&mut out, &ev, args.json);
                        break Ok(());
                    }
                    (Event::Roster { .. }, _, Some(jid)) if !sent => {
                        sent = true;
                        client.send(match &action {
                            ContactAction::Add { name, .. } => Command::AddContact { jid: jid.clone(), name: name.clone() },
                            ContactAction::Remove { .. } => Command::RemoveContact { jid: jid.clone() },
                            ContactAction::Rename { name, .. } => Command::RenameContact { jid: jid.clone(), name: name.clone() },
                            ContactAction::List => unreachable!("handled above"),
                        });
                    }
                    (Event::ContactChanged { contact }, _, Some(jid)) if contact.jid == jid.as_str() => {
                        print_event(&mut out, &ev, args.json);
                        break Ok(());
                    }
                    (Event::ContactRemoved { jid: removed }, _, Some(jid)) if removed == jid.as_str() => {
                        print_event(&mut out, &ev, args.json);
                        break Ok(());
                    }
                    (Event::Error { message }, _, _) => break Err(CliError(message.clone())),
                    _ => {}
                }
            }
            _ = &mut deadline => break Err(CliError("the server did not confirm the roster change".into())),
        }
    };
    client.shutdown().await;
    result
}

/// Prints one event, as a JSON line (the contract in README.md) or as plain text.
pub fn print_event(out: &mut impl Write, ev: &Event, json: bool) {
    let line = if json {
        let v = client::to_json(ev);
        v.to_string()
    } else {
        match ev {
            Event::Connected { jid, resumed, .. } => {
                format!(
                    "connected as {jid}{}",
                    if *resumed { " (resumed)" } else { "" }
                )
            }
            Event::ConnectionLost => "connection lost, reconnecting…".into(),
            Event::ConnectionError { message, .. } => format!("error: {message}"),
            Event::Presence { from, show, status } => format!(
                "presence {from}: {}{}",
                show.as_str(),
                status
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ),
            Event::Message { message } => {
                let m = &message.meta;
                let body = if m.retracted {
                    "[retracted]".to_string()
                } else if m.edited {
                    format!("{} (edited)", message.body)
                } else {
                    message.body.clone()
                };
                let reactions: String = m
                    .reactions
                    .iter()
                    .map(|r| format!(" {}×{}", r.emoji, r.from.len()))
                    .collect();
                format!(
                    "{} {}: {body}{reactions}",
                    if message.direction == client::Direction::In {
                        "from"
                    } else {
                        "to"
                    },
                    message.peer,
                )
            }
            Event::SubscriptionRequest { from } => format!("{from} asks to see your presence"),
            Event::Roster { contacts } => {
                let mut s = format!("{} contacts", contacts.len());
                for c in contacts {
                    s.push_str(&format!(
                        "\n  {} {} [{}]",
                        c.jid,
                        c.name.clone().unwrap_or_default(),
                        c.subscription
                    ));
                }
                s
            }
            Event::ContactChanged { contact } => {
                format!("contact {} [{}]", contact.jid, contact.subscription)
            }
            Event::ContactRemoved { jid } => format!("contact {jid} removed"),
            Event::MessageDelivered { id } => format!("delivered {id}"),
            Event::MessageCorrected { message } => {
                format!("{} corrected a message: {}", message.from, message.body)
            }
            Event::MessageRetracted { peer, from, .. } => {
                format!("{from} retracted a message (conversation with {peer})")
            }
            Event::Reactions {
                from,
                reactions,
                id,
                ..
            } if reactions.is_empty() => format!("{from} took back their reactions to {id}"),
            Event::Reactions {
                from,
                reactions,
                id,
                ..
            } => format!("{from} reacted {} to {id}", reactions.join(" ")),
            Event::MessageDisplayed { peer, .. } => format!("{peer} read your messages"),
            Event::Avatar {
                jid,
                path: Some(path),
            } => format!("{jid}'s picture: {}", path.display()),
            Event::Avatar { jid, path: None } => format!("{jid} has no picture"),
            Event::Transfer {
                name, state, kind, ..
            } => match state {
                TransferState::Waiting => format!("{name}: waiting for the server"),
                TransferState::Progress {
                    done,
                    total: Some(t),
                } => format!("{name}: {}%", done * 100 / (*t).max(1)),
                TransferState::Progress { done, .. } => format!("{name}: {done} bytes"),
                TransferState::Done { url, path, .. } => match (kind, path) {
                    (client::TransferKind::Download, Some(p)) => {
                        format!("{name}: saved as {}", p.display())
                    }
                    _ => format!("{name}: uploaded to {}", url.as_deref().unwrap_or("?")),
                },
                TransferState::Failed { reason } => format!("{name}: {reason}"),
                TransferState::Cancelled => format!("{name}: cancelled"),
            },
            Event::Blocklist { jids } if jids.is_empty() => "you block nobody".into(),
            Event::Blocklist { jids } => format!("you block {}", jids.join(", ")),
            Event::Error { message } => format!("error: {message}"),
            other => match room_line(other) {
                Some(line) => line,
                None => return,
            },
        }
    };
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
