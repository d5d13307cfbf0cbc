//! Interoperability with a Jingle implementation not written here: StanzaJS (npm
//! `stanza`, the library behind several browser XMPP clients) running in Debian's
//! headless Chromium with Chromium's own WebRTC, connected to the same Prosody over
//! WebSocket (tests/interop has the harness; `npm ci` there installs it). Calls go both
//! ways, by JMI (bare JID) and by direct session-initiate (full JID); each side sends
//! a tone and checks the other's tone arrived. In the video calls each side also sends
//! a test pattern and reads the other's frame numbers from the decoded pictures.
//!
//! Each test runs in a network namespace of its own with only `lo` (Chromium gathers on
//! every interface and would pair those with our loopback candidates): Prosody,
//! Banter and Chromium are all started from the test's thread, which moved there.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use banter_media::audio::analysis::dominant_frequency;
use serde_json::Value;
use support::{media_args, read_wav, states, Proc, Prosody, User};

const T: Duration = Duration::from_secs(60);

/// Moves this thread (and what it starts) into a new network namespace with only a
/// loopback interface. Needs CAP_SYS_ADMIN (root, as in CI); without it the test runs
/// in the host's namespace, where both sides still signal only 127.0.0.0/8.
fn isolate_network() {
    support::netns::isolate_network();
}

fn harness_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        dir.join("node_modules/stanza").exists(),
        "the interop harness is not installed: run `npm ci` in {} (test.sh does)",
        dir.display()
    );
    dir
}

/// The StanzaJS peer for `user`.
fn browser(server: &Prosody, user: &User, args: &[&str]) -> Proc {
    let dir = harness_dir();
    let mut c = Command::new("node");
    c.arg(dir.join("peer.mjs"))
        .args(["--ws", &server.websocket_url()])
        .args(["--jid", &user.jid, "--password", &user.password])
        .args(["--no-tcp", "--timeout", "50"])
        .args(args);
    Proc::spawn(c)
}

/// The browser's verdict line.
fn result(events: &[Value]) -> Value {
    events
        .iter()
        .find(|e| e["event"] == "result")
        .cloned()
        .unwrap_or_else(|| panic!("no result from the browser: {events:#?}"))
}

fn assert_heard(wav: &std::path::Path, hz: f32) {
    let rec = read_wav(wav);
    assert!(rec.len() > 48_000, "less than a second recorded");
    let f = dominant_frequency(&rec[24_000..], 48_000);
    assert!((f - hz).abs() <= 5.0, "Banter heard {f} Hz, expected {hz}");
}

/// Every candidate the browser signalled was a loopback one.
fn browser_stayed_on_loopback(events: &[Value]) {
    for e in events
        .iter()
        .filter(|e| e["event"] == "candidate" && e["action"] == "signalled")
    {
        let a = e["address"].as_str().unwrap_or_default();
        assert!(a.starts_with("127."), "browser signalled {a}");
    }
}

/// How the browser takes part: its video, and whether it bundles (without, it is like
/// Dino: no XEP-0338 in its caps, a transport per content).
#[derive(Clone, Copy, PartialEq)]
enum Peer {
    Audio,
    Video,
    VideoUnbundled,
}

/// The Jingle `action` the browser sent (`dir` "out") or received ("in"), from its
/// --verbose log.
fn jingle_xml(events: &[Value], dir: &str, action: &str) -> String {
    let needle = [format!("action='{action}'"), format!("action=\"{action}\"")];
    events
        .iter()
        .filter(|e| e["event"] == "xml" && e["dir"] == dir)
        .filter_map(|e| e["xml"].as_str())
        .find(|x| needle.iter().any(|n| x.contains(n.as_str())))
        .unwrap_or_else(|| panic!("no {action} {dir} in the browser's log"))
        .to_string()
}

/// A session-initiate or -accept without BUNDLE: no group, two contents each with ICE
/// credentials and a fingerprint of their own.
fn assert_unbundled(xml: &str) {
    assert!(!xml.contains("urn:xmpp:jingle:apps:grouping:0"), "{xml}");
    let ufrags: Vec<&str> = xml
        .split("ufrag=")
        .skip(1)
        .filter_map(|rest| {
            let q = rest.chars().next()?;
            rest[1..].split(q).next()
        })
        .collect();
    assert_eq!(ufrags.len(), 2, "{xml}");
    assert_eq!(xml.matches("<fingerprint").count(), 2, "{xml}");
}

/// Banter calls the browser: `call` to its bare JID (JMI propose, which the harness
/// answers with proceed) or to its full JID (session-initiate only). With video, both
/// send their test pattern too.
fn banter_calls_browser(full_jid: bool, peer: Peer) {
    let video = peer != Peer::Audio;
    isolate_network();
    let server = Prosody::start_with_websocket();
    let alice = server.user("alice");
    let web = server.user("web");
    let mut b_args = vec![
        "--mode",
        "answer",
        "--resource",
        "browser",
        "--tone",
        "880",
        "--expect-hz",
        "440",
        "--answer-delay",
        "0",
        "--duration",
        "30",
    ];
    if video {
        b_args.push("--video");
    }
    if peer == Peer::VideoUnbundled {
        // It answers at once: Banter's offer waits for the caps it is asking about
        // (they say the browser cannot bundle).
        b_args.extend(["--no-bundle", "--verbose"]);
    }
    let mut b = browser(&server, &web, &b_args);
    b.wait_for("browser online", T, |v| v["event"] == "connected");
    if peer == Peer::VideoUnbundled {
        // Alice has the browser as a contact, so its presence (and caps: no BUNDLE)
        // reach her.
        let (ok, out) = Proc::spawn(alice.banter(&["contact", "add", web.jid.as_str()])).finish(T);
        assert!(ok, "{out:#?}");
        b.wait_for("subscription approved", T, |v| {
            v["event"] == "subscription" && v["action"] == "approved"
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("alice-heard.wav");
    let y4m = dir.path().join("alice-saw.y4m");
    let to = if full_jid {
        format!("{}/browser", web.jid)
    } else {
        web.jid.clone()
    };
    let mut args = vec!["call", to.as_str(), "--duration", "4"];
    args.extend(media_args("tone:440", wav.to_str().unwrap()));
    if video {
        args[3] = "6";
        args.extend(["--video", "--video-in", "pattern", "--video-out"]);
        args.push(y4m.to_str().unwrap());
    }
    let (ok, a_events) = Proc::spawn(alice.banter(&args)).finish(T);
    assert!(ok, "banter: {a_events:#?}");
    let s = states(&a_events);
    assert!(s.contains(&"active".to_string()), "{s:?}");
    assert_eq!(s.last().map(String::as_str), Some("ended"));
    let (ok, b_events) = b.finish(T);
    if std::env::var("INTEROP_DUMP").is_ok() {
        for e in &b_events {
            eprintln!("{e}");
        }
    }
    let r = result(&b_events);
    assert!(ok, "browser: {r}");
    assert_eq!(r["end_reason"], "success", "{r}");
    assert_eq!(r["ended_by"], "peer", "{r}");
    browser_stayed_on_loopback(&b_events);
    assert_heard(&wav, 880.0);
    eprintln!("browser answered; its setup time: {} ms", r["setup_ms"]);
    if peer == Peer::VideoUnbundled {
        assert_unbundled(&jingle_xml(&b_events, "in", "session-initiate"));
        assert_unbundled(&jingle_xml(&b_events, "out", "session-accept"));
    }
    if video {
        check_video(&r, &y4m, &a_events);
        // Chromium's transport-cc feedback reached Banter's send-side estimator.
        let estimates: Vec<&Value> = a_events
            .iter()
            .filter(|e| e["event"] == "stats")
            .map(|e| &e["bandwidth_estimate_kbps"])
            .collect();
        assert!(
            estimates
                .iter()
                .any(|e| e.as_u64().is_some_and(|k| k >= 100)),
            "{estimates:?}"
        );
    }
}

/// Bob's Banter (resource "desk") answering one call from the browser's user, with
/// `extra` arguments, once online.
fn banter_answers(bob: &User, web: &User, extra: &[&str]) -> Proc {
    let mut args = vec!["answer", "--from", web.jid.as_str(), "--calls", "1"];
    args.extend(["--resource", "desk"]);
    args.extend(extra);
    let mut banter = Proc::spawn(bob.banter(&args));
    banter.wait_for("bob online", T, |v| v["event"] == "caught_up");
    banter
}

/// The browser calls Banter: by JMI to the bare JID, or by session-initiate to
/// Banter's full JID. With video, a video call (Chromium's offer with its RTX and
/// codecs) that Banter answers with its camera on.
fn browser_calls_banter(jmi: bool, peer: Peer) {
    let video = peer != Peer::Audio;
    isolate_network();
    let server = Prosody::start_with_websocket();
    let bob = server.user("bob");
    let web = server.user("web");
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("bob-heard.wav");
    let y4m = dir.path().join("bob-saw.y4m");
    let mut args = media_args("tone:880", wav.to_str().unwrap());
    if video {
        args.extend(["--video", "--video-in", "pattern", "--video-out"]);
        args.push(y4m.to_str().unwrap());
    }
    let banter = banter_answers(&bob, &web, &args);
    let to = if jmi {
        bob.jid.clone()
    } else {
        format!("{}/desk", bob.jid)
    };
    let mut b_args = vec![
        "--mode",
        "call",
        "--peer",
        to.as_str(),
        "--tone",
        "440",
        "--expect-hz",
        "880",
        "--duration",
        if video { "6" } else { "4" },
    ];
    if jmi {
        b_args.push("--jmi");
    }
    if video {
        b_args.push("--video");
    }
    if peer == Peer::VideoUnbundled {
        b_args.push("--no-bundle");
    }
    b_args.push("--verbose");
    let (ok, b_events) = browser(&server, &web, &b_args).finish(T);
    let r = result(&b_events);
    assert!(ok, "browser: {r} {b_events:#?}");
    assert_eq!(r["end_reason"], "success", "{r}");
    browser_stayed_on_loopback(&b_events);
    let (ok, events) = banter.finish(T);
    assert!(ok, "banter: {events:#?}");
    let s = states(&events);
    assert!(s.contains(&"active".to_string()), "{s:?}");
    let ended = events
        .iter()
        .rfind(|e| e["event"] == "call" && e["state"] == "ended")
        .expect("ended");
    assert_eq!(ended["reason"], "success", "{ended}");
    assert_heard(&wav, 440.0);
    eprintln!("browser called; its setup time: {} ms", r["setup_ms"]);
    let initiate = jingle_xml(&b_events, "out", "session-initiate");
    let accept = jingle_xml(&b_events, "in", "session-accept");
    if peer == Peer::VideoUnbundled {
        assert_unbundled(&initiate);
        assert_unbundled(&accept);
    }
    // Chromium offers RED for Opus; Banter answers with it, so what the browser heard
    // (880 Hz, checked by the harness) came as RED packets, value-less "111/111"
    // parameter and all through StanzaJS.
    assert!(has_red(&initiate), "Chromium offers RED: {initiate}");
    assert!(has_red(&accept), "Banter answers with RED: {accept}");
    if video {
        check_video(&r, &y4m, &events);
    }
}

/// Whether a description has RED with its block list (`111/111`).
fn has_red(xml: &str) -> bool {
    let red = ["name='red'", "name=\"red\""];
    let blocks = ["name='111/111'", "name=\"111/111\""];
    red.iter().any(|r| xml.contains(r)) && blocks.iter().any(|b| xml.contains(b))
}

/// Both directions of a video call with the browser: it read Banter's frame numbers
/// counting up at 640x480, and Banter's recording of its canvas pattern (the numbers
/// read after Chromium's VP8 encoder and Banter's decoder) counts up too.
fn check_video(r: &Value, y4m: &std::path::Path, banter_events: &[Value]) {
    use banter_media::video::pattern;
    let v = &r["video"];
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["frame_width"], 640, "{v}");
    assert!(v["frames_decoded"].as_u64().unwrap_or(0) > 60, "{v}");
    eprintln!("browser video: {v}");
    let data = std::fs::read(y4m).unwrap_or_default();
    let Some((size, numbers)) = pattern::numbers_in_y4m(&data) else {
        let stats: Vec<&Value> = banter_events
            .iter()
            .filter(|e| e["event"] == "stats")
            .collect();
        panic!(
            "Banter recorded no video; its last stats: {:#?}",
            stats.last()
        );
    };
    assert_eq!(size, (640, 480), "the browser's picture size");
    // The canvas redraws on a timer of its own, so a picture may repeat a number.
    let distinct = numbers.windows(2).filter(|p| p[1] != p[0]).count();
    assert!(
        distinct >= 30,
        "{} pictures, numbers {numbers:?}",
        numbers.len()
    );
    // Chromium drops pictures of its own when the machine is busy (two tests at once
    // on two cores): gaps up to a second are its doing, not a freeze.
    assert!(
        numbers
            .windows(2)
            .all(|p| p[1] >= p[0] && p[1] - p[0] <= 30),
        "numbers must count up: {numbers:?}"
    );
}

#[test]
fn banter_calls_browser_by_jmi() {
    banter_calls_browser(false, Peer::Audio);
}

#[test]
fn banter_calls_browser_by_full_jid() {
    banter_calls_browser(true, Peer::Audio);
}

#[test]
fn browser_calls_banter_by_jmi() {
    browser_calls_banter(true, Peer::Audio);
}

#[test]
fn browser_calls_banter_by_session_initiate() {
    browser_calls_banter(false, Peer::Audio);
}

/// A video call from Banter to the browser (JMI with audio and video).
#[test]
fn banter_video_calls_browser() {
    banter_calls_browser(false, Peer::Video);
}

/// A video call from the browser to Banter (session-initiate with audio and video).
#[test]
fn browser_video_calls_banter() {
    browser_calls_banter(false, Peer::Video);
}

/// A video call to a client that does not bundle (like Dino: video calls in its caps
/// but no XEP-0338 grouping, a transport per content): Banter offers the video on a
/// transport of its own, the browser answers the same way, and the pictures and the
/// tones arrive both ways.
#[test]
fn banter_video_calls_a_browser_that_does_not_bundle() {
    banter_calls_browser(false, Peer::VideoUnbundled);
}

/// The browser, not bundling, video calls Banter: its offer has a transport per
/// content, and Banter answers the video on a connection of its own.
#[test]
fn browser_that_does_not_bundle_video_calls_banter() {
    browser_calls_banter(false, Peer::VideoUnbundled);
}

/// Banter shares its screen (X11, a 1280x720 page of text with a frame counter) with
/// the browser as the call's video: Chromium decodes it at full size, in VP9 (it offers
/// it), and reads the page's frame numbers counting up; the tones cross as in any call.
#[test]
fn banter_shares_its_screen_with_the_browser() {
    share_with_browser(&[], "VP9");
}

/// The same with a browser that takes only VP8 (as Dino and older peers): the screen
/// goes in VP8.
#[test]
fn banter_shares_its_screen_in_vp8_with_a_browser_without_vp9() {
    share_with_browser(&["--video-codecs", "VP8"], "VP8");
}

fn share_with_browser(browser_args: &[&str], codec: &str) {
    isolate_network();
    let x = support::Xvfb::start_sized("1280x720x24");
    let _page = support::screen::TestScreen::show(&x, "Banter test page", 10, (1100, 620));
    let server = Prosody::start_with_websocket();
    let alice = server.user("alice");
    let web = server.user("web");
    let mut b = browser(
        &server,
        &web,
        &[
            "--mode",
            "answer",
            "--resource",
            "browser",
            "--tone",
            "880",
            "--expect-hz",
            "440",
            "--answer-delay",
            "0",
            "--duration",
            "30",
            "--video",
        ]
        .iter()
        .chain(browser_args)
        .copied()
        .collect::<Vec<_>>(),
    );
    b.wait_for("browser online", T, |v| v["event"] == "connected");
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("alice-heard.wav");
    let mut args = vec![
        "call",
        web.jid.as_str(),
        "--duration",
        "6",
        "--share-screen",
    ];
    args.extend(media_args("tone:440", wav.to_str().unwrap()));
    let mut cmd = alice.banter(&args);
    cmd.env("DISPLAY", &x.display).env_remove("WAYLAND_DISPLAY");
    let (ok, a_events) = Proc::spawn(cmd).finish(T);
    assert!(ok, "banter: {a_events:#?}");
    let (ok, b_events) = b.finish(T);
    let r = result(&b_events);
    assert!(ok, "browser: {r}");
    browser_stayed_on_loopback(&b_events);
    let v = &r["video"];
    eprintln!("browser video: {v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        (&v["frame_width"], &v["frame_height"]),
        (&1280.into(), &720.into()),
        "{v}"
    );
    let numbers = v["numbers"].as_array().map_or(0, Vec::len);
    assert!(numbers >= 12, "{v}");
    let stats: Vec<&Value> = b_events
        .iter()
        .filter(|e| e["event"] == "video-stats")
        .collect();
    assert!(
        stats.iter().any(|e| e["codec"] == codec),
        "the browser decoded {codec}: {stats:?}"
    );
    assert!(
        stats
            .iter()
            .all(|e| e["codec"].is_null() || e["codec"] == codec),
        "{stats:?}"
    );
    assert_heard(&wav, 880.0);
}

// ---- ICE restart with the browser (issue #19)

/// The browser calls Banter and restarts ICE 2 s into the call (StanzaJS restarts only
/// as the initiator): Banter takes the transport-info with the new credentials as an
/// offer and answers; the browser's transport moves to the new generation (its
/// selected pair changes again, ICE connected) and each side still hears the other's
/// tone at the end.
#[test]
fn the_browser_restarts_ice_and_the_call_goes_on() {
    isolate_network();
    let server = Prosody::start_with_websocket();
    let bob = server.user("bob");
    let web = server.user("web");
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("bob-heard.wav");
    let banter = banter_answers(&bob, &web, &media_args("tone:880", wav.to_str().unwrap()));
    let to = format!("{}/desk", bob.jid);
    let b_args = [
        "--mode",
        "call",
        "--peer",
        &to,
        "--tone",
        "440",
        "--expect-hz",
        "880",
        "--duration",
        "8",
        "--restart-ice-at",
        "2",
        "--expect-after",
        "6",
        "--verbose",
    ];
    let (ok, b_events) = browser(&server, &web, &b_args).finish(T);
    let r = result(&b_events);
    eprintln!("browser after its restart: {}", r["transport"]);
    assert!(ok, "browser: {r}");
    assert_eq!(r["ice_restarts"], 1, "{r}");
    let t = &r["transport"];
    assert!(t["pair_changes"].as_u64().unwrap_or(0) >= 2, "{r}");
    assert_eq!(t["ice_state"], "connected", "{r}");
    assert_eq!(r["end_reason"], "success", "{r}");
    // The restart went through Banter: the browser's new credentials went out, and
    // Banter's came back (the first transport-info carrying them).
    let offer = jingle_xml(&b_events, "out", "transport-info");
    assert!(offer.contains("ufrag="), "{offer}");
    let (ok, events) = banter.finish(T);
    assert!(ok, "banter: {events:#?}");
    let rec = read_wav(&wav);
    let last = &rec[rec.len().saturating_sub(48_000)..];
    let f = dominant_frequency(last, 48_000);
    assert!((f - 440.0).abs() <= 5.0, "Banter heard {f} Hz at the end");
}

/// Banter calls the browser and all UDP is dropped for 10 s mid-call: Banter (the
/// initiator) restarts ICE, the browser answers, and the browser hears Banter's tone
/// again after the outage, Banter the browser's.
#[test]
fn banter_restarts_ice_with_the_browser_after_an_outage() {
    assert!(
        support::netns::isolate_network(),
        "this test drops UDP with nftables: it needs a network namespace of its own"
    );
    let server = Prosody::start_with_websocket();
    let alice = server.user("alice");
    let web = server.user("web");
    let b_args = [
        "--mode",
        "answer",
        "--resource",
        "browser",
        "--tone",
        "880",
        "--expect-hz",
        "440",
        "--answer-delay",
        "0",
        "--duration",
        "60",
        "--expect-after",
        "15",
    ];
    let mut b = browser(&server, &web, &b_args);
    b.wait_for("browser online", T, |v| v["event"] == "connected");
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("alice-heard.wav");
    let to = format!("{}/browser", web.jid);
    let mut args = vec!["call", to.as_str(), "--duration", "20"];
    args.extend(media_args("tone:440", wav.to_str().unwrap()));
    let mut a = Proc::spawn(alice.banter(&args));
    a.wait_for("active", T, |v| {
        v["event"] == "call" && v["state"] == "active"
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let blackout = support::netns::UdpBlackout::start();
    std::thread::sleep(std::time::Duration::from_secs(10));
    drop(blackout);
    let (ok, a_events) = a.finish(T);
    assert!(ok, "banter: {a_events:#?}");
    let infos: Vec<&str> = a_events
        .iter()
        .filter(|e| e["event"] == "call_info")
        .filter_map(|e| e["info"].as_str())
        .collect();
    assert_eq!(infos, ["reconnecting", "reconnected"], "{a_events:#?}");
    let (ok, b_events) = b.finish(T);
    let r = result(&b_events);
    assert!(ok, "browser: {r}");
    let rec = read_wav(&wav);
    let last = &rec[rec.len().saturating_sub(48_000)..];
    let f = dominant_frequency(last, 48_000);
    assert!((f - 880.0).abs() <= 5.0, "Banter heard {f} Hz at the end");
}
