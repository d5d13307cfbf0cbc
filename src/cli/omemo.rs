//! `banter omemo devices|trust|untrust`: OMEMO devices and our trust in them, from
//! the local store (works offline, like `history`).

use banter::client::offline::{Offline, OfflineError};

use super::*;

/// A fingerprint as Conversations shows it: groups of eight.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn omemo(
    args: &AccountArgs,
    verb: OmemoVerb,
    jid: Option<String>,
    fingerprint: Option<String>,
) -> Result<(), CliError> {
    let account = parse_jid(
        args.jid
            .as_deref()
            .ok_or_else(|| CliError("no account: use --jid user@domain".into()))?,
    )?;
    let offline = Offline::open(&data_dir(args)?)?;
    match verb {
        OmemoVerb::Devices => devices(args, &offline, &account, jid),
        OmemoVerb::Trust | OmemoVerb::Untrust => {
            let jid = parse_jid(&jid.ok_or_else(|| {
                CliError("whose device? e.g. banter omemo trust bob@example.org FINGERPRINT".into())
            })?)?;
            let fp = fingerprint.ok_or_else(|| {
                CliError("which device? give its fingerprint (banter omemo devices JID)".into())
            })?;
            let verified = matches!(verb, OmemoVerb::Trust);
            let trust = if verified { "verified" } else { "untrusted" };
            let key = offline.set_omemo_trust(account.as_str(), jid.as_str(), &fp, verified)?;
            if args.json {
                println!(
                    "{}",
                    json!({"event": "omemo_trust", "jid": jid.as_str(), "fingerprint": key, "trust": trust})
                );
            } else {
                println!("{jid}'s device {} is now {trust}", grouped(&key));
            }
            Ok(())
        }
    }
}

fn devices(
    args: &AccountArgs,
    offline: &Offline,
    account: &BareJid,
    jid: Option<String>,
) -> Result<(), CliError> {
    let peer = jid.map(|j| parse_jid(&j)).transpose()?;
    let known =
        offline.omemo_devices(account.as_str(), peer.as_ref().map(|p| p.as_str()), || {
            password(args).map_err(|e| OfflineError::Password(e.0))
        })?;
    if args.json {
        let devices: Vec<serde_json::Value> = known
            .devices
            .iter()
            .map(|d| {
                json!({"jid": d.jid, "device_id": d.device_id,
                    "fingerprint": d.fingerprint,
                    "trust": d.trust, "active": d.active, "omemo2": d.omemo2})
            })
            .collect();
        println!(
            "{}",
            json!({"event": "omemo_devices",
                "own": known.own.as_ref().map(|(id, fp)| json!({"device_id": id, "fingerprint": fp})),
                "devices": devices})
        );
        return Ok(());
    }
    match &known.own {
        Some((id, fp)) => println!("this device: {id}  {}", grouped(fp)),
        None => println!("this device has no OMEMO identity yet (sign in with --omemo once)"),
    }
    for d in known.devices {
        let fp = d
            .fingerprint
            .as_deref()
            .map(grouped)
            .unwrap_or_else(|| "(key not seen yet)".into());
        let listed = match (d.active, d.omemo2) {
            (false, _) => "  (no longer listed)",
            (true, true) => "  (OMEMO 2)",
            (true, false) => "",
        };
        println!(
            "{}  device {}  {fp}  {}{listed}",
            d.jid, d.device_id, d.trust
        );
    }
    Ok(())
}
