//! "Try it locally": the private server and the echo contact the window's first-run
//! button starts, driven through the library like the window drives them: sign in as
//! `me`, add Echo, chat (it answers) and call (your voice comes back a second later,
//! and in a video call your pictures).

mod support;

use std::time::Duration;

use banter::client::local::{loopback_media, TryLocally, ECHO_DELAY_MS};
use banter::client::{self, CallStatus, Command, Event};
use banter_media::audio::analysis::dominant_frequency;
use banter_media::audio::sink::SinkSpec;
use banter_media::audio::source::SourceSpec;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn echo_contact_answers_chat_and_plays_calls_back() {
    let dir = tempfile::tempdir().unwrap();
    let local = TryLocally::start(&dir.path().join("local"))
        .await
        .expect("local server");
    let wav = dir.path().join("me-heard.wav");
    let y4m = dir.path().join("me-saw.y4m");
    let mut media = loopback_media(SourceSpec::Tone(440.0), SinkSpec::Wav(wav.clone()));
    media.video_in = banter_media::video::VideoSourceSpec::Pattern;
    media.video_out = banter_media::video::VideoSinkSpec::Y4m(y4m.clone());
    let cfg = local.me_config(media);
    let mut me = client::start(cfg).await.expect("signed in");
    support::next_event(&mut me, "online", T, |e| {
        matches!(e, Event::Connected { .. })
    })
    .await;
    me.send(Command::AddContact {
        jid: local.echo.clone(),
        name: Some("Echo".into()),
    });
    // Echo accepts and asks back; accepting makes it a full contact.
    support::next_event(&mut me, "echo's request", T, |e| {
        matches!(e, Event::SubscriptionRequest { .. })
    })
    .await;
    me.send(Command::AnswerSubscription {
        jid: local.echo.clone(),
        accept: true,
    });

    me.send(Command::SendMessage {
        id: "hi".into(),
        to: local.echo.clone(),
        body: "hello there".into(),
    });
    let ev = support::next_event(&mut me, "echo's reply", T, |e| {
        matches!(e, Event::Message { message } if message.direction == banter::store::Direction::In)
    })
    .await;
    let Event::Message { message } = ev else {
        unreachable!()
    };
    assert_eq!(message.body, "You said: hello there");

    me.send(Command::Call {
        id: "echo-test".into(),
        to: banter::xmpp_parsers::jid::Jid::from(local.echo.clone()),
        video: false,
    });
    support::next_event(
        &mut me,
        "active",
        T,
        |e| matches!(e, Event::Call { state, .. } if *state == CallStatus::Active),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    me.send(Command::Hangup {
        id: "echo-test".into(),
    });
    support::next_event(
        &mut me,
        "ended",
        T,
        |e| matches!(e, Event::Call { state, .. } if *state == CallStatus::Ended),
    )
    .await;

    // A video call: Echo sends our pictures back; their numbers count up.
    me.send(Command::Call {
        id: "echo-video".into(),
        to: banter::xmpp_parsers::jid::Jid::from(local.echo.clone()),
        video: true,
    });
    support::next_event(&mut me, "video from echo", T, |e| {
        matches!(e, Event::CallVideo { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    me.send(Command::Hangup {
        id: "echo-video".into(),
    });
    support::next_event(
        &mut me,
        "video call ended",
        T,
        |e| matches!(e, Event::Call { state, .. } if *state == CallStatus::Ended),
    )
    .await;
    // A clean stop waits for the call's media to close: the recording is complete.
    me.shutdown().await;
    let data = std::fs::read(&y4m).unwrap();
    let (size, numbers) = banter_media::video::pattern::numbers_in_y4m(&data).unwrap();
    assert_eq!(size, (640, 480));
    assert!(numbers.len() >= 40, "{numbers:?}");
    assert!(
        banter_media::video::pattern::increasing(&numbers, 10),
        "{numbers:?}"
    );

    // What came back: nothing for about a second, then our own 440 Hz.
    let rec = support::read_wav(&wav);
    let onset = rec.iter().position(|s| s.abs() > 2000).expect("the echo");
    let after = &rec[onset + 4_800..onset + 28_800];
    let f = dominant_frequency(after, 48_000);
    assert!((f - 440.0).abs() <= 5.0, "{f} Hz came back");
    assert!(
        onset as f32 / 48_000.0 >= ECHO_DELAY_MS as f32 / 1000.0,
        "the echo came after {} s",
        onset as f32 / 48_000.0
    );
}
