//! `banter net-check`: what calls would get from this network, in words.

use super::*;

/// Signs in, runs the check with the account's services and prints what it found.
/// Exits 0 whatever the network is like: the check itself worked.
pub async fn net_check(args: &AccountArgs, show_addresses: bool) -> Result<(), CliError> {
    let mut cfg = config(args)?;
    cfg.presence = None;
    cfg.catch_up = false;
    cfg.autojoin = false;
    let mut client = connect(cfg).await?;
    wait_online(&mut client).await?;
    client.send(Command::NetCheck);
    // Each step gives up within seconds; this only guards against a server that never
    // answers the service request.
    let deadline = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(deadline);
    let result = loop {
        tokio::select! {
            ev = client.next_event() => match ev {
                Some(Event::NetCheck { report }) => break Ok(report),
                Some(Event::ConnectionError { message, fatal: true }) => break Err(CliError(message)),
                Some(_) => {}
                None => break Err(CliError("the connection ended before the check finished".into())),
            },
            _ = &mut deadline => break Err(CliError("the server did not list its STUN/TURN services within 60 s".into())),
        }
    };
    client.shutdown().await;
    let report = result?;
    if args.json {
        println!("{}", client::netcheck::json(&report, show_addresses));
    } else {
        for line in client::netcheck::lines(&report, show_addresses) {
            println!("{line}");
        }
    }
    Ok(())
}
