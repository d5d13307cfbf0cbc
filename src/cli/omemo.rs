//! `banter omemo devices|trust|untrust`: OMEMO devices and our trust in them, from
//! the local store (works offline, like `history`).

use banter::omemo::account::{parse_fingerprint, Omemo};
use banter::omemo::keys::hex;

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
    let store = banter::store::Store::open_dir(&data_dir(args)?)?;
    match verb {
        OmemoVerb::Devices => devices(args, &store, &account, jid),
        OmemoVerb::Trust | OmemoVerb::Untrust => {
            let jid = parse_jid(&jid.ok_or_else(|| {
                CliError("whose device? e.g. banter omemo trust bob@example.org FINGERPRINT".into())
            })?)?;
            let fp = fingerprint.ok_or_else(|| {
                CliError("which device? give its fingerprint (banter omemo devices JID)".into())
            })?;
            let key = parse_fingerprint(&fp).ok_or_else(|| {
                CliError(format!(
                    "'{fp}' is not a fingerprint: 64 hexadecimal digits"
                ))
            })?;
            let trust = match verb {
                OmemoVerb::Trust => "verified",
                _ => "untrusted",
            };
            if !store.set_omemo_trust(account.as_str(), jid.as_str(), &key, trust)? {
                return Err(CliError(format!(
                    "no device of {jid} has the fingerprint {} (see banter omemo devices {jid})",
                    grouped(&hex(&key))
                )));
            }
            if args.json {
                println!(
                    "{}",
                    json!({"event": "omemo_trust", "jid": jid.as_str(), "fingerprint": hex(&key), "trust": trust})
                );
            } else {
                println!("{jid}'s device {} is now {trust}", grouped(&hex(&key)));
            }
            Ok(())
        }
    }
}

fn devices(
    args: &AccountArgs,
    store: &banter::store::Store,
    account: &BareJid,
    jid: Option<String>,
) -> Result<(), CliError> {
    let own = match store.omemo_own(account.as_str())? {
        Some(_) => {
            let o = Omemo::load_or_create(store, account.as_str(), &password(args)?)?;
            Some((o.device_id(), o.fingerprint()))
        }
        None => None,
    };
    let peers = match jid {
        Some(j) => vec![parse_jid(&j)?.to_string()],
        None => store.omemo_peers(account.as_str())?,
    };
    let mut rows = Vec::new();
    for peer in &peers {
        for d in store.omemo_devices(account.as_str(), peer)? {
            if Some(d.device_id) == own.as_ref().map(|o| o.0) && peer == account.as_str() {
                continue;
            }
            rows.push((peer.clone(), d));
        }
    }
    if args.json {
        let devices: Vec<serde_json::Value> = rows
            .iter()
            .map(|(peer, d)| {
                json!({"jid": peer, "device_id": d.device_id,
                    "fingerprint": d.identity.as_ref().map(|k| hex(k)),
                    "trust": d.trust, "active": d.listed(), "omemo2": d.v2})
            })
            .collect();
        println!(
            "{}",
            json!({"event": "omemo_devices",
                "own": own.as_ref().map(|(id, fp)| json!({"device_id": id, "fingerprint": fp})),
                "devices": devices})
        );
        return Ok(());
    }
    match &own {
        Some((id, fp)) => println!("this device: {id}  {}", grouped(fp)),
        None => println!("this device has no OMEMO identity yet (sign in with --omemo once)"),
    }
    for (peer, d) in rows {
        let fp = d
            .identity
            .as_ref()
            .map(|k| grouped(&hex(k)))
            .unwrap_or_else(|| "(key not seen yet)".into());
        let listed = match (d.listed(), d.v2) {
            (false, _) => "  (no longer listed)",
            (true, true) => "  (OMEMO 2)",
            (true, false) => "",
        };
        println!("{peer}  device {}  {fp}  {}{listed}", d.device_id, d.trust);
    }
    Ok(())
}
