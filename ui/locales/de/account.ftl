# Deutsch: account. Du-Form, wie Conversations und Signal.

## Sign-in form
account-welcome = Willkommen bei Banter
account-intro = Melde dich mit deinem XMPP-Konto an, um mit deinen Kontakten zu telefonieren und zu chatten.
account-have-account = Ich habe ein Konto
account-create-tab = Neues Konto
account-create-explain = Wähle deine Adresse als name@server: Auf diesem Server wird das Konto erstellt (einem, bei dem sich jeder registrieren kann).
account-address = Adresse
account-password = Passwort
account-repeat-password = Passwort wiederholen
account-remember = Passwort merken (im Schlüsselbund des Systems)
account-advanced = Erweitert
account-server = Server
account-ca-file = CA-Datei
account-advanced-explain = Server: host:port, wenn DNS nicht auf ihn zeigt. CA-Datei: eine PEM-Datei mit dem Zertifikat eines privaten Servers.
account-create = Konto erstellen
account-sign-in = Anmelden
account-creating = Konto wird erstellt…
account-connecting = Verbindung wird hergestellt…
account-try-explain = Noch kein Konto? Probier Banter auf diesem Computer aus: ein privater Server und ein Echo-Kontakt, der Anrufe annimmt und dir deine Stimme zurückspielt.
account-try-locally = Lokal ausprobieren
account-echo-contact = Echo (wiederholt dich)

## Form errors
account-address-format = Gib deine Adresse als name@server ein, z. B. alice@example.org
account-choose-password = Wähle ein Passwort
account-enter-password = Gib dein Passwort ein
account-passwords-differ = Die Passwörter stimmen nicht überein
account-server-format = Server muss host:port sein, z. B. xmpp.example.org:5222
account-invalid-address = ungültige Adresse { $address }
account-enter-password-of = Gib das Passwort von { $account } ein, um dich anzumelden.
account-not-created = Das Konto wurde nicht erstellt: { $error }
account-password-not-saved = Angemeldet, aber das Passwort wurde nicht gespeichert: { $error }

## Account switcher
account-add-another = Weiteres Konto hinzufügen…
account-switcher-hint = Konto

## Settings → Account
account-new-password = Neues Passwort
account-repeat-new-password = Neues Passwort wiederholen
account-change-password = Passwort ändern
account-type-new-password = Gib das neue Passwort ein
account-delete-explain = Das Löschen entfernt das Konto endgültig von seinem Server. Gib zur Bestätigung { $account } ein.
account-confirm-address = Adresse bestätigen
account-delete = Konto löschen
account-deleted = { $account } wurde von seinem Server gelöscht.
