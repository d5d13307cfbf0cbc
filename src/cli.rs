//! The headless command line (see README.md): `send` and `listen` for now.
//! Exit status 0 when the command did what it was asked; otherwise one `error: ...`
//! line on stderr and a non-zero status.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use xmpp_parsers::jid::BareJid;

use crate::client::{
    self, CallDirection, CallStatus, ClientError, Command, Config, EndReason, Event,
};
use crate::xmpp::connect::parse_server;
use crate::xmpp::presence::Show;

#[derive(Parser, Debug)]
#[command(
    name = "banter",
    version,
    about = "Voice and video calls and chat over XMPP"
)]
pub struct Cli {
    #[command(flatten)]
    pub account: AccountArgs,
    #[command(flatten)]
    pub media: MediaArgs,
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Open the window on a private local server with an echo contact (no account
    /// needed; as the first-run button "Try it locally")
    #[arg(long)]
    pub try_locally: bool,
    /// Open the window creating the account given by --jid and its password on its
    /// server (XEP-0077), then signed in (as the first screen's "Create an account")
    #[arg(long)]
    pub create_account: bool,
}

#[derive(Args, Debug, Clone)]
pub struct AccountArgs {
    /// The account, e.g. alice@example.org
    #[arg(long, global = true)]
    pub jid: Option<String>,
    /// File holding the password (or set BANTER_PASSWORD)
    #[arg(long, global = true)]
    pub password_file: Option<PathBuf>,
    /// Connect to [tls:]HOST:PORT instead of looking up DNS SRV records (`tls:` for a
    /// direct-TLS port; without it, STARTTLS and then direct TLS are tried)
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// Also trust this CA certificate, or exactly this server certificate (PEM)
    #[arg(long, global = true)]
    pub ca_file: Option<PathBuf>,
    /// Settings and history directory
    #[arg(long, global = true)]
    pub config_dir: Option<PathBuf>,
    /// Resource to request (default: chosen by the server)
    #[arg(long, global = true)]
    pub resource: Option<String>,
    /// Print events as JSON lines
    #[arg(long, global = true)]
    pub json: bool,
}

/// Media options of the headless commands.
#[derive(Args, Debug, Clone)]
pub struct MediaArgs {
    /// What is sent: mic[:NAME], FILE.wav, tone:HZ or silence
    #[arg(long, global = true, default_value = "mic")]
    pub audio_in: String,
    /// Where received audio goes: speaker[:NAME], FILE.wav or null
    #[arg(long, global = true, default_value = "speaker")]
    pub audio_out: String,
    /// all, or relay (only TURN candidates: hides the local address)
    #[arg(long, global = true, default_value = "all")]
    pub ice_policy: String,
    /// Gather and accept ICE candidates only in this range (repeatable), e.g. 127.0.0.0/8
    #[arg(long, global = true)]
    pub ice_allow: Vec<String>,
    /// Turn off echo cancellation, noise suppression and gain control
    #[arg(long, global = true)]
    pub no_audio_processing: bool,
    /// What video is sent when the call has video: camera[:NAME], pattern or none
    #[arg(long, global = true, default_value = "camera")]
    pub video_in: String,
    /// Where received video goes: FILE.y4m (every picture, YUV4MPEG2) or null
    #[arg(long, global = true, default_value = "null")]
    pub video_out: String,
}

impl MediaArgs {
    /// The media configuration these options describe.
    pub fn config(&self) -> Result<banter_media::MediaConfig, CliError> {
        use banter_media::audio::sink::SinkSpec;
        use banter_media::audio::source::SourceSpec;
        let mut cfg = banter_media::MediaConfig::new(
            SourceSpec::parse(&self.audio_in)?,
            SinkSpec::parse(&self.audio_out)?,
        );
        cfg.relay_only = match self.ice_policy.as_str() {
            "all" => false,
            "relay" => true,
            other => {
                return Err(CliError(format!(
                    "invalid --ice-policy '{other}': use all or relay"
                )))
            }
        };
        cfg.allow = self
            .ice_allow
            .iter()
            .map(|c| banter_media::Cidr::parse(c))
            .collect::<Result<_, _>>()?;
        if self.no_audio_processing {
            cfg.processing = banter_media::audio::echo::Processing::off();
        }
        cfg.video_in = banter_media::video::VideoSourceSpec::parse(&self.video_in)?;
        cfg.video_out = banter_media::video::VideoSinkSpec::parse(&self.video_out);
        Ok(cfg)
    }
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Loop your microphone through the whole call pipeline to your speaker and measure
    /// the latency (no account needed)
    SoundTest {
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
    /// Send your camera through the whole video path of a call (VP8, RTP, decoding) and
    /// measure what comes out (no account needed); --video-out FILE.y4m keeps it
    CameraTest {
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
    /// List audio inputs and outputs (and cameras)
    Devices,
    /// Send one chat message; exits 0 once the server acknowledged it
    Send {
        /// Recipient (bare JID)
        to: String,
        #[arg(long)]
        body: String,
    },
    /// Stay online and print events (messages, presence, subscription requests)
    Listen {
        /// Stop after this many seconds
        #[arg(long)]
        duration: Option<f64>,
        /// Accept every subscription request (for bots and tests)
        #[arg(long)]
        accept_subscriptions: bool,
        /// Presence to announce: available, away, dnd, xa, chat
        #[arg(long, default_value = "available")]
        show: String,
        #[arg(long)]
        status: Option<String>,
    },
    /// Call someone: a bare JID rings all their devices; a full JID gets a direct
    /// session-initiate. Exits 0 when the call was answered and ended normally.
    Call {
        /// Who to call
        to: String,
        /// Hang up after this many seconds of active call (default: when the peer does)
        #[arg(long)]
        duration: Option<f64>,
        /// A video call (camera from --video-in)
        #[arg(long)]
        video: bool,
        /// Turn the camera on this many seconds into an audio call (adds video)
        #[arg(long)]
        add_video_after: Option<f64>,
    },
    /// Wait for calls and accept them (default only from contacts)
    Answer {
        /// Accept calls only from this JID (repeatable)
        #[arg(long)]
        from: Vec<String>,
        /// Hang up after this many seconds of active call
        #[arg(long)]
        duration: Option<f64>,
        /// Exit after this many calls have ended
        #[arg(long)]
        calls: Option<u32>,
        /// Answer with the camera on (--video-in)
        #[arg(long)]
        video: bool,
    },
    /// Print the local history with a contact (works offline)
    History {
        /// The contact (bare JID)
        peer: String,
        /// How many of the newest messages
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Create the account, save or forget its password in the OS keyring, change its
    /// password, or delete it from the server
    Account {
        #[arg(value_enum)]
        verb: AccountVerb,
        /// The new password, for `password` (a file holding it; or BANTER_NEW_PASSWORD)
        #[arg(long)]
        new_password_file: Option<PathBuf>,
        /// Confirms `delete`: the account and what the server keeps of it are gone
        #[arg(long)]
        yes: bool,
    },
    /// Manage the roster: add, remove or rename a contact
    Contact {
        /// add, remove, rename or list
        #[arg(value_enum)]
        verb: ContactVerb,
        /// The contact (for all but list). Not named `jid`: that would shadow --jid.
        contact: Option<String>,
        /// Its name (add, rename)
        #[arg(long)]
        name: Option<String>,
    },
}

/// What `banter account` does.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum AccountVerb {
    /// Create the account on its server (XEP-0077 in-band registration) with the
    /// password from --password-file/BANTER_PASSWORD, then sign in once
    Register,
    /// Sign in with --password-file/BANTER_PASSWORD, then store the password
    Save,
    /// Remove the stored password
    Forget,
    /// Change the password on the server (XEP-0077) to the one in --new-password-file
    /// (or BANTER_NEW_PASSWORD); a password stored in the keyring is updated too
    Password,
    /// Delete the account on the server (XEP-0077); needs --yes. Its stored password is
    /// forgotten; the history on this device is kept
    Delete,
}

/// What `banter contact` does.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ContactVerb {
    Add,
    Remove,
    Rename,
    List,
}

/// A roster change asked for on the command line.
#[derive(Debug)]
pub enum ContactAction {
    /// Add a contact and ask for its presence
    Add { jid: String, name: Option<String> },
    /// Remove a contact (and the subscriptions both ways)
    Remove { jid: String },
    /// Rename a contact
    Rename { jid: String, name: String },
    /// Print the roster
    List,
}

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
        Cmd::Send { to, body } => send(&args, &to, &body).await,
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
        } => {
            let opts = CallOptions {
                duration,
                video,
                add_video_after,
            };
            call(&args, &media, &to, opts).await
        }
        Cmd::Answer {
            from,
            duration,
            calls,
            video,
        } => answer(&args, &media, &from, duration, calls, video).await,
    }
}

/// `banter account save|forget`.
async fn account(
    args: &AccountArgs,
    verb: AccountVerb,
    new_password_file: Option<PathBuf>,
    yes: bool,
) -> Result<(), CliError> {
    let jid = args
        .jid
        .as_deref()
        .ok_or_else(|| CliError("no account: use --jid user@domain".into()))?;
    let jid = parse_jid(jid)?.to_string();
    match verb {
        AccountVerb::Register => {
            let mut cfg = config(args)?;
            cfg.password = given_password(args)?;
            cfg.connect_timeout = Duration::from_secs(15);
            client::register(&cfg)
                .await
                .map_err(|e| CliError(e.to_string()))?;
            // The new account works: sign in once.
            cfg.presence = None;
            cfg.catch_up = false;
            let mut client = connect(cfg).await?;
            wait_online(&mut client).await?;
            client.shutdown().await;
            println!("registered {jid}");
        }
        AccountVerb::Save => {
            let password = given_password(args)?;
            // Only a password that works is kept.
            let mut cfg = config(args)?;
            cfg.password = password.clone();
            cfg.presence = None;
            cfg.catch_up = false;
            let mut client = connect(cfg).await?;
            wait_online(&mut client).await?;
            client.shutdown().await;
            crate::secrets::save(&jid, &password).map_err(|e| CliError(e.to_string()))?;
            println!("the password of {jid} is saved in the OS keyring");
        }
        AccountVerb::Password => {
            let new =
                match (&new_password_file, std::env::var("BANTER_NEW_PASSWORD")) {
                    (Some(path), _) => std::fs::read_to_string(path)
                        .map_err(|e| {
                            CliError(format!("cannot read password file {}: {e}", path.display()))
                        })?
                        .trim_end_matches(['\r', '\n'])
                        .to_string(),
                    (None, Ok(p)) => p,
                    (None, Err(_)) => return Err(CliError(
                        "no new password: use --new-password-file FILE or set BANTER_NEW_PASSWORD"
                            .into(),
                    )),
                };
            if new.is_empty() {
                return Err(CliError("the new password is empty".into()));
            }
            let mut client = signed_in_once(args).await?;
            client.send(Command::ChangePassword {
                password: new.clone(),
            });
            let answer = account_answer(&mut client).await;
            client.shutdown().await;
            answer?;
            // A stored password that no longer works would be worse than none.
            if matches!(crate::secrets::load(&jid), Ok(Some(_))) {
                crate::secrets::save(&jid, &new).map_err(|e| CliError(e.to_string()))?;
            }
            println!("the password of {jid} is changed");
        }
        AccountVerb::Delete => {
            if !yes {
                return Err(CliError(format!(
                    "deleting {jid} removes the account from its server for good: add --yes"
                )));
            }
            let mut client = signed_in_once(args).await?;
            client.send(Command::DeleteAccount);
            let answer = account_answer(&mut client).await;
            client.shutdown().await;
            answer?;
            let _ = crate::secrets::forget(&jid);
            println!("{jid} is deleted from its server");
        }
        AccountVerb::Forget => {
            match crate::secrets::forget(&jid).map_err(|e| CliError(e.to_string()))? {
                true => println!("the password of {jid} is removed from the OS keyring"),
                false => println!("no password of {jid} was stored"),
            }
        }
    }
    Ok(())
}

/// Signed in for one account operation: no presence, no catch-up.
async fn signed_in_once(args: &AccountArgs) -> Result<client::ClientHandle, CliError> {
    let mut cfg = config(args)?;
    cfg.presence = None;
    cfg.catch_up = false;
    let mut client = connect(cfg).await?;
    wait_online(&mut client).await?;
    Ok(client)
}

/// The server's answer to a password change or deletion.
async fn account_answer(client: &mut client::ClientHandle) -> Result<(), CliError> {
    let wait = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match client.next_event().await {
                Some(Event::PasswordChanged | Event::AccountDeleted) => return Ok(()),
                Some(Event::AccountRefused { message }) => return Err(CliError(message)),
                Some(Event::ConnectionError {
                    message,
                    fatal: true,
                }) => return Err(CliError(message)),
                Some(_) => {}
                None => return Err(CliError("the connection ended".into())),
            }
        }
    });
    wait.await
        .unwrap_or_else(|_| Err(CliError("the server did not answer".into())))
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

async fn send(args: &AccountArgs, to: &str, body: &str) -> Result<(), CliError> {
    let to = parse_jid(to)?;
    let mut cfg = config(args)?;
    cfg.presence = None;
    cfg.catch_up = false;
    let mut client = connect(cfg).await?;
    wait_online(&mut client).await?;
    let id = client::new_id();
    client.send(Command::SendMessage {
        id: id.clone(),
        to,
        body: body.to_string(),
    });
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    let result = loop {
        tokio::select! {
            ev = client.next_event() => match ev {
                Some(Event::MessageAcked { id: acked }) if acked == id => break Ok(()),
                Some(Event::MessageFailed { id: failed, error }) if failed == id => break Err(CliError(error)),
                Some(Event::ConnectionError { message, fatal: true }) => break Err(CliError(message)),
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

async fn sound_test(media: &MediaArgs, duration: f64, json: bool) -> Result<(), CliError> {
    let cfg = media.config()?;
    let mut out = std::io::stdout();
    let report = crate::soundtest::run(
        cfg.audio_in,
        cfg.audio_out,
        cfg.processing,
        Duration::from_secs_f64(duration.max(0.5)),
        |s| {
            if json {
                let _ = writeln!(out, "{}", client::stats_json(None, s));
            }
        },
    )
    .await?;
    if json {
        println!(
            "{}",
            json!({"event": "sound-test", "latency_ms": report.latency_ms,
                   "level_in_max": report.level_in_max, "level_out_max": report.level_out_max,
                   "packets": report.packets})
        );
    } else {
        println!(
            "one-way latency {:.1} ms (capture to playout, device buffers not included); \
             loudest input {:.0} dBFS, loudest output {:.0} dBFS",
            report.latency_ms, report.level_in_max, report.level_out_max
        );
    }
    Ok(())
}

async fn camera_test(media: &MediaArgs, duration: f64, json: bool) -> Result<(), CliError> {
    let cfg = media.config()?;
    let mut out = std::io::stdout();
    let r = crate::cameratest::run(
        cfg.video_in,
        cfg.video_out,
        Duration::from_secs_f64(duration.max(1.0)),
        |s| {
            if json {
                let _ = writeln!(out, "{}", client::stats_json(None, s));
            }
        },
    )
    .await?;
    if json {
        let mut v = serde_json::to_value(&r).unwrap_or_default();
        v["event"] = json!("camera-test");
        println!("{v}");
    } else {
        println!(
            "{}: captured at {}x{}, {} fps; after VP8 and RTP {} pictures of {}x{} came \
             through at {:.1} fps, {:.0} kbit/s",
            r.camera,
            r.capture_width,
            r.capture_height,
            r.capture_fps,
            r.frames_decoded,
            r.width,
            r.height,
            r.fps,
            r.send_kbps
        );
    }
    Ok(())
}

fn devices(json: bool) {
    let (inputs, outputs) = banter_media::audio::list_devices();
    let cameras: Vec<String> = banter_media::video::camera::list()
        .into_iter()
        .map(|c| format!("{} ({})", c.name, c.path))
        .collect();
    if json {
        println!(
            "{}",
            json!({"event": "devices", "inputs": inputs, "outputs": outputs, "cameras": cameras})
        );
        return;
    }
    let show = |title: &str, v: &[String]| {
        println!("{title}:");
        if v.is_empty() {
            println!("  (none found)");
        }
        for d in v {
            println!("  {d}");
        }
    };
    show("audio inputs", &inputs);
    show("audio outputs", &outputs);
    show("cameras", &cameras);
}

/// Whether the event belongs to a call (printed by the call commands).
fn is_call_event(ev: &Event) -> bool {
    matches!(
        ev,
        Event::Call { .. }
            | Event::CallStats { .. }
            | Event::CallInfo { .. }
            | Event::CallVideo { .. }
    )
}

fn print_call_event(ev: &Event, json: bool) {
    if json {
        if is_call_event(ev) {
            println!("{}", client::to_json(ev));
        }
        return;
    }
    match ev {
        Event::Call {
            peer,
            state,
            reason,
            ..
        } => match reason {
            Some(r) => println!("call with {peer}: {state} ({r})"),
            None => println!("call with {peer}: {state}"),
        },
        Event::CallStats { stats, .. } => println!(
            "rtt {} ms, loss {:.1} %, jitter {:.1} ms, {:.0}/{:.0} kb/s",
            stats
                .rtt_ms
                .map(|r| format!("{r:.1}"))
                .unwrap_or_else(|| "?".into()),
            stats.loss_pct,
            stats.jitter_ms,
            stats.send_kbps,
            stats.recv_kbps
        ),
        Event::CallInfo { info, .. } => println!("the peer: {info}"),
        Event::CallVideo { width, height, .. } => println!("video from the peer: {width}x{height}"),
        _ => {}
    }
}

/// What a person reads when a call did not go well.
fn call_failure(peer: &str, reason: &str) -> String {
    match reason {
        "decline" => format!("{peer} declined the call"),
        "busy" => format!("{peer} is busy"),
        "timeout" => format!("{peer} did not answer"),
        "cancel" => "the call was cancelled".to_string(),
        "connectivity-error" => format!("no network path to {peer} (ICE failed)"),
        "security-error" => format!(
            "security error: {peer}'s media certificate did not match the signaled fingerprint"
        ),
        other => format!("the call with {peer} ended: {other}"),
    }
}

/// What `banter call` was asked for besides whom to call.
struct CallOptions {
    duration: Option<f64>,
    video: bool,
    add_video_after: Option<f64>,
}

async fn call(
    args: &AccountArgs,
    media: &MediaArgs,
    to: &str,
    opts: CallOptions,
) -> Result<(), CliError> {
    let to = xmpp_parsers::jid::Jid::new(to)
        .map_err(|e| CliError(format!("invalid JID '{to}': {e}")))?;
    if to.node().is_none() {
        return Err(CliError(format!(
            "invalid JID '{to}': expected user@domain"
        )));
    }
    let mut stop = crate::signals::StopSignals::new();
    let mut cfg = config(args)?;
    cfg.media = Some(media.config()?);
    let mut client = connect(cfg).await?;
    wait_online(&mut client).await?;
    let id = client::new_id();
    client.send(Command::Call {
        id: id.clone(),
        to: to.clone(),
        video: opts.video,
    });
    let mut hangup_at: Option<tokio::time::Instant> = None;
    let mut video_at: Option<tokio::time::Instant> = None;
    let mut was_active = false;
    let result = loop {
        let sleep = async {
            match hangup_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let add_video = async {
            match video_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = client.next_event() => {
                let Some(ev) = ev else { break Err(CliError("the connection ended".into())) };
                print_call_event(&ev, args.json);
                match ev {
                    Event::Call { id: cid, state, reason, .. } if cid == id => match state {
                        CallStatus::Active if !was_active => {
                            was_active = true;
                            let now = tokio::time::Instant::now();
                            if let Some(d) = opts.duration {
                                hangup_at = Some(now + Duration::from_secs_f64(d));
                            }
                            if let Some(d) = opts.add_video_after {
                                video_at = Some(now + Duration::from_secs_f64(d));
                            }
                        }
                        CallStatus::Ended => {
                            let reason = reason.map(EndReason::as_str).unwrap_or_default();
                            if was_active && reason == "success" {
                                break Ok(());
                            }
                            break Err(CliError(call_failure(&to.to_bare().to_string(), reason)));
                        }
                        _ => {}
                    },
                    Event::Error { message } if args.json => {
                        println!("{}", json!({"event": "error", "message": message}));
                    }
                    Event::Error { message } => eprintln!("warning: {message}"),
                    Event::ConnectionError { message, fatal: true } => break Err(CliError(message)),
                    _ => {}
                }
            }
            _ = sleep => {
                hangup_at = None;
                client.send(Command::Hangup { id: id.clone() });
            }
            _ = add_video => {
                video_at = None;
                client.send(Command::SetCamera { id: id.clone(), on: true });
            }
            _ = stop.wait() => client.send(Command::Hangup { id: id.clone() }),
        }
    };
    client.shutdown().await;
    result
}

async fn answer(
    args: &AccountArgs,
    media: &MediaArgs,
    from: &[String],
    duration: Option<f64>,
    calls: Option<u32>,
    video: bool,
) -> Result<(), CliError> {
    let mut stop = crate::signals::StopSignals::new();
    let mut cfg = config(args)?;
    cfg.media = Some(media.config()?);
    cfg.call_policy.allowed = from
        .iter()
        .map(|f| parse_jid(f))
        .collect::<Result<_, _>>()?;
    cfg.call_policy.only_allowed = !from.is_empty();
    let mut client = connect(cfg).await?;
    let mut out = std::io::stdout();
    let mut hangups: Vec<(tokio::time::Instant, String)> = Vec::new();
    let mut ended = 0u32;
    let mut failures = Vec::new();
    loop {
        let next_hangup = hangups.iter().map(|(t, _)| *t).min();
        let sleep = async {
            match next_hangup {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = client.next_event() => {
                let Some(ev) = ev else { return Err(CliError("the connection ended".into())) };
                if is_call_event(&ev) {
                    print_call_event(&ev, args.json);
                } else {
                    print_event(&mut out, &ev, args.json);
                }
                match ev {
                    Event::Call { id, state, direction, reason, peer, .. } => match state {
                        CallStatus::Ringing if direction == CallDirection::In => {
                            client.send(Command::AcceptCall { id, video });
                        }
                        CallStatus::Active => {
                            if let Some(d) = duration {
                                hangups.push((tokio::time::Instant::now() + Duration::from_secs_f64(d), id));
                            }
                        }
                        CallStatus::Ended => {
                            hangups.retain(|(_, h)| *h != id);
                            let reason = reason.map(EndReason::as_str).unwrap_or_default();
                            if reason != "success" {
                                failures.push(call_failure(&peer, reason));
                            }
                            ended += 1;
                            if calls.is_some_and(|n| ended >= n) {
                                break;
                            }
                        }
                        _ => {}
                    },
                    Event::ConnectionError { message, fatal: true } => return Err(CliError(message)),
                    _ => {}
                }
            }
            _ = sleep => {
                let now = tokio::time::Instant::now();
                for (_, id) in hangups.iter().filter(|(t, _)| *t <= now) {
                    client.send(Command::Hangup { id: id.clone() });
                }
                hangups.retain(|(t, _)| *t > now);
            }
            _ = stop.wait() => break,
        }
    }
    client.shutdown().await;
    match failures.pop() {
        Some(f) => Err(CliError(f)),
        None => Ok(()),
    }
}

fn history(args: &AccountArgs, peer: &str, limit: usize) -> Result<(), CliError> {
    let account = parse_jid(
        args.jid
            .as_deref()
            .ok_or_else(|| CliError("no account: use --jid user@domain".into()))?,
    )?;
    let peer = parse_jid(peer)?;
    let store = crate::store::Store::open_dir(&data_dir(args)?)?;
    let mut out = std::io::stdout();
    for message in store.history(account.as_str(), peer.as_str(), None, limit)? {
        print_event(&mut out, &Event::Message { message }, args.json);
    }
    Ok(())
}

async fn contact(args: &AccountArgs, action: ContactAction) -> Result<(), CliError> {
    let mut cfg = config(args)?;
    cfg.presence = None;
    cfg.catch_up = false;
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
            Event::Connected { jid, resumed } => {
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
            Event::Message { message } => format!(
                "{} {}: {}",
                if message.direction == crate::store::Direction::In {
                    "from"
                } else {
                    "to"
                },
                message.peer,
                message.body
            ),
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
            Event::Error { message } => format!("error: {message}"),
            _ => return,
        }
    };
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
