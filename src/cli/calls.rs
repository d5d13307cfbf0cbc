//! `banter call` and `banter answer`, and how their events are printed.

use super::*;
use banter::client::CallInfo;
use banter_media::video::screen::ScreenSpec;

/// Whether the event belongs to a call (printed by the call commands).
pub(super) fn is_call_event(ev: &Event) -> bool {
    matches!(
        ev,
        Event::Call { .. }
            | Event::CallStats { .. }
            | Event::CallInfo { .. }
            | Event::CallSignal { .. }
            | Event::CallVideo { .. }
            | Event::CallOmemo { .. }
            | Event::ScreenShare { .. }
    )
}

pub(super) fn print_call_event(ev: &Event, json: bool) {
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
        Event::CallInfo {
            info: CallInfo::Reconnecting,
            ..
        } => println!("the network path to the peer is lost: reconnecting"),
        Event::CallInfo {
            info: CallInfo::Reconnected,
            ..
        } => println!("reconnected"),
        Event::CallInfo { info, .. } => println!("the peer: {info}"),
        Event::CallVideo {
            width,
            height,
            codec,
            ..
        } => println!("video from the peer: {width}x{height} ({codec})"),
        Event::ScreenShare { sharing: true, .. } => println!("sharing your screen"),
        Event::ScreenShare {
            sharing: false,
            reason: Some(r),
            ..
        } => println!("not sharing your screen: {r}"),
        Event::ScreenShare { .. } => println!("screen sharing stopped"),
        Event::CallOmemo { verified: true, .. } => {
            println!("the call is verified: the peer's key is one you verified (OMEMO)")
        }
        Event::CallOmemo {
            device_id, trust, ..
        } => println!(
            "the call is tied to the peer's OMEMO device {device_id} ({trust}, not verified)"
        ),
        _ => {}
    }
}

/// What a person reads when a call did not go well.
pub(super) fn call_failure(peer: &str, reason: &str) -> String {
    match reason {
        "decline" => format!("{peer} declined the call"),
        "busy" => format!("{peer} is busy"),
        "timeout" => format!("{peer} did not answer"),
        "cancel" => "the call was cancelled".to_string(),
        "connectivity-error" => format!("no network path to {peer} (ICE failed)"),
        "security-error" => format!(
            "security error: {peer}'s media certificate did not match the signaled fingerprint, or that fingerprint failed its OMEMO check"
        ),
        other => format!("the call with {peer} ended: {other}"),
    }
}

/// What `banter call` was asked for besides whom to call.
pub(super) struct CallOptions {
    pub(super) duration: Option<f64>,
    pub(super) video: bool,
    pub(super) add_video_after: Option<f64>,
    pub(super) share: Option<ShareOptions>,
    pub(super) report: Option<PathBuf>,
}

/// What `banter answer` was asked for besides whom to answer.
pub(super) struct AnswerOptions {
    pub(super) duration: Option<f64>,
    pub(super) calls: Option<u32>,
    pub(super) video: bool,
    pub(super) share: Option<ShareOptions>,
    pub(super) report: Option<PathBuf>,
}

/// `--share-screen` and its timing.
pub(super) struct ShareOptions {
    screen: ScreenSpec,
    /// Seconds into the call; `None`: the screen is the video from the start.
    after: Option<f64>,
    stop_after: Option<f64>,
}

impl ShareOptions {
    /// From the command line; `after` when --share-screen-after is not given.
    pub(super) fn from_args(
        a: &super::args::ShareArgs,
        after: Option<f64>,
    ) -> Result<Option<ShareOptions>, CliError> {
        a.share_screen
            .as_deref()
            .map(|s| Self::parse(s, a.share_screen_after.or(after), a.stop_sharing_after))
            .transpose()
    }

    pub(super) fn parse(
        source: &str,
        after: Option<f64>,
        stop_after: Option<f64>,
    ) -> Result<ShareOptions, CliError> {
        let screen = ScreenSpec::parse(&format!("screen:{source}")).ok_or_else(|| {
            CliError(format!(
                "invalid --share-screen '{source}': use monitor, monitor:N, window:NAME or portal"
            ))
        })?;
        if let (Some(stop), start) = (stop_after, after.unwrap_or(0.0)) {
            if stop <= start {
                return Err(CliError(format!(
                    "--stop-sharing-after {stop} must come after the sharing starts ({start} s)"
                )));
            }
        }
        Ok(ShareOptions {
            screen,
            after,
            stop_after,
        })
    }
}

/// Sleeps until `t`; forever when there is none.
async fn at_or_never(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

pub(super) async fn call(
    args: &AccountArgs,
    media: &MediaArgs,
    to: &str,
    mut opts: CallOptions,
) -> Result<(), CliError> {
    let to =
        banter::client::Jid::new(to).map_err(|e| CliError(format!("invalid JID '{to}': {e}")))?;
    if to.node().is_none() {
        return Err(CliError(format!(
            "invalid JID '{to}': expected user@domain"
        )));
    }
    let mut stop = crate::signals::StopSignals::new();
    let mut cfg = config(args)?;
    let mut media_cfg = media.config()?;
    let mut video = opts.video;
    if let Some(share) = opts.share.as_mut().filter(|s| s.after.is_none()) {
        // The screen is the call's video from the first picture. On Wayland the
        // desktop's dialog picks it, before the call is placed (Ctrl-C closes it).
        let ready = tokio::select! {
            r = banter_media::video::screen::prepare(share.screen.clone()) => r,
            _ = stop.wait() => return Err(CliError("stopped while the desktop's dialog was open".into())),
        };
        let screen = ready.map_err(|e| CliError(e.to_string()))?;
        video = true;
        if screen.is_portal() {
            // The portal's grant is shared once the call is up, not kept in the
            // call's settings: stopping the sharing then ends the portal's session.
            share.screen = screen;
            share.after = Some(0.0);
            media_cfg.video_in = banter_media::video::VideoSourceSpec::None;
        } else {
            media_cfg.video_in = banter_media::video::VideoSourceSpec::Screen(screen);
        }
    }
    cfg.media = Some(media_cfg);
    cfg.autojoin = false;
    let mut client = connect(cfg).await?;
    wait_online(&mut client).await?;
    let id = client::new_id();
    client.send(Command::Call {
        id: id.clone(),
        to: to.clone(),
        video,
    });
    let mut share_at: Option<tokio::time::Instant> = None;
    let mut unshare_at: Option<tokio::time::Instant> = None;
    let mut hangup_at: Option<tokio::time::Instant> = None;
    let mut video_at: Option<tokio::time::Instant> = None;
    let mut was_active = false;
    let mut reports = super::report::Reports::new(opts.report.clone());
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
        let share = at_or_never(share_at);
        let unshare = at_or_never(unshare_at);
        tokio::select! {
            ev = client.next_event() => {
                let Some(ev) = ev else { break Err(CliError("the connection ended".into())) };
                print_call_event(&ev, args.json);
                if let Err(e) = reports.on(&ev) {
                    break Err(e);
                }
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
                            if let Some(s) = &opts.share {
                                let at = |d| now + Duration::from_secs_f64(d);
                                share_at = s.after.map(at);
                                unshare_at = s.stop_after.map(at);
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
            _ = share => {
                share_at = None;
                let screen = opts.share.as_ref().map(|s| s.screen.clone());
                client.send(Command::ShareScreen { id: id.clone(), screen });
            }
            _ = unshare => {
                unshare_at = None;
                client.send(Command::ShareScreen { id: id.clone(), screen: None });
            }
            _ = stop.wait() => client.send(Command::Hangup { id: id.clone() }),
        }
    };
    client.shutdown().await;
    reports.finish()?;
    result
}

pub(super) async fn answer(
    args: &AccountArgs,
    media: &MediaArgs,
    from: &[String],
    opts: AnswerOptions,
) -> Result<(), CliError> {
    let AnswerOptions {
        duration,
        calls,
        video,
        share,
        report,
    } = opts;
    let mut reports = super::report::Reports::new(report);
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
    // Each call's screen sharing to start (`Some`) or stop (`None`), and when.
    let mut sharing: Vec<(tokio::time::Instant, String, Option<ScreenSpec>)> = Vec::new();
    let mut up = std::collections::HashSet::new();
    let mut ended = 0u32;
    let mut failures = Vec::new();
    loop {
        let next_share = at_or_never(sharing.iter().map(|(t, ..)| *t).min());
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
                reports.on(&ev)?;
                match ev {
                    Event::Call { id, state, direction, reason, peer, .. } => match state {
                        CallStatus::Ringing if direction == CallDirection::In => {
                            client.send(Command::AcceptCall { id, video });
                        }
                        // Said again when the call's media change (video added).
                        CallStatus::Active if !up.insert(id.clone()) => {}
                        CallStatus::Active => {
                            let at = |s: f64| tokio::time::Instant::now() + Duration::from_secs_f64(s);
                            if let Some(s) = &share {
                                sharing.extend(s.after.map(|a| (at(a), id.clone(), Some(s.screen.clone()))));
                                sharing.extend(s.stop_after.map(|a| (at(a), id.clone(), None)));
                            }
                            if let Some(d) = duration {
                                hangups.push((at(d), id));
                            }
                        }
                        CallStatus::Ended => {
                            hangups.retain(|(_, h)| *h != id);
                            sharing.retain(|(_, s, _)| *s != id);
                            up.remove(&id);
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
            _ = next_share => {
                let now = tokio::time::Instant::now();
                for (_, id, screen) in sharing.iter().filter(|(t, ..)| *t <= now) {
                    client.send(Command::ShareScreen { id: id.clone(), screen: screen.clone() });
                }
                sharing.retain(|(t, ..)| *t > now);
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
    reports.finish()?;
    match failures.pop() {
        Some(f) => Err(CliError(f)),
        None => Ok(()),
    }
}
