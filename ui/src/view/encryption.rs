//! A conversation's end-to-end encryption (OMEMO): whether messages to the contact
//! are encrypted, and its devices with their fingerprints, to verify or distrust.

use super::*;
use crate::t;

/// "Encrypted" or "Not encrypted" beside the contact's name, once its devices are
/// known; a click opens or closes the device list.
pub(crate) fn encryption_state(ui: &mut egui::Ui, model: &mut Model, jid: &str) {
    if !model.settings.omemo {
        return;
    }
    let Some(v) = model.omemo.as_mut().filter(|v| v.jid == jid) else {
        return;
    };
    let n = v.devices.iter().filter(|d| d.active).count();
    let (text, hover) = if v.encrypted() {
        (t!("chat-encrypted"), t!("chat-encrypted-hover", count = n))
    } else {
        (t!("chat-not-encrypted"), t!("chat-not-encrypted-hover"))
    };
    if ui
        .selectable_label(v.open, text)
        .on_hover_text(hover)
        .clicked()
    {
        v.open = !v.open;
    }
}

/// The contact's devices when the list is open: each fingerprint, our trust in it,
/// and Verify / Distrust.
pub(crate) fn devices(ui: &mut egui::Ui, model: &Model, jid: &str, out: &mut Vec<UiCommand>) {
    let Some(v) = model.omemo.as_ref().filter(|v| v.jid == jid && v.open) else {
        return;
    };
    ui.group(|ui| {
        ui.label(t!("chat-fingerprint-help"));
        if let Some(fp) = &v.own_fingerprint {
            ui.horizontal(|ui| {
                ui.label(t!("chat-this-device"));
                ui.monospace(grouped_fingerprint(fp));
            });
        }
        if v.devices.is_empty() {
            ui.label(RichText::new(t!("chat-no-devices")).weak());
        }
        for d in &v.devices {
            ui.horizontal(|ui| {
                match &d.fingerprint {
                    Some(fp) => ui.monospace(grouped_fingerprint(fp)),
                    None => ui.label(
                        RichText::new(t!("chat-device-no-key", id = d.device_id.to_string()))
                            .weak(),
                    ),
                };
                ui.label(match d.trust.as_str() {
                    "verified" => t!("chat-trust-verified"),
                    "untrusted" => t!("chat-trust-untrusted"),
                    "undecided" => t!("chat-trust-undecided"),
                    _ => t!("chat-trust-trusted"),
                });
                if !d.active {
                    ui.label(RichText::new(t!("chat-device-inactive")).weak());
                }
                let Some(fp) = &d.fingerprint else { return };
                if d.trust != "verified" && ui.button(t!("chat-verify")).clicked() {
                    out.push(UiCommand::TrustDevice {
                        jid: jid.to_string(),
                        fingerprint: fp.clone(),
                        verified: true,
                    });
                }
                if d.trust != "untrusted" && ui.button(t!("chat-distrust")).clicked() {
                    out.push(UiCommand::TrustDevice {
                        jid: jid.to_string(),
                        fingerprint: fp.clone(),
                        verified: false,
                    });
                }
            });
        }
    });
}
