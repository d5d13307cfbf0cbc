//! A conversation's end-to-end encryption (OMEMO): whether messages to the contact
//! are encrypted, and its devices with their fingerprints, to verify or distrust.

use super::*;

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
        (
            "Encrypted",
            format!("Messages are end-to-end encrypted (OMEMO) to this contact's {n} device(s) and your own. Click for their fingerprints."),
        )
    } else {
        (
            "Not encrypted",
            "This contact publishes no OMEMO device: messages to it go unencrypted.".to_string(),
        )
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
        ui.label(
            "Compare each fingerprint with the one the contact's device shows (in person, or \
             over a call you trust) and verify it only if they are the same. Once one is \
             verified, new devices of the contact get nothing until you decide.",
        );
        if let Some(fp) = &v.own_fingerprint {
            ui.horizontal(|ui| {
                ui.label("This device:");
                ui.monospace(grouped_fingerprint(fp));
            });
        }
        if v.devices.is_empty() {
            ui.label(RichText::new("No device of this contact is known yet.").weak());
        }
        for d in &v.devices {
            ui.horizontal(|ui| {
                match &d.fingerprint {
                    Some(fp) => ui.monospace(grouped_fingerprint(fp)),
                    None => ui.label(
                        RichText::new(format!("device {} (key not seen yet)", d.device_id)).weak(),
                    ),
                };
                ui.label(match d.trust.as_str() {
                    "verified" => "verified",
                    "untrusted" => "distrusted: gets nothing",
                    "undecided" => "new: gets nothing until you decide",
                    _ => "trusted (not verified)",
                });
                if !d.active {
                    ui.label(RichText::new("no longer in use").weak());
                }
                let Some(fp) = &d.fingerprint else { return };
                if d.trust != "verified" && ui.button("Verify").clicked() {
                    out.push(UiCommand::TrustDevice {
                        jid: jid.to_string(),
                        fingerprint: fp.clone(),
                        verified: true,
                    });
                }
                if d.trust != "untrusted" && ui.button("Distrust").clicked() {
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
