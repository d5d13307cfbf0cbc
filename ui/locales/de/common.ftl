# Deutsch: common. Du-Form, wie Conversations und Signal.

## Status bar
common-cancel = Abbrechen
common-online = online
common-connecting = Verbindung wird hergestellt…
common-offline = offline
common-dismiss = Verwerfen
common-settings = Einstellungen
common-status-hint = Dein Status (Nicht stören: Anrufe werden als besetzt abgelehnt)
common-status-available = Verfügbar
common-status-away = Abwesend
common-status-dnd = Nicht stören

## Device pickers
common-system-default = Systemstandard
common-test-pattern = Testbild
common-microphone = Mikrofon
common-speaker = Lautsprecher
common-camera = Kamera

## Settings
common-devices = Geräte
common-calls = Anrufe
common-echo-cancellation = Echo- und Rauschunterdrückung
common-relay-only = Anrufe über den Server leiten (verbirgt deine IP-Adresse)
common-calls-from-anyone = Jeder darf mich anrufen (nicht nur meine Kontakte)
common-chats = Chats
common-omemo = Chats Ende-zu-Ende verschlüsseln (OMEMO; ab der nächsten Anmeldung)
common-omemo-hint = Nachrichten an Kontakte, die OMEMO nutzen (Conversations, Dino, Monal), werden für alle ihre Geräte verschlüsselt; jedem Gerät wird vertraut, bis du eines verifizierst
common-desktop = Desktop
common-background = Im Infobereich weiterlaufen, wenn das Fenster geschlossen ist (Anrufe klingeln weiter)
common-background-unavailable = Hier wird Banter beim Schließen des Fensters beendet
common-wayland-no-hide = Unter Wayland kann Banter sein Fenster nicht ausblenden: Schließen beendet Banter.
common-no-tray = Kein Infobereich gefunden: Das Schließen des Fensters beendet Banter.
common-autostart = Banter bei der Anmeldung starten
common-network = Netzwerk
common-account = Konto
common-choose-picture = Dein Bild wählen…
common-choose-picture-hint = Quadratisch zugeschnitten, für deine Kontakte sichtbar (XEP-0084)

## Settings → Test my network
common-net-testing = Wird getestet…
common-net-test = Netzwerk testen
common-net-test-hint = Prüft, ob die STUN- und TURN-Dienste deines Servers erreichbar sind, wie bei einem Anruf
common-net-wait = ein paar Sekunden
common-finding-ok = OK
common-finding-note = Hinweis
common-finding-warning = Warnung
common-finding-problem = Problem
common-net-meaning = Was das bedeutet

## Call history and call quality
common-duration-min-sec = { $min } min { $sec } s
common-duration-sec = { $sec } s
common-call-log-missed = Verpasster Anruf
common-call-log-not-answered = Anruf nicht angenommen
common-call-log-incoming = Eingehender Anruf, { $length }
common-call-log-outgoing = Ausgehender Anruf, { $length }
common-quality-measuring = wird gemessen…
common-quality-poor = schlechte Verbindung
common-quality-fair = mäßige Verbindung
common-quality-good = gute Verbindung

## Day headings
common-today = Heute
common-yesterday = Gestern

## Notices
common-invalid-address-error = ungültige Adresse { $address }: { $error }
common-call-report-copied = Der Anrufbericht ist in der Zwischenablage (er enthält keine IP-Adresse).
common-gone-microphone = Mikrofon „{ $name }“
common-gone-speaker = Lautsprecher „{ $name }“
common-gone-camera = Kamera „{ $name }“
# Verbindet die Geräte oben (die Leerzeichen halten die Literale in Anführungszeichen).
common-list-and = {" "}und{" "}
common-devices-gone = Nicht verbunden: { $devices }. Bis es wieder da ist, nutzt Banter den Systemstandard.
common-language = Sprache
common-language-system = System ({ $language })
