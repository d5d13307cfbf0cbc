# Deutsch: chat. Du-Form, wie Conversations und Signal.

## The left column: tabs, contacts, call history (view/contacts.rs)

chat-tab-contacts = Kontakte
chat-tab-rooms = Gruppenchats
chat-tab-rooms-invitations = Gruppenchats ({ $count ->
        [one] { $count } Einladung
       *[other] { $count } Einladungen
    })
chat-tab-rooms-mentions = Gruppenchats (@{ $count })
chat-tab-calls = Anrufe
chat-tab-calls-missed = Anrufe ({ $count } verpasst)
chat-copy-call-report = Bericht zum letzten Anruf kopieren
chat-no-calls = Noch keine Anrufe.
chat-search-contacts = Kontakte suchen
chat-search-hint = Name oder Adresse
chat-add-contact = Kontakt hinzufügen
chat-add = Hinzufügen
chat-wants-to-add = { $jid } möchte dich hinzufügen
chat-allow = Erlauben
chat-deny = Ablehnen
chat-block = Blockieren

## A conversation (view/conversation.rs)

chat-choose-contact = Wähle einen Kontakt zum Chatten oder Anrufen.
chat-more = Mehr
chat-encryption-devices = Verschlüsselung und Geräte
chat-unblock-contact = { $name } entsperren
chat-block-contact = { $name } blockieren
chat-remove-contact = { $name } aus Kontakten entfernen
chat-video-call = Videoanruf
# The button that starts a call (a verb).
chat-call = Anrufen
chat-show-earlier = Frühere Nachrichten anzeigen
chat-call-minutes = Anruf, { $min } min { $sec } s
chat-call-seconds = Anruf, { $sec } s
chat-call-not-answered = Anruf nicht angenommen
chat-call-missed = Verpasster Anruf
# A call in the timeline (a noun).
chat-call-item = Anruf
chat-typing = { $name } schreibt…
chat-editing = Du bearbeitest deine Nachricht
chat-replying-to = Antwort auf „{ $text }“
chat-cancel = Abbrechen
chat-message = Nachricht
chat-message-hint = Schreib eine Nachricht
chat-attach-hover = Datei senden (oder Dateien hierher ziehen oder ein Bild einfügen)
chat-send = Senden
chat-dismiss = Verwerfen
chat-drop-to-send = Loslassen, um an { $name } zu senden

## A message: delivery, menu, reactions, files (view/message.rs)

chat-show-answered = Beantwortete Nachricht anzeigen
chat-retracted = Diese Nachricht wurde zurückgezogen
chat-status-sending = wird gesendet
chat-status-sent = gesendet
chat-status-delivered = zugestellt
chat-status-read = gelesen
chat-status-edited = bearbeitet
chat-reply = Antworten
chat-react = Reagieren
chat-edit = Bearbeiten
chat-retract = Zurückziehen
chat-reaction-take-back = Deine Reaktion zurücknehmen
chat-reaction-same = { $names } — genauso reagieren
chat-picture-open = { $name } — zum Öffnen klicken
chat-show-picture = Bild anzeigen
chat-download = Herunterladen
chat-open = Öffnen
chat-no-preview = keine Vorschau
chat-try-again = Erneut versuchen
# A transfer's progress: sizes such as "1.1 MB".
chat-progress = { $done } von { $total }
chat-size-bytes = { $count ->
        [one] { $count } Byte
       *[other] { $count } Bytes
    }

## Encryption (view/encryption.rs)

chat-encrypted = Verschlüsselt
chat-encrypted-hover = Nachrichten sind Ende-zu-Ende-verschlüsselt (OMEMO): an { $count ->
        [one] { $count } Gerät
       *[other] { $count } Geräte
    } dieses Kontakts und an deine eigenen. Klick für die Fingerabdrücke.
chat-not-encrypted = Nicht verschlüsselt
chat-not-encrypted-hover = Dieser Kontakt veröffentlicht kein OMEMO-Gerät: Nachrichten an ihn werden unverschlüsselt gesendet.
chat-fingerprint-help = Vergleiche jeden Fingerabdruck mit dem, den das Gerät des Kontakts anzeigt (persönlich oder in einem Anruf, dem du vertraust), und verifiziere ihn nur, wenn beide gleich sind. Sobald einer verifiziert ist, bekommen neue Geräte des Kontakts nichts, bis du entscheidest.
chat-this-device = Dieses Gerät:
chat-no-devices = Von diesem Kontakt ist noch kein Gerät bekannt.
chat-device-no-key = Gerät { $id } (Schlüssel noch nicht gesehen)
chat-trust-verified = verifiziert
chat-trust-untrusted = nicht vertraut: bekommt nichts
chat-trust-undecided = neu: bekommt nichts, bis du entscheidest
chat-trust-trusted = vertraut (nicht verifiziert)
chat-device-inactive = nicht mehr in Benutzung
chat-verify = Verifizieren
chat-distrust = Nicht vertrauen

## The quote of a reply whose message is not shown (window/chat.rs)

chat-reply-retracted = eine zurückgezogene Nachricht
chat-reply-earlier = eine frühere Nachricht

## Files (window/files.rs)

chat-cannot-open = { $path } lässt sich nicht öffnen: { $error }
chat-send-files-title = Dateien an { $jid } senden
chat-choose-picture = Wähle dein Bild
chat-pictures-filter = Bilder
chat-pasted-not-whole = das eingefügte Bild war unvollständig
chat-send-picture-failed = Das Bild lässt sich nicht senden: { $error }
