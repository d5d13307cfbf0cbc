//! `banter room join|send`: group chat rooms from the command line.

use super::*;

pub struct RoomOptions {
    pub nick: Option<String>,
    pub password: Option<String>,
    pub body: Option<String>,
    pub duration: Option<f64>,
}

pub async fn room(
    args: &AccountArgs,
    verb: RoomVerb,
    room: &str,
    opts: RoomOptions,
) -> Result<(), CliError> {
    let room = parse_jid(room)?;
    let mut cfg = config(args)?;
    let nick = opts
        .nick
        .unwrap_or_else(|| cfg.jid.node().map(|n| n.to_string()).unwrap_or_default());
    let body = match verb {
        RoomVerb::Send => Some(opts.body.ok_or_else(|| {
            CliError("what to send? e.g. banter room send ROOM --body hello".into())
        })?),
        RoomVerb::Join => None,
    };
    cfg.catch_up = false;
    let mut stop = crate::signals::StopSignals::new();
    let mut client = connect(cfg).await?;
    client.send(Command::JoinRoom {
        room: room.clone(),
        nick,
        password: opts.password,
    });
    let sleep = async {
        match opts.duration {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    let id = client::new_id();
    let mut out = std::io::stdout();
    let ours = |r: &str| r == room.as_str();
    let result = loop {
        tokio::select! {
            ev = client.next_event() => {
                let Some(ev) = ev else { break Err(CliError("the connection ended".into())) };
                if let Event::ConnectionError { message, fatal: true } = &ev {
                    break Err(CliError(message.clone()));
                }
                print_event(&mut out, &ev, args.json);
                match &ev {
                    Event::RoomJoined { room: r, .. } if ours(r) => {
                        if let Some(body) = &body {
                            client.send(Command::SendRoomMessage {
                                id: id.clone(),
                                room: room.clone(),
                                body: body.clone(),
                            });
                        }
                    }
                    // The room sends our message back to us too: it has it.
                    Event::RoomMessage { room: r, id: i, from_archive: false, .. }
                        if ours(r) && body.is_some() && *i == id => break Ok(()),
                    Event::RoomLeft { room: r, reason } if ours(r) => {
                        break Err(CliError(format!("{room}: {reason}")));
                    }
                    _ => {}
                }
            }
            _ = &mut sleep => break Ok(()),
            _ = stop.wait() => break Ok(()),
        }
    };
    client.send(Command::LeaveRoom { room: room.clone() });
    client.shutdown().await;
    result
}
