//! Sign-in with SASL2 (XEP-0388), Bind 2 (XEP-0386) and FAST (XEP-0484) against a real
//! Prosody 0.12 with Debian's community modules (patched for 0.12: support/sasl2.rs).
//! The stream SASL2 leaves (no restart, a resource already bound) must carry chat
//! like any other; a lost connection comes back with the token instead of the
//! password and resumes; after a logout neither the token nor the one it replaced
//! signs anyone in.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use banter::client::{self, ClientHandle, Command, Event, SignIn, TokenKeeper};
use banter::xmpp::connect::{self, ConnectOptions, Target};
use banter::xmpp::error::ConnectError;
use banter::xmpp::fast::FastState;
use banter::xmpp_parsers::jid::{BareJid, Jid};
use support::sasl2::KeptTokens;
use support::{Prosody, User};

const T: Duration = Duration::from_secs(20);

async fn connected(c: &mut ClientHandle) -> (String, bool, Option<SignIn>) {
    match support::next_event(c, "connected", T, |e| matches!(e, Event::Connected { .. })).await {
        Event::Connected {
            jid,
            resumed,
            login,
        } => (jid, resumed, login),
        _ => unreachable!(),
    }
}

async fn say(from: &mut ClientHandle, to: &User, receiver: &mut ClientHandle, body: &str) {
    from.send(Command::SendMessage {
        id: body.to_string(),
        to: BareJid::new(&to.jid).unwrap(),
        body: body.to_string(),
    });
    support::next_event(
        receiver,
        body,
        T,
        |e| matches!(e, Event::Message { message } if message.body == body),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sasl2_signs_in_binds_and_reconnects_with_a_fast_token() {
    let server = Prosody::start_with_sasl2(86_400);
    let alice = server.user("alice");
    let bob = server.user("bob");
    // Alice on the second port, so that cutting it leaves Bob alone; no resource
    // asked for, so that Bind 2 picks it.
    let mut cfg = alice.config("pc");
    cfg.resource = None;
    cfg.server = connect::parse_server(&format!("127.0.0.1:{}", server.port2));
    let mut a = client::start(cfg).await.expect("SASL2 login");
    let (jid, resumed, login) = connected(&mut a).await;
    let login = login.expect("how the login went");
    assert!(!resumed);
    assert!(login.sasl2 && login.bind2 && !login.fast, "{login:?}");
    assert_eq!(login.mechanism, "SCRAM-SHA-1");
    // Prosody's Bind 2 resource: the tag (Banter and a part of the process's own),
    // '~', a hash of the user-agent id.
    assert!(
        jid.starts_with(&format!("{}/Banter.", alice.jid)) && jid.contains('~'),
        "bound as {jid}"
    );
    let mut b = client::start(bob.config("pc"))
        .await
        .expect("classic login");
    let (_, _, b_login) = connected(&mut b).await;
    assert!(b_login.unwrap().sasl2, "Bob too signs in over SASL2");
    say(&mut b, &alice, &mut a, "to alice over a SASL2 stream").await;
    say(&mut a, &bob, &mut b, "from alice over a SASL2 stream").await;

    // The connection drops: back with the token, and the session resumed.
    support::netns::kill_connections(server.port2);
    support::next_event(&mut a, "lost", T, |e| matches!(e, Event::ConnectionLost)).await;
    let (jid2, resumed, login) = connected(&mut a).await;
    let login = login.expect("how the login went");
    assert!(login.fast && login.sasl2, "{login:?}");
    assert_eq!(login.mechanism, "HT-SHA-256-NONE");
    assert!(resumed, "the stream resumed after a FAST login");
    assert_eq!(jid2, jid);
    say(&mut b, &alice, &mut a, "after the reconnect").await;
    say(&mut a, &bob, &mut b, "back from alice").await;
    a.shutdown().await;
    b.shutdown().await;
}

fn options(
    server: &Prosody,
    user: &User,
    password: &str,
    fast: &Arc<Mutex<FastState>>,
) -> ConnectOptions {
    let mut o = ConnectOptions::new(
        Jid::new(&user.jid).unwrap(),
        password.to_string(),
        banter::xmpp::tls::build(Some(&user.ca_file)).unwrap(),
    );
    o.server = Some(Target {
        host: "127.0.0.1".into(),
        port: server.port,
        direct_tls: false,
        explicit: true,
    });
    o.timeout = T;
    o.fast = Some(fast.clone());
    o
}

/// A login with the given token and a wrong password: it succeeds only if the
/// server still takes the token (the password fallback cannot).
async fn token_works(
    server: &Prosody,
    user: &User,
    state: &FastState,
) -> Result<bool, ConnectError> {
    let f = Arc::new(Mutex::new(state.clone()));
    let mut o = options(server, user, "not-the-password", &f);
    // Bind 2 would bind the resource of the device whose token this is, and the
    // server would end that device's session for it.
    o.bind2 = false;
    match connect::login(&o).await {
        Ok(_) => Ok(o.login.lock().unwrap().fast),
        Err(ConnectError::AuthFailed { .. }) => {
            // The token was tried and refused (then the wrong password), not skipped.
            assert!(f.lock().unwrap().token.is_none(), "the token was not tried");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// The proof XEP-0484 asks for: a token stolen before the logout is useless after it,
/// also the token the last rotation replaced (Prosody keeps two, and invalidating
/// the newest leaves the other working, as the control shows).
#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_fast_token_does_not_sign_in_after_logout() {
    // Tokens rotate at every FAST login.
    let server = Prosody::start_with_sasl2(-1);
    let alice = server.user("alice");
    let fast = Arc::new(Mutex::new(FastState::new()));
    let o = options(&server, &alice, &alice.password, &fast);
    connect::login(&o).await.expect("password login");
    assert!(!o.login.lock().unwrap().fast);
    let t1 = fast
        .lock()
        .unwrap()
        .token
        .clone()
        .expect("a token at the password login");
    connect::login(&o).await.expect("FAST login");
    assert!(
        o.login.lock().unwrap().fast,
        "the second login used the token"
    );
    let (t2, prev) = {
        let f = fast.lock().unwrap();
        (
            f.token.clone().expect("a rotated token"),
            f.previous.clone(),
        )
    };
    assert_ne!(t1, t2);
    assert_eq!(prev.as_ref(), Some(&t1));
    let stolen = fast.lock().unwrap().clone();

    // Control: invalidating only the newest token leaves the one before it working.
    let mut naive = stolen.clone();
    naive.previous = None;
    let only_newest = Arc::new(Mutex::new(naive));
    connect::invalidate_fast(&options(&server, &alice, &alice.password, &only_newest))
        .await
        .expect("logout of the newest token");
    let mut old = stolen.clone();
    old.token = Some(t1.clone());
    assert!(
        token_works(&server, &alice, &old).await.unwrap(),
        "control: the replaced token still signs in after a one-slot logout"
    );

    // Banter's logout: every token it holds. The control's login rotated again.
    let fresh = Arc::new(Mutex::new(FastState::new()));
    let o = options(&server, &alice, &alice.password, &fresh);
    connect::login(&o).await.expect("password login");
    connect::login(&o).await.expect("FAST login");
    let before = fresh.lock().unwrap().clone();
    assert!(before.token.is_some() && before.previous.is_some());
    connect::invalidate_fast(&o).await.expect("logout");
    assert!(fresh.lock().unwrap().token.is_none(), "forgotten here too");
    for t in [before.token.clone(), before.previous.clone()] {
        let mut thief = before.clone();
        thief.token = t;
        thief.previous = None;
        assert!(
            !token_works(&server, &alice, &thief).await.unwrap(),
            "a token from before the logout still signs in"
        );
    }
    // The password still does.
    let none = Arc::new(Mutex::new(FastState::new()));
    connect::login(&options(&server, &alice, &alice.password, &none))
        .await
        .expect("the password after the logout");
}

/// A server that takes the login but cannot prove it knows the password (SCRAM's
/// server signature, RFC 5802 §5.1 `v=`) is not the user's server: refused, and said
/// so. tokio-xmpp's own login never checked the signature; this failed before.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_cannot_prove_the_password_is_refused() {
    // Replaces the server-final message in RFC 6120 SASL's <success> with a wrong one.
    const IMPOSTOR: &str = r#"
local st = require "util.stanza";
module:hook("stream-features", function (event)
    local session = event.origin;
    if session.impostor then return; end
    session.impostor = true;
    local send = session.send;
    session.send = function (s, ...)
        if type(s) == "table" and s.name == "success" and s.attr.xmlns == "urn:ietf:params:xml:ns:xmpp-sasl" then
            s = st.stanza("success", { xmlns = s.attr.xmlns }):text("dj1BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE9");
        end
        return send(s, ...);
    end
end, 100);
"#;
    let server = Prosody::start_with_module("impostor", IMPOSTOR);
    let alice = server.user("alice");
    let err = client::start(alice.config("pc"))
        .await
        .err()
        .expect("a server with a wrong signature is refused");
    let text = err.to_string();
    assert!(
        text.contains("could not prove that it knows your password"),
        "{text}"
    );
}

/// A password change ends the tokens taken before it (Prosody's module of 2023 keeps
/// them, so Banter logs them out itself), and the token is kept where the front end
/// says, not in Banter's files.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_change_ends_the_tokens_taken_before_it() {
    let server = Prosody::start_with_sasl2(86_400);
    let alice = server.user("alice");
    let kept = Arc::new(KeptTokens::default());
    let mut cfg = alice.config("pc");
    cfg.resource = None;
    cfg.tokens = Some(client::TokenStore(kept.clone()));
    let mut a = client::start(cfg).await.expect("login");
    connected(&mut a).await;
    let state: FastState = {
        let t = std::time::Instant::now();
        loop {
            if let Some(s) = kept.load() {
                break serde_json::from_str(&s).unwrap();
            }
            assert!(t.elapsed() < T, "no token was kept");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    assert!(state.token.is_some());
    assert!(
        token_works(&server, &alice, &state).await.unwrap(),
        "the token works"
    );
    a.send(Command::ChangePassword {
        password: "a-new-password".into(),
    });
    support::next_event(&mut a, "changed", T, |e| {
        matches!(e, Event::PasswordChanged)
    })
    .await;
    let t = std::time::Instant::now();
    while kept.load().is_some() {
        assert!(t.elapsed() < T, "the tokens were not dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !token_works(&server, &alice, &state).await.unwrap(),
        "a token from before the password change still signs in"
    );
    a.shutdown().await;
}
