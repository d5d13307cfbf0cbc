//! The account task: one loop over the stream, commands, media results and timers,
//! each handled by `State` and what it asks to send sent.

use super::*;

pub(super) async fn run(
    mut st: State,
    mut stream: StanzaStream,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut failures: mpsc::UnboundedReceiver<ConnectError>,
    mut media: mpsc::UnboundedReceiver<(String, calls::FromMedia)>,
    mut transfers: mpsc::UnboundedReceiver<transfer::Ended>,
) {
    let mut out: Vec<Stanza> = Vec::new();
    st.call_paths = st.call_paths();
    st.blocked_from_store();
    let mut watch = match banter_media::netwatch::AddressWatch::new() {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("cannot follow the machine's address changes: {e}");
            None
        }
    };
    loop {
        let next_timer = [
            st.next_call_timer(),
            st.presences.next_flush(),
            st.archive_gap_fetch,
            st.next_account_timer(),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(tokio::time::Instant::from_std);
        tokio::select! {
            Some((sid, ev)) = media.recv() => {
                let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| st.on_media(sid, ev, &mut out)));
                st.report_panic(done, "a call's media event");
            }
            _ = async { match next_timer { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {
                let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| st.on_call_timers(&mut out)));
                st.report_panic(done, "a call's timer");
                for p in st.presences.take_due(std::time::Instant::now()) {
                    st.on_availability(p, &mut out);
                }
                st.on_archive_timer(&mut out);
                st.on_account_timer(&mut out);
            }
            ev = stream.next() => {
                let Some(ev) = ev else { break };
                match ev {
                    StreamEv::Stream(StreamEvent::Reset { bound_jid, .. }) => {
                        st.established.store(true, Ordering::SeqCst);
                        st.bound = bound_jid.clone().try_into_full().ok();
                        st.endpoint.set_bound(st.bound.clone());
                        let login = st.sign_in();
                        st.emit(Event::Connected { jid: bound_jid.to_string(), resumed: false, login });
                        st.check_downgrade();
                        st.on_online(&mut out);
                        st.rooms_online(&mut out);
                        st.calls_signaling(true, true, &mut out);
                    }
                    StreamEv::Stream(StreamEvent::Suspended) => {
                        st.emit(Event::ConnectionLost);
                        st.room_joins_paused(false);
                        st.calls_signaling(false, false, &mut out);
                    }
                    StreamEv::Stream(StreamEvent::Resumed) => {
                        st.established.store(true, Ordering::SeqCst);
                        let jid = st.bound.as_ref().map(|j| j.to_string()).unwrap_or_default();
                        let login = st.sign_in();
                        st.emit(Event::Connected { jid, resumed: true, login });
                        st.calls_signaling(true, false, &mut out);
                        // The rooms may have dropped us while the stream was away.
                        st.room_joins_paused(true);
                        st.ping_rooms(true, &mut out);
                    }
                    StreamEv::Stanza(stanza) => {
                        // A panic on one stanza is a bug; it must cost that stanza,
                        // not the account.
                        let from = stanza_from(&stanza);
                        let handled = std::panic::AssertUnwindSafe(st.on_stanza(stanza, &mut out))
                            .catch_unwind()
                            .await;
                        if handled.is_err() {
                            tracing::error!(?from, "internal error handling a stanza");
                            st.emit(Event::Error {
                                message: format!(
                                    "a stanza from {} hit an internal error and was dropped (please report this bug)",
                                    from.map(|j| j.to_string()).unwrap_or_else(|| "the server".into())
                                ),
                            });
                        }
                    }
                }
            }
            cmd = commands.recv() => {
                match cmd {
                    None | Some(Command::Disconnect) => {
                        st.hangup_all(&mut out);
                        for stanza in out.drain(..) {
                            st.transmit(&stream, stanza).await;
                        }
                        let bye: Stanza = Presence::new(PresenceType::Unavailable).into();
                        let _ = stream.send(Box::new(bye)).await;
                        let _ = tokio::time::timeout(Duration::from_secs(5), stream.close()).await;
                        // Recordings are complete and devices released when we return.
                        for h in st.workers.closing() {
                            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
                        }
                        st.emit(Event::Disconnected);
                        return;
                    }
                    Some(cmd) => {
                        let done = std::panic::AssertUnwindSafe(st.on_command(cmd, &mut out))
                            .catch_unwind()
                            .await;
                        st.report_panic(done, "a command");
                    }
                }
            }
            _ = async { match watch.as_mut() { Some(w) => w.changed().await, None => std::future::pending().await } } => {
                st.on_addresses_changed(&mut out);
            }
            Some(ended) = transfers.recv() => st.on_transfer_ended(ended, &mut out),
            Some(err) = failures.recv() => {
                st.emit(Event::ConnectionError { fatal: err.is_fatal(), message: err.to_string() });
            }
        }
        for stanza in out.drain(..) {
            st.transmit(&stream, stanza).await;
        }
        if st.deleted {
            // The account is gone: no reconnect (it would fail as a wrong password).
            st.hangup_all(&mut out);
            for stanza in out.drain(..) {
                st.transmit(&stream, stanza).await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.close()).await;
            break;
        }
        if let Some(ping) = st.confirm_ping() {
            st.transmit(&stream, ping).await;
        }
    }
    // Token logouts under way (a password change) finish before the client stops.
    for logout in st.logouts.drain(..) {
        let _ = tokio::time::timeout(Duration::from_secs(10), logout).await;
    }
    st.emit(Event::Disconnected);
}
