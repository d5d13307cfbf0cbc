//! XEP-0077 In-Band Registration: creating an account on the server before signing in.
//! Stanzas and their meaning only; connect.rs carries them over the encrypted stream.

// Reads what the server sends: a panic here is a remote crash.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::stanza_error::{DefinedCondition, StanzaError};

pub const NS: &str = "jabber:iq:register";
const NS_DATA: &str = "jabber:x:data";

/// What the server asks for before it creates an account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Form {
    /// The server's own words (`<instructions/>`).
    pub instructions: Option<String>,
    /// Plain fields other than username and password (email, name, …).
    pub other_fields: Vec<String>,
    /// A data form (XEP-0004) is required, with a CAPTCHA (XEP-0158) when it has an
    /// `ocr`/`audio`/… challenge field.
    pub data_form: bool,
    pub captcha: bool,
    /// `<registered/>`: this connection is already signed in to an account.
    pub registered: bool,
    /// The plain `<username/>` and `<password/>` fields are offered (servers that also
    /// send a data form, like Prosody, take either).
    pub legacy: bool,
}

impl Form {
    /// What the server asks for beyond a name and a password, if anything.
    pub fn needs_more(&self) -> Option<String> {
        if self.captcha {
            Some("a CAPTCHA".into())
        } else if !self.other_fields.is_empty() {
            Some(self.other_fields.join(", "))
        } else if self.data_form && !self.legacy {
            Some("a form".into())
        } else {
            None
        }
    }
}

pub fn form_request(id: &str) -> Iq {
    Iq::Get {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("query", NS).build(),
    }
}

pub fn submit(id: &str, username: &str, password: &str) -> Iq {
    Iq::Set {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("query", NS)
            .append(Element::builder("username", NS).append(username))
            .append(Element::builder("password", NS).append(password))
            .build(),
    }
}

/// XEP-0077 §3.3: a new password for the signed-in account (sent to our own account,
/// which Prosody and ejabberd both answer for).
pub fn change_password(id: &str, username: &str, password: &str) -> Iq {
    submit(id, username, password)
}

/// XEP-0077 §3.2: delete the signed-in account; the server closes the stream after.
pub fn remove(id: &str) -> Iq {
    Iq::Set {
        from: None,
        to: None,
        id: id.to_string(),
        payload: Element::builder("query", NS)
            .append(Element::builder("remove", NS))
            .build(),
    }
}

/// The server's own words, if it sent any: ` (the server says: …)`.
fn server_says(error: &StanzaError) -> String {
    error
        .texts
        .values()
        .find(|t| !t.trim().is_empty())
        .map(|t| format!(" (the server says: {t})"))
        .unwrap_or_default()
}

/// Why the server refused a password change or an account deletion.
pub fn account_refusal(error: &StanzaError) -> String {
    let text = server_says(error);
    let what = match error.defined_condition {
        DefinedCondition::NotAcceptable => "the server did not accept the new password (too weak?)",
        DefinedCondition::NotAllowed
        | DefinedCondition::Forbidden
        | DefinedCondition::NotAuthorized => "the server does not allow this for your account",
        DefinedCondition::ServiceUnavailable | DefinedCondition::FeatureNotImplemented => {
            "this server does not offer it (XEP-0077)"
        }
        _ => "the server refused",
    };
    format!("{what}{text}")
}

/// Reads the server's registration form.
pub fn parse_form(query: &Element) -> Form {
    let mut form = Form::default();
    let has = |name: &str| query.get_child(name, NS).is_some();
    form.legacy = has("username") && has("password");
    for child in query.children() {
        match (child.name(), child.ns().as_str()) {
            ("instructions", NS) => {
                let text = child.text();
                if !text.trim().is_empty() {
                    form.instructions = Some(text.trim().to_string());
                }
            }
            ("registered", NS) => form.registered = true,
            ("username" | "password" | "remove", NS) => {}
            (name, NS) => form.other_fields.push(name.to_string()),
            ("x", NS_DATA) => {
                form.data_form = true;
                form.captcha = child.children().any(|f| {
                    f.is("field", NS_DATA)
                        && matches!(
                            f.attr("var"),
                            Some("ocr" | "audio_recog" | "qa" | "picture_recog" | "speech_recog")
                        )
                });
            }
            _ => {}
        }
    }
    form
}

/// Why the server refused, in words a person can act on.
pub fn refusal(error: &StanzaError) -> String {
    let text = server_says(error);
    let what = match error.defined_condition {
        DefinedCondition::Conflict => "that name is taken: choose another",
        DefinedCondition::NotAcceptable => {
            "the server did not accept the name or password (a password that is too weak, or a name it does not allow)"
        }
        DefinedCondition::NotAllowed | DefinedCondition::Forbidden => {
            "this server does not let new accounts register here"
        }
        DefinedCondition::ResourceConstraint | DefinedCondition::PolicyViolation => {
            "the server refuses more registrations from this address for now: try again later"
        }
        DefinedCondition::ServiceUnavailable | DefinedCondition::FeatureNotImplemented => {
            "this server does not offer registration"
        }
        DefinedCondition::BadRequest => "the server found the registration incomplete",
        _ => "the server refused the registration",
    };
    format!("{what}{text}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn el(s: &str) -> Element {
        Element::from_str(s).unwrap()
    }

    #[test]
    fn plain_and_captcha_forms() {
        let f = parse_form(&el("<query xmlns='jabber:iq:register'><instructions>Choose a name</instructions><username/><password/></query>"));
        assert_eq!(f.instructions.as_deref(), Some("Choose a name"));
        assert!(f.other_fields.is_empty() && !f.data_form && !f.captcha);
        assert_eq!(f.needs_more(), None);
        // Prosody: the plain fields and a data form with the same fields.
        let f = parse_form(&el("<query xmlns='jabber:iq:register'><instructions>Choose</instructions><username/><password/><x xmlns='jabber:x:data' type='form'><field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field><field var='username' type='text-single'/><field var='password' type='text-private'/></x></query>"));
        assert!(f.data_form && f.legacy);
        assert_eq!(f.needs_more(), None);
        let f = parse_form(&el(
            "<query xmlns='jabber:iq:register'><username/><password/><email/></query>",
        ));
        assert_eq!(f.other_fields, ["email"]);
        assert_eq!(f.needs_more().as_deref(), Some("email"));
        // ejabberd with a CAPTCHA: a data form with an ocr field.
        let f = parse_form(&el("<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='form'><field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field><field var='username'/><field var='ocr' label='Enter the text you see'><media xmlns='urn:xmpp:media-element'/></field></x></query>"));
        assert!(f.data_form && f.captcha);
        assert_eq!(f.needs_more().as_deref(), Some("a CAPTCHA"));
    }

    #[test]
    fn password_change_and_removal_stanzas() {
        let Iq::Set { payload, .. } = remove("r1") else {
            panic!()
        };
        assert!(payload.is("query", NS) && payload.get_child("remove", NS).is_some());
        let Iq::Set { payload, to, .. } = change_password("c1", "bob", "s3cret") else {
            panic!()
        };
        assert!(to.is_none(), "sent to our own account");
        assert_eq!(
            payload
                .get_child("password", NS)
                .map(|p| p.text())
                .as_deref(),
            Some("s3cret")
        );
        let e = StanzaError::new(
            xmpp_parsers::stanza_error::ErrorType::Modify,
            DefinedCondition::NotAcceptable,
            "en",
            "at least 8 characters",
        );
        let m = account_refusal(&e);
        assert!(
            m.contains("too weak") && m.contains("at least 8 characters"),
            "{m}"
        );
    }

    #[test]
    fn refusals_say_what_to_do() {
        let e = |c| StanzaError::new(xmpp_parsers::stanza_error::ErrorType::Cancel, c, "en", "");
        assert!(refusal(&e(DefinedCondition::Conflict)).contains("taken"));
        assert!(refusal(&e(DefinedCondition::NotAcceptable)).contains("too weak"));
        assert!(refusal(&e(DefinedCondition::NotAllowed)).contains("does not let"));
    }
}
