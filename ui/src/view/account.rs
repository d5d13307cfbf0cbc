//! Accounts: the first screen (sign in, create an account, try it locally), the
//! account switcher, and the Account section of Settings.

use super::*;

pub(crate) fn labelled_edit(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    password: bool,
) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.add_sized([110.0, 20.0], egui::Label::new(label));
        ui.add(
            TextEdit::singleline(text)
                .password(password)
                .desired_width(260.0),
        )
        .labelled_by(l.id)
    })
    .inner
}

/// First run: the account form (JID, password, and an Advanced section).
pub fn account_form(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        ui.heading("Welcome to Banter");
        ui.label("Sign in with your XMPP account to call and chat with your contacts.");
        ui.add_space(20.0);
    });
    let form = &mut model.form;
    let before = form.create;
    let width = 420.0_f32.min(ui.available_width());
    let margin = ((ui.available_width() - width) / 2.0).max(0.0);
    ui.horizontal(|ui| {
        ui.add_space(margin);
        // A vertical Ui inside the centering row: a group inherits its parent's
        // direction, and the form must stack.
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.group(|ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut form.create, false, "I have an account");
                    ui.selectable_value(&mut form.create, true, "Create an account");
                });
                if form.create {
                    ui.add(
                        egui::Label::new(
                            RichText::new(
                                "Choose your address as name@server: the server is where the \
                                 account is created (one that lets anyone register).",
                            )
                            .small(),
                        )
                        .wrap(),
                    );
                }
                labelled_edit(ui, "Address", &mut form.jid, false);
                labelled_edit(ui, "Password", &mut form.password, true);
                if form.create {
                    labelled_edit(ui, "Repeat password", &mut form.password_again, true);
                }
                ui.checkbox(
                    &mut form.remember,
                    "Remember password (in the system keyring)",
                );
                ui.checkbox(&mut form.show_advanced, "Advanced");
                if form.show_advanced {
                    labelled_edit(ui, "Server", &mut form.server, false);
                    labelled_edit(ui, "CA file", &mut form.ca_file, false);
                    ui.add(
                    egui::Label::new(
                        RichText::new(
                            "Server: host:port when DNS does not point to it. CA file: a PEM file \
                             with the certificate of a private server.",
                        )
                        .small(),
                    )
                    .wrap(),
                );
                }
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    let label = if form.create {
                        "Create account"
                    } else {
                        "Sign in"
                    };
                    let sign_in = ui.add_enabled(!form.busy, egui::Button::new(label));
                    if form.busy {
                        ui.spinner();
                        ui.label(if form.create {
                            "Creating the account…"
                        } else {
                            "Connecting…"
                        });
                    }
                    if sign_in.clicked() {
                        match validate_form(form) {
                            Ok(()) => {
                                form.error = None;
                                form.busy = true;
                                out.push(UiCommand::AddAccount {
                                    jid: form.jid.trim().to_string(),
                                    password: form.password.clone(),
                                    server: Some(form.server.trim().to_string())
                                        .filter(|s| !s.is_empty()),
                                    ca_file: Some(form.ca_file.trim().to_string())
                                        .filter(|s| !s.is_empty()),
                                    remember: form.remember,
                                    register: form.create,
                                });
                            }
                            Err(e) => form.error = Some(e),
                        }
                    }
                });
                ui.add_space(12.0);
                ui.separator();
                ui.label(
                    RichText::new(
                        "No account yet? Try Banter on this computer: a private server \
                         and an echo contact that answers calls by playing you back.",
                    )
                    .small(),
                );
                if ui
                    .add_enabled(!form.busy, egui::Button::new("Try it locally"))
                    .clicked()
                {
                    form.error = None;
                    form.busy = true;
                    out.push(UiCommand::TryLocally);
                }
                if form.create != before {
                    form.error = None;
                }
                if let Some(e) = &form.error {
                    ui.add(
                        egui::Label::new(RichText::new(e).color(Color32::from_rgb(200, 60, 60)))
                            .wrap(),
                    );
                }
            });
        });
    });
}

/// The account shown, the others signed in, and "Add another account…". Locked during
/// a call.
pub fn account_switcher(ui: &mut egui::Ui, model: &mut Model, out: &mut Vec<UiCommand>) {
    let current = model.account.clone().unwrap_or_default();
    ui.add_enabled_ui(model.call.is_none(), |ui| {
        egui::ComboBox::from_id_salt("account")
            .selected_text(&current)
            .show_ui(ui, |ui| {
                for a in &model.accounts {
                    if ui.selectable_label(*a == current, a).clicked() && *a != current {
                        out.push(UiCommand::SwitchAccount { jid: a.clone() });
                    }
                }
                ui.separator();
                if ui.selectable_label(false, "Add another account…").clicked() {
                    model.adding_account = true;
                    model.form = Default::default();
                    model.form.remember = true;
                }
            })
            .response
            .on_hover_text("Account");
    });
}

/// Change password and delete account (XEP-0077), for the account shown.
pub(crate) fn account_settings(
    ui: &mut egui::Ui,
    account: &str,
    a: &mut crate::model::AccountSettings,
    out: &mut Vec<UiCommand>,
) {
    let field = |ui: &mut egui::Ui, label: &str, text: &mut String, password: bool| {
        let l = ui.label(label);
        ui.add_sized([190.0, 20.0], TextEdit::singleline(text).password(password))
            .labelled_by(l.id);
        ui.end_row();
    };
    egui::Grid::new("account-passwords").show(ui, |ui| {
        field(ui, "New password", &mut a.new_password, true);
        field(ui, "Repeat new password", &mut a.new_password_again, true);
    });
    if ui
        .add_enabled(!a.busy, egui::Button::new("Change password"))
        .clicked()
    {
        if a.new_password.is_empty() {
            a.message = Some("Type the new password".into());
        } else if a.new_password != a.new_password_again {
            a.message = Some("The two passwords differ".into());
        } else {
            a.busy = true;
            a.message = None;
            out.push(UiCommand::ChangePassword {
                password: a.new_password.clone(),
            });
        }
    }
    ui.add_space(6.0);
    ui.add(
        egui::Label::new(
            RichText::new(format!(
                "Deleting the account removes it from its server for good. Type {account} to confirm."
            ))
            .small(),
        )
        .wrap(),
    );
    egui::Grid::new("account-delete").show(ui, |ui| {
        field(ui, "Confirm address", &mut a.delete_confirm, false);
    });
    let confirmed = a.delete_confirm.trim() == account;
    if ui
        .add_enabled(confirmed && !a.busy, egui::Button::new("Delete account"))
        .clicked()
    {
        a.busy = true;
        a.message = None;
        out.push(UiCommand::DeleteAccount);
    }
    if a.busy {
        ui.spinner();
    }
    if let Some(m) = &a.message {
        ui.add(egui::Label::new(m.as_str()).wrap());
    }
}
