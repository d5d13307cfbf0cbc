//! Screen sharing end to end: a known page of text with a changing frame number on an
//! Xvfb screen, shared by the real `banter call --video-in screen…` through a real
//! Prosody to a Banter that records what it decodes. The recording is read back: the
//! numbers in order, the picture compared with the page (PSNR), the pointer drawn.
//! On Wayland the same page reaches Banter through a real PipeWire, granted by a
//! stand-in for the desktop's portal (support/portal.rs).

#[path = "support/portal.rs"]
mod portal;
mod support;

use std::time::Duration;

use banter_media::video::{convert::bgrx_to_i420, pattern, y4m, I420};
use portal::{Answer, PipewireDesktop, Portal};
use serde_json::Value;
use support::screen::{picture, psnr, TestScreen, H, W};
use support::{media_args, Proc, Prosody, SessionBus, User, Xvfb};

const T: Duration = Duration::from_secs(60);
/// Where the pointer rests: a blank part of the page.
const POINTER: (i16, i16) = (1100, 620);

fn answering(bob: &User, alice: &User, y4m: &str) -> Proc {
    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend(media_args("silence", "null"));
    args.extend(["--video-out", y4m]);
    let mut p = Proc::spawn(bob.banter(&args));
    p.wait_for("bob online", T, |v| v["event"] == "caught_up");
    p
}

/// Alice shares `source` on `x` in a video call of `secs` seconds; Bob records it.
/// Both their events.
fn share(x: &Xvfb, source: &str, secs: &str, y4m: &str) -> (Vec<Value>, Vec<Value>) {
    share_while(x, &["--video", "--video-in", source], secs, y4m, || {})
}

/// Alice calls Bob for `secs` seconds with `sharing` (the options that share her
/// screen on `x`); Bob records what he gets to `y4m`; `during` runs once the call is
/// up. Both their events, each side checked to have ended well.
fn share_while(
    x: &Xvfb,
    sharing: &[&str],
    secs: &str,
    y4m: &str,
    during: impl FnOnce(),
) -> (Vec<Value>, Vec<Value>) {
    let on_x = |cmd: &mut std::process::Command| {
        cmd.env("DISPLAY", &x.display).env_remove("WAYLAND_DISPLAY");
    };
    share_on(on_x, sharing, secs, y4m, during)
}

/// The same on the desktop `env` sets up (X11, or Wayland with its portal).
fn share_on(
    env: impl FnOnce(&mut std::process::Command),
    sharing: &[&str],
    secs: &str,
    y4m: &str,
    during: impl FnOnce(),
) -> (Vec<Value>, Vec<Value>) {
    let server = Prosody::start();
    let (alice, bob) = (server.user("alice"), server.user("bob"));
    let bob_proc = answering(&bob, &alice, y4m);
    let mut args = vec!["call", bob.jid.as_str(), "--duration", secs];
    args.extend(sharing);
    args.extend(media_args("silence", "null"));
    let mut cmd = alice.banter(&args);
    env(&mut cmd);
    let mut alice_proc = Proc::spawn(cmd);
    alice_proc.wait_for("the call up", T, |e| {
        e["event"] == "call" && e["state"] == "active"
    });
    during();
    let (ok, a_events) = alice_proc.finish(T);
    assert!(ok, "alice's call failed: {a_events:#?}");
    let (ok, b_events) = bob_proc.finish(T);
    assert!(ok, "bob's answer failed: {b_events:#?}");
    (a_events, b_events)
}

/// The pointer's neighbourhood, where the picture is the pointer's, not the page's.
fn near_pointer(x: usize, y: usize) -> bool {
    let (px, py) = (POINTER.0 as usize, POINTER.1 as usize);
    x + 24 >= px && x <= px + 40 && y + 24 >= py && y <= py + 40
}

/// The whole screen (1280x720) shared for 8 s: Bob decodes it at full size; the frame
/// numbers arrive in order; once the encoder has settled (the last 2 s), every picture
/// matches the page at 35 dB or better; the pointer is drawn where it rests.
#[test]
fn a_shared_screen_arrives_sharp_in_order_with_the_pointer() {
    let x = Xvfb::start_sized("1280x720x24");
    let page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("bob-saw.y4m");
    let (a_events, b_events) = share(&x, "screen", "8", rec.to_str().unwrap());
    assert!(page.shown.load(std::sync::atomic::Ordering::Relaxed) > 50);
    // In VP9: both sides have it.
    assert_eq!(videos_seen(&b_events), [(1280, 720, "VP9".into())]);
    assert!(
        a_events
            .iter()
            .filter(|e| e["event"] == "stats" && e["video_frames_sent"].as_u64() > Some(0))
            .all(|e| e["video_send_codec"] == "VP9"),
        "{a_events:#?}"
    );
    assert_screen_rate(&a_events);

    let data = std::fs::read(&rec).unwrap();
    let (w, h, frames) = y4m::read_y4m(&data).expect("a Y4M recording");
    assert_eq!((w, h), (W, H));
    let numbers: Vec<u32> = frames.iter().map(|f| pattern::read(f.y, w)).collect();
    eprintln!("{} pictures, numbers {numbers:?}", numbers.len());
    assert!(
        numbers.windows(2).all(|p| p[1] >= p[0] && p[1] - p[0] <= 4),
        "numbers out of order or stuck: {numbers:?}"
    );
    let mut distinct = numbers.clone();
    distinct.dedup();
    assert!(distinct.len() >= 40, "{} distinct numbers", distinct.len());

    // The last 2 s (the screen sends at least 5 pictures a second).
    let settled = &frames[frames.len().saturating_sub(10)..];
    let mut worst = f64::MAX;
    let mut want = I420::new(W, H);
    for (f, n) in settled
        .iter()
        .zip(&numbers[numbers.len() - settled.len()..])
    {
        bgrx_to_i420(&picture(*n), W * 4, &mut want);
        let db = psnr(f.y, &want.y, near_pointer);
        worst = worst.min(db);
    }
    eprintln!(
        "worst PSNR of the last {} pictures: {worst:.1} dB",
        settled.len()
    );
    assert!(worst >= 35.0, "{worst:.1} dB");

    // The pointer: dark pixels where the page is blank.
    let last = frames.last().unwrap();
    let (px, py) = (POINTER.0 as usize, POINTER.1 as usize);
    let darkest = (py - 8..py + 8)
        .flat_map(|y| (px - 8..px + 8).map(move |x| y * W + x))
        .map(|i| last.y[i])
        .min()
        .unwrap();
    assert!(darkest < 100, "no pointer drawn (darkest luma {darkest})");
}

/// Alice sent 5 to 15 pictures a second (the screen profile), from her stats (one a
/// second, with the pictures sent so far).
fn assert_screen_rate(a_events: &[Value]) {
    let sent: Vec<u64> = a_events
        .iter()
        .filter(|e| e["event"] == "stats")
        .filter_map(|e| e["video_frames_sent"].as_u64())
        .collect();
    let kbps: Vec<f64> = a_events
        .iter()
        .filter_map(|e| e["video_send_kbps"].as_f64())
        .collect();
    let fps: Vec<u64> = sent.windows(2).map(|p| p[1] - p[0]).collect();
    eprintln!("alice sent {fps:?} pictures a second, at {kbps:?} kbit/s");
    assert!(fps.len() >= 5, "{fps:?}");
    assert!(fps[1..].iter().all(|f| (4..=16).contains(f)), "{fps:?}");
}

/// Bob saw the page (at least `numbers` distinct frame numbers, in order, at full
/// size), then the camera-off pictures (at the camera's size): the sharing ended.
fn assert_page_then_camera_off(rec: &std::path::Path, b_events: &[Value], numbers: usize) {
    let seen = numbers_in_order(rec);
    assert!(seen.len() >= numbers, "{seen:?}");
    let sizes = sizes_seen(b_events);
    assert!(sizes.contains(&(1280, 720)), "{sizes:?}");
    assert_eq!(sizes.last(), Some(&(640, 480)), "{sizes:?}");
    // The screen in VP9, the camera's (off) pictures in VP8 again.
    let videos = videos_seen(b_events);
    assert!(videos.contains(&(1280, 720, "VP9".into())), "{videos:?}");
    assert_eq!(videos.last(), Some(&(640, 480, "VP8".into())), "{videos:?}");
}

/// Bob's `call_video` events: each size and codec he started to decode.
fn videos_seen(events: &[Value]) -> Vec<(u64, u64, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "call_video")
        .filter_map(|e| {
            Some((
                e["width"].as_u64()?,
                e["height"].as_u64()?,
                e["codec"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Bob's stats: the size of the video he decodes, second by second.
fn sizes_seen(events: &[Value]) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter(|e| e["event"] == "stats")
        .filter_map(|e| Some((e["video_width"].as_u64()?, e["video_height"].as_u64()?)))
        .collect()
}

/// The distinct frame numbers of the recording (full-size pictures only), checked to
/// be in order.
fn numbers_in_order(rec: &std::path::Path) -> Vec<u32> {
    let data = std::fs::read(rec).unwrap();
    let (w, h, frames) = y4m::read_y4m(&data).expect("a Y4M recording");
    assert_eq!((w, h), (W, H));
    let mut numbers: Vec<u32> = frames.iter().map(|f| pattern::read(f.y, w)).collect();
    assert!(
        numbers.windows(2).all(|p| p[1] >= p[0] && p[1] - p[0] <= 4),
        "numbers out of order or stuck: {numbers:?}"
    );
    numbers.dedup();
    numbers
}

/// A window shared by its title; the window is closed three seconds into the call:
/// sharing stops by itself (Alice is told why), the call goes on, and what Bob gets
/// is no longer the window.
#[test]
fn closing_the_shared_window_stops_sharing_and_the_call_goes_on() {
    let x = Xvfb::start_sized("1280x720x24");
    let page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("bob-saw.y4m");
    let sharing = ["--share-screen", "window:test page"];
    let (a_events, b_events) = share_while(&x, &sharing, "8", rec.to_str().unwrap(), || {
        std::thread::sleep(Duration::from_secs(3));
        page.close();
    });
    let ended = shares(&a_events);
    assert_eq!(ended.len(), 1, "{ended:#?}");
    assert!(!ended[0].0);
    let reason = ended[0].1.as_deref().unwrap_or_default();
    assert!(reason.contains("window was closed"), "{reason}");
    // Bob saw the window, then the camera-off pictures (at the camera's size).
    assert_page_then_camera_off(&rec, &b_events, 15);
}

/// An audio call; two seconds in Alice shares her screen (video added by
/// content-add), and stops four seconds later: Bob sees the screen in between, and
/// the call ends normally.
#[test]
fn a_screen_shared_into_an_audio_call_and_stopped() {
    let x = Xvfb::start_sized("1280x720x24");
    let _page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("bob-saw.y4m");
    let mut sharing = vec!["--share-screen", "--share-screen-after", "2"];
    sharing.extend(["--stop-sharing-after", "6"]);
    let (a_events, b_events) = share_while(&x, &sharing, "9", rec.to_str().unwrap(), || {});
    assert_eq!(
        shares(&a_events),
        [(true, None), (false, None)],
        "{a_events:#?}"
    );
    assert!(
        b_events
            .iter()
            .any(|e| e["event"] == "call" && e["media"] == serde_json::json!(["audio", "video"])),
        "video was never added: {b_events:#?}"
    );
    assert_page_then_camera_off(&rec, &b_events, 20);
}

/// A full-HD screen keeps its frame rate. Its pictures are large enough that sending
/// a keyframe at once lost it (webrtc-rs batched 53 datagrams into one GSO send over
/// the kernel's limit, and the burst overflowed the receiver); the call then fell to
/// a picture every few seconds. Now Bob decodes 1920x1080 at 10 fps or more once the
/// call has settled.
#[test]
fn a_full_hd_screen_keeps_its_frame_rate() {
    let x = Xvfb::start_sized("1920x1080x24");
    let _page = TestScreen::show_sized(
        &x,
        "Banter test page",
        10,
        (1800, 1000),
        (1920, 1080),
        support::screen::Motion::Still,
    );
    let (_, b_events) = share(&x, "screen", "10", "null");
    let fps: Vec<f64> = b_events
        .iter()
        .filter(|e| e["event"] == "stats")
        .filter_map(|e| e["video_fps"].as_f64())
        .collect();
    eprintln!("bob decoded {fps:?} pictures a second");
    assert!(sizes_seen(&b_events).contains(&(1920, 1080)));
    assert!(fps.len() >= 8, "{fps:?}");
    let settled = &fps[fps.len() - 3..];
    assert!(settled.iter().all(|f| *f >= 10.0), "{fps:?}");
}

/// A window shared by its title is its own contents, wherever it is: moved partly off
/// the screen it goes on being shared, and another window put over it (a red one, as
/// a notification or a password prompt could be) is not sent. The last pictures
/// still match the page, the red nowhere in them.
#[test]
fn a_shared_window_is_sent_without_what_covers_it_even_when_moved() {
    let x = Xvfb::start_sized("1280x720x24");
    let page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("bob-saw.y4m");
    let sharing = ["--share-screen", "window:Banter test page"];
    let (a_events, _) = share_while(&x, &sharing, "9", rec.to_str().unwrap(), || {
        std::thread::sleep(Duration::from_secs(2));
        // 400 pixels of it off the right of the screen.
        page.move_to(400, 0);
        std::thread::sleep(Duration::from_secs(1));
        // Over the page's (100, 200)–(400, 350), now at (500, 200) on the screen.
        page.cover((500, 200, 300, 150), 0xff0000);
    });
    assert!(
        !a_events.iter().any(|e| e["event"] == "screen_share"),
        "sharing stopped: {a_events:#?}"
    );
    let numbers = numbers_in_order(&rec);
    assert!(numbers.len() >= 40, "{numbers:?}");
    let data = std::fs::read(&rec).unwrap();
    let (w, _, frames) = y4m::read_y4m(&data).unwrap();
    // The pointer rests at the same place on the screen: in the window, before and
    // after the move.
    let near = |x: usize, y: usize| near_pointer(x, y) || near_pointer(x + 400, y);
    let mut want = I420::new(W, H);
    let mut worst = f64::MAX;
    for f in &frames[frames.len() - 10..] {
        let n = pattern::read(f.y, w);
        bgrx_to_i420(&picture(n), W * 4, &mut want);
        worst = worst.min(psnr(f.y, &want.y, near));
        // Chroma where the red window is: the page's (grey), not red (V ≈ 240).
        let cw = W / 2;
        let red = (100..175)
            .flat_map(|cy| (50..200).map(move |cx| cy * cw + cx))
            .filter(|&i| f.v[i] > 170)
            .count();
        assert_eq!(red, 0, "the covering window was sent");
    }
    eprintln!("worst PSNR of the last 10 pictures: {worst:.1} dB");
    assert!(worst >= 35.0, "{worst:.1} dB");
}

/// The last pictures of a recording of the page, compared with it: the worst PSNR.
fn worst_psnr(rec: &std::path::Path, last: usize) -> f64 {
    let data = std::fs::read(rec).unwrap();
    let (w, h, frames) = y4m::read_y4m(&data).expect("a Y4M recording");
    assert_eq!((w, h), (W, H));
    let mut want = I420::new(W, H);
    frames[frames.len().saturating_sub(last)..]
        .iter()
        .map(|f| {
            bgrx_to_i420(&picture(pattern::read(f.y, w)), W * 4, &mut want);
            psnr(f.y, &want.y, near_pointer)
        })
        .fold(f64::MAX, f64::min)
}

/// Alice's `screen_share` events: sharing or not, and why.
fn shares(a_events: &[Value]) -> Vec<(bool, Option<String>)> {
    a_events
        .iter()
        .filter(|e| e["event"] == "screen_share")
        .map(|e| (e["sharing"] == true, e["reason"].as_str().map(String::from)))
        .collect()
}

/// On Wayland, `--share-screen` asks the desktop's portal before the call: the
/// ScreenCast exchange (a session; monitors or windows, the pointer drawn in; the
/// dialog; the PipeWire remote), then the picked node read through PipeWire. Bob gets
/// the page at full size, its numbers in order, and sharp (35 dB or better).
#[test]
fn on_wayland_the_portal_picks_and_pipewire_carries_the_screen() {
    let x = Xvfb::start_sized("1280x720x24");
    let page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let desktop = PipewireDesktop::start(&x);
    let portal = Portal::start(&desktop, Answer::Grant);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("bob-saw.y4m");
    let (a_events, b_events) = share_on(
        |c| desktop.env(c),
        &["--share-screen"],
        "8",
        rec.to_str().unwrap(),
        || {},
    );
    assert!(page.shown.load(std::sync::atomic::Ordering::Relaxed) > 50);
    let asked = portal.asked();
    assert_eq!(
        asked.calls.get(..4),
        Some(
            &[
                "CreateSession",
                "SelectSources",
                "Start",
                "OpenPipeWireRemote"
            ]
            .map(String::from)[..]
        ),
        "{asked:?}"
    );
    assert_eq!(asked.types, Some(1 | 2), "monitors and windows");
    assert_eq!(asked.cursor_mode, Some(2), "the pointer embedded");
    // Shared as soon as the call is up: the grant is not kept in the call's settings.
    assert_eq!(shares(&a_events), [(true, None)], "{a_events:#?}");
    // Sent as a screen (5–15 pictures a second, for detail), not as a camera.
    assert_screen_rate(&a_events);
    assert!(
        sizes_seen(&b_events).contains(&(1280, 720)),
        "{b_events:#?}"
    );
    let numbers = numbers_in_order(&rec);
    assert!(numbers.len() >= 40, "{} distinct numbers", numbers.len());
    let worst = worst_psnr(&rec, 10);
    eprintln!("worst PSNR of the last 10 pictures: {worst:.1} dB");
    assert!(worst >= 35.0, "{worst:.1} dB");
}

/// Shared through the portal two seconds into an audio call and stopped four seconds
/// later: Bob sees the page in between, then the camera-off pictures; the portal's
/// session is closed when the sharing stops (the desktop's indicator goes away), not
/// when the call ends.
#[test]
fn a_portal_share_stopped_mid_call_closes_its_session() {
    let x = Xvfb::start_sized("1280x720x24");
    let _page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let desktop = PipewireDesktop::start(&x);
    let portal = Portal::start(&desktop, Answer::Grant);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("bob-saw.y4m");
    let sharing = [
        "--share-screen",
        "--share-screen-after",
        "2",
        "--stop-sharing-after",
        "6",
    ];
    let mut closed_in_call = false;
    let (a_events, b_events) = share_on(
        |c| desktop.env(c),
        &sharing,
        "10",
        rec.to_str().unwrap(),
        || closed_in_call = portal.wait_asked("Close", Duration::from_secs(9)),
    );
    assert_eq!(shares(&a_events), [(true, None), (false, None)]);
    assert!(
        closed_in_call,
        "the session was not closed: {:?}",
        portal.asked()
    );
    assert_page_then_camera_off(&rec, &b_events, 20);
}

/// What can go wrong on the desktop's side, each leaving the call going with a reason
/// Alice can act on: the person closes the portal's dialog; the desktop ends the
/// sharing itself (its own Stop); there is no portal at all. And a Stop while the
/// dialog is still open closes it (its session), and nothing is shared.
#[test]
fn a_cancelled_dialog_a_desktop_stop_and_no_portal_each_say_why() {
    let x = Xvfb::start_sized("1280x720x24");
    let _page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let later = ["--share-screen", "--share-screen-after", "1"];

    let desktop = PipewireDesktop::start(&x);
    let portal = Portal::start(&desktop, Answer::Cancel);
    let (a_events, _) = share_on(|c| desktop.env(c), &later, "4", "null", || {});
    let got = shares(&a_events);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(!got[0].0);
    assert!(
        got[0]
            .1
            .as_deref()
            .unwrap_or_default()
            .contains("cancelled in the desktop's dialog"),
        "{got:?}"
    );
    assert!(!portal
        .asked()
        .calls
        .contains(&"OpenPipeWireRemote".to_string()));
    drop((portal, desktop));

    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("bob-saw.y4m");
    let desktop = PipewireDesktop::start(&x);
    let portal = Portal::start(&desktop, Answer::Grant);
    let (a_events, b_events) = share_on(
        |c| desktop.env(c),
        &later,
        "8",
        rec.to_str().unwrap(),
        || {
            assert!(portal.wait_asked("OpenPipeWireRemote", Duration::from_secs(10)));
            std::thread::sleep(Duration::from_secs(3));
            portal.close_sessions();
        },
    );
    let got = shares(&a_events);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], (true, None));
    assert!(!got[1].0);
    assert!(
        got[1]
            .1
            .as_deref()
            .unwrap_or_default()
            .contains("the desktop stopped the sharing"),
        "{got:?}"
    );
    assert_page_then_camera_off(&rec, &b_events, 10);
    drop((portal, desktop));

    let desktop = PipewireDesktop::start(&x);
    let portal = Portal::start(&desktop, Answer::Never);
    let mut stop_early = later.to_vec();
    stop_early.extend(["--stop-sharing-after", "3"]);
    let (a_events, _) = share_on(
        |c| desktop.env(c),
        &stop_early,
        "6",
        "null",
        || {
            assert!(portal.wait_asked("Start", Duration::from_secs(10)));
        },
    );
    assert!(shares(&a_events).iter().all(|s| !s.0), "{a_events:#?}");
    assert!(
        portal.wait_asked("Close", Duration::from_secs(2)),
        "the dialog was left open: {:?}",
        portal.asked()
    );
    drop((portal, desktop));

    let bus = SessionBus::start();
    let no_portal = |c: &mut std::process::Command| {
        c.env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("WAYLAND_DISPLAY", "wayland-banter-test")
            .env_remove("DISPLAY");
    };
    let (a_events, _) = share_on(no_portal, &later, "4", "null", || {});
    let got = shares(&a_events);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0]
            .1
            .as_deref()
            .unwrap_or_default()
            .contains("no screen-sharing portal"),
        "{got:?}"
    );
}

/// `answer --share-screen`: Bob answers Alice's audio call and, a second after it is
/// connected, shares his screen into it (video added by content-add from his side);
/// Alice gets the page, in order and at full size.
#[test]
fn the_answering_side_shares_its_screen_into_an_audio_call() {
    let x = Xvfb::start_sized("1280x720x24");
    let _page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("alice-saw.y4m");
    let server = Prosody::start();
    let (alice, bob) = (server.user("alice"), server.user("bob"));
    let mut args = vec!["answer", "--from", alice.jid.as_str(), "--calls", "1"];
    args.extend(["--share-screen", "--share-screen-after", "1"]);
    args.extend(media_args("silence", "null"));
    let mut cmd = bob.banter(&args);
    cmd.env("DISPLAY", &x.display).env_remove("WAYLAND_DISPLAY");
    let mut bob_proc = Proc::spawn(cmd);
    bob_proc.wait_for("bob online", T, |v| v["event"] == "caught_up");
    let mut args = vec!["call", bob.jid.as_str(), "--duration", "7"];
    args.extend(media_args("silence", "null"));
    args.extend(["--video-out", rec.to_str().unwrap()]);
    let (ok, a_events) = Proc::spawn(alice.banter(&args)).finish(T);
    assert!(ok, "alice's call failed: {a_events:#?}");
    let (ok, b_events) = bob_proc.finish(T);
    assert!(ok, "bob's answer failed: {b_events:#?}");
    assert_eq!(shares(&b_events), [(true, None)], "{b_events:#?}");
    assert!(
        sizes_seen(&a_events).contains(&(1280, 720)),
        "{a_events:#?}"
    );
    let numbers = numbers_in_order(&rec);
    assert!(numbers.len() >= 30, "{numbers:?}");
}

/// `camera-test --video-in screen` on Wayland: the desktop's dialog picks (the portal is
/// asked), and the page comes through the whole video path, at its size, in VP9.
#[test]
fn camera_test_of_the_screen_on_wayland_asks_the_portal() {
    let x = Xvfb::start_sized("1280x720x24");
    let _page = TestScreen::show(&x, "Banter test page", 10, POINTER);
    let desktop = PipewireDesktop::start(&x);
    let portal = Portal::start(&desktop, Answer::Grant);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_banter"));
    cmd.args([
        "camera-test",
        "--video-in",
        "screen",
        "--duration",
        "4",
        "--json",
    ]);
    desktop.env(&mut cmd);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "camera-test")
        .expect("a camera-test report");
    eprintln!("{report}");
    assert!(portal.asked().calls.iter().any(|c| c == "Start"));
    assert_eq!(
        (&report["width"], &report["height"], &report["codec"]),
        (&1280.into(), &720.into(), &"VP9".into()),
        "{report}"
    );
    assert_eq!(
        (&report["capture_width"], &report["capture_height"]),
        (&1280.into(), &720.into())
    );
    assert!(report["frames_decoded"].as_u64() > Some(10), "{report}");
}
