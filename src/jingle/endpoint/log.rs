//! One line per signaling message of a call, for its report: the action and what
//! matters in it, never an address (candidates by type only).

use super::super::jmi::Jmi;
use super::super::rtp::Info;
use super::super::{Action, Jingle};

pub(super) fn jingle_line(j: &Jingle) -> String {
    let action = j.action.as_str();
    let transports: Vec<_> = j
        .contents
        .iter()
        .filter_map(|c| c.transport.as_ref())
        .collect();
    match j.action {
        Action::TransportInfo => {
            let credentials = transports.iter().any(|t| t.ufrag.is_some());
            let mut kinds: Vec<&str> = transports
                .iter()
                .flat_map(|t| t.candidates.iter())
                .map(|c| c.kind.as_str())
                .collect();
            kinds.sort_unstable();
            let candidates = if kinds.is_empty() {
                "no candidate".to_string()
            } else {
                format!("candidates: {}", kinds.join(", "))
            };
            if credentials {
                format!("{action} (ICE credentials; {candidates})")
            } else {
                format!("{action} ({candidates})")
            }
        }
        Action::SessionInfo => match &j.info {
            Some(i) => format!("{action} ({})", info_name(i)),
            None => action.to_string(),
        },
        Action::SessionTerminate => match j.reason {
            Some(r) => format!("{action} ({})", r.as_str()),
            None => action.to_string(),
        },
        _ => {
            let names: Vec<&str> = j.contents.iter().map(|c| c.name.as_str()).collect();
            if names.is_empty() {
                action.to_string()
            } else {
                format!("{action} (contents: {})", names.join(", "))
            }
        }
    }
}

fn info_name(i: &Info) -> &'static str {
    match i {
        Info::Active => "active",
        Info::Ringing => "ringing",
        Info::Hold => "hold",
        Info::Unhold => "unhold",
        Info::Mute(_) => "mute",
        Info::Unmute(_) => "unmute",
    }
}

pub(super) fn jmi_line(m: &Jmi) -> String {
    let (name, reason) = m.name_and_reason();
    match reason {
        Some(r) => format!("JMI {name} ({})", r.as_str()),
        None => format!("JMI {name}"),
    }
}
