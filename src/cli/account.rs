//! `banter account`: register, save or forget the password, change it, delete the
//! account.

use super::*;

/// `banter account save|forget`.
pub(super) async fn account(
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
            cfg.autojoin = false;
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
            cfg.autojoin = false;
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
            // The sign-in tokens first: each is made useless at the server.
            if let Ok(cfg) = config(args) {
                if let Err(e) = client::sign_out(&cfg).await {
                    eprintln!("warning: the server was not told to drop this device's sign-in tokens: {e}");
                }
            }
            match crate::secrets::forget(&jid).map_err(|e| CliError(e.to_string()))? {
                true => println!("the password of {jid} is removed from the OS keyring"),
                false => println!("no password of {jid} was stored"),
            }
        }
    }
    Ok(())
}

/// Signed in for one account operation: no presence, no catch-up.
pub(super) async fn signed_in_once(args: &AccountArgs) -> Result<client::ClientHandle, CliError> {
    let mut cfg = config(args)?;
    cfg.presence = None;
    cfg.catch_up = false;
    cfg.autojoin = false;
    let mut client = connect(cfg).await?;
    wait_online(&mut client).await?;
    Ok(client)
}

/// The server's answer to a password change or deletion.
pub(super) async fn account_answer(client: &mut client::ClientHandle) -> Result<(), CliError> {
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
