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
            // Each content with the codecs it names (an offer's choice, an answer's
            // pick): what a bug report about sound or picture needs first.
            let names: Vec<String> = j
                .contents
                .iter()
                .map(|c| match &c.description {
                    Some(d) if !d.codecs.is_empty() => {
                        let codecs: Vec<String> = d
                            .codecs
                            .iter()
                            .map(|k| format!("{}/{}", printable(&k.name), k.clock_rate))
                            .collect();
                        format!("{} [{}]", printable(&c.name), codecs.join(" "))
                    }
                    _ => printable(&c.name),
                })
                .collect();
            if names.is_empty() {
                action.to_string()
            } else {
                format!("{action} (contents: {})", names.join(", "))
            }
        }
    }
}

/// A peer's name for something, safe in a one-line log: what is not a letter, digit
/// or one of `-_.+` becomes `?` (a newline could forge lines of the report).
fn printable(s: &str) -> String {
    s.chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.+".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::jingle::rtp::Description;
    use crate::jingle::{Action, Content, Jingle};
    use banter_media::description::{Codec, MediaKind};

    /// An offer's line names each content's codecs; a name a peer made up cannot
    /// break the line (the report is one line per message).
    #[test]
    fn offers_and_answers_name_their_codecs_printably() {
        let mut weird = Codec::opus();
        weird.name = "opus\nsent  session-terminate".into();
        let mut j = Jingle::new(Action::SessionAccept, "s1");
        j.contents.push(Content {
            description: Some(Description {
                media: MediaKind::Audio,
                codecs: vec![Codec::opus(), weird],
                header_extensions: Vec::new(),
                sources: Vec::new(),
                source_groups: Vec::new(),
                rtcp_mux: true,
            }),
            ..Content::named("initiator", "audio", "both")
        });
        assert_eq!(
            jingle_line(&j),
            "session-accept (contents: audio [opus/48000 opus?sent??session-terminate/48000])"
        );
    }
}
