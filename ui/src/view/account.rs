//! Accounts: the first screen (sign in, create an account, try it locally), the
//! account switcher, and the Account section of Settings.

use super::*;
use crate::t;

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
        ui.heading(t!("account-welcome"));
        ui.label(t!("account-intro"));
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
                    ui.selectable_value(&mut form.create, false, t!("account-have-account"));
                    ui.selectable_value(&mut form.create, true, t!("account-create-tab"));
                });
                if form.create {
                    ui.add(
                        egui::Label::new(RichText::new(t!("account-create-explain")).small())
                            .wrap(),
                    );
                }
                labelled_edit(ui, &t!("account-address"), &mut form.jid, false);
                labelled_edit(ui, &t!("account-password"), &mut form.password, true);
                if form.create {
                    labelled_edit(
                        ui,
                        &t!("account-repeat-password"),
                        &mut form.password_again,
                        true,
                    );
                }
                ui.checkbox(&mut form.remember, t!("account-remember"));
                ui.checkbox(&mut form.show_advanced, t!("account-advanced"));
                if form.show_advanced {
                    labelled_edit(ui, &t!("account-server"), &mut form.server, false);
                    labelled_edit(ui, &t!("account-ca-file"), &mut form.ca_file, false);
                    ui.add(
                        egui::Label::new(RichText::new(t!("account-advanced-explain")).small())
                            .wrap(),
                    );
                }
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    let label = if form.create {
                        t!("account-create")
                    } else {
                        t!("account-sign-in")
                    };
                    let sign_in = ui.add_enabled(!form.busy, egui::Button::new(label));
                    if form.busy {
                        ui.spinner();
                        ui.label(if form.create {
                            t!("account-creating")
                        } else {
                            t!("account-connecting")
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
                ui.label(RichText::new(t!("account-try-explain")).small());
                if ui
                    .add_enabled(!form.busy, egui::Button::new(t!("account-try-locally")))
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
                if ui
                    .selectable_label(false, t!("account-add-another"))
                    .clicked()
                {
                    model.adding_account = true;
                    model.form = Default::default();
                    model.form.remember = true;
                }
            })
            .response
            .on_hover_text(t!("account-switcher-hint"));
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
        field(ui, &t!("account-new-password"), &mut a.new_password, true);
        field(
            ui,
            &t!("account-repeat-new-password"),
            &mut a.new_password_again,
            true,
        );
    });
    if ui
        .add_enabled(!a.busy, egui::Button::new(t!("account-change-password")))
        .clicked()
    {
        if a.new_password.is_empty() {
            a.message = Some(t!("account-type-new-password"));
        } else if a.new_password != a.new_password_again {
            a.message = Some(t!("account-passwords-differ"));
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
        egui::Label::new(RichText::new(t!("account-delete-explain", account = account)).small())
            .wrap(),
    );
    egui::Grid::new("account-delete").show(ui, |ui| {
        field(
            ui,
            &t!("account-confirm-address"),
            &mut a.delete_confirm,
            false,
        );
    });
    let confirmed = a.delete_confirm.trim() == account;
    if ui
        .add_enabled(
            confirmed && !a.busy,
            egui::Button::new(t!("account-delete")),
        )
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
