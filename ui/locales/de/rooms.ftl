# Deutsch: rooms. Du-Form, wie Conversations und Signal.

## Der Tab „Gruppenchats“: Beitreten, Einladungen, die Liste
rooms-join-or-create = Gruppenchat beitreten oder erstellen
rooms-invites-you = { $from } lädt dich in { $room } ein
rooms-join = Beitreten
rooms-decline = Ablehnen
rooms-none-yet = Noch keine Gruppenchats.
rooms-not-joined = nicht beigetreten

## Ein Gruppenchat auf dem Bildschirm
rooms-more = Mehr
rooms-leave = Gruppenchat verlassen
rooms-remove-bookmark = Lesezeichen entfernen
rooms-bookmark = Lesezeichen setzen
rooms-autojoin = Beim Anmelden beitreten
rooms-mute-mentions = Erwähnungen stummschalten
rooms-destroy-room = Gruppenchat auflösen…
rooms-people = Teilnehmer ({ $count })
rooms-destroy-confirm = Diesen Gruppenchat für alle auflösen? Das lässt sich nicht rückgängig machen.
rooms-destroy = Auflösen
rooms-cancel = Abbrechen
rooms-not-in-room = Du bist nicht in diesem Gruppenchat.
rooms-join-as = Als { $nick } beitreten
rooms-invite = Einladen
rooms-invite-hint = Kontaktadresse
rooms-send-invitation = Einladung senden
rooms-show-earlier = Frühere Nachrichten anzeigen
rooms-editing = Du bearbeitest deine Nachricht
rooms-replying = Antwort auf „{ $text }“
rooms-message = Nachricht
rooms-message-hint = Schreib an alle im Gruppenchat
rooms-attach-hover = Datei senden (oder Dateien hierher ziehen oder ein Bild einfügen)
rooms-send = Senden
rooms-subject = Thema
rooms-save = Speichern
rooms-change-subject = Thema ändern
rooms-set-subject = Thema festlegen

## Die Zeilen eines Gruppenchats
rooms-show-answered = Beantwortete Nachricht anzeigen
rooms-private-to = (privat an { $nick })
rooms-private-from = { $nick } (privat)
rooms-retracted = Diese Nachricht wurde zurückgezogen
rooms-edited = bearbeitet
rooms-reply = Antworten
rooms-react = Reagieren
rooms-edit = Bearbeiten
rooms-retract = Zurückziehen
rooms-reply-retracted = eine zurückgezogene Nachricht
rooms-reply-earlier = eine frühere Nachricht

## Hinweise im Gruppenchat
rooms-you-joined = Du bist als { $nick } beigetreten
rooms-you-are-out = Du bist nicht mehr im Gruppenchat: { $reason }
rooms-occupant-out = { $nick } ist nicht mehr im Gruppenchat: { $reason }
rooms-subject-set = { $nick } hat das Thema festgelegt: { $subject }
rooms-you-invited = Du hast { $jid } eingeladen
# $why ist leer, oder „: “ und der Grund, den die eingeladene Person nennt.
rooms-declined = { $by } hat abgelehnt{ $why }
rooms-you-created = Du hast den Gruppenchat erstellt

## Hinweise des Fensters
rooms-not-a-room-address = „{ $room }“ ist keine Gruppenchat-Adresse
rooms-not-a-service = „{ $service }“ ist kein Dienst (z. B. conference.example.org)
rooms-not-an-invitee = „{ $jid }“ ist keine Adresse zum Einladen

## Die Leute im Gruppenchat
rooms-role-moderator = Moderator
rooms-role-visitor = Besucher
rooms-nothing-to-change = Nichts, was du ändern darfst
rooms-kick = Rauswerfen
rooms-give-voice = Rederecht geben
rooms-take-voice = Rederecht entziehen
rooms-ban = Sperren
rooms-make-member = Zum Mitglied machen
rooms-make-admin = Zum Admin machen
rooms-make-owner = Zum Besitzer machen
rooms-revoke = Zugehörigkeit entziehen

## Der Dialog für Gruppenchats
rooms-tab-address = Per Adresse
rooms-tab-new = Neuer Gruppenchat
rooms-tab-directory = Verzeichnis
rooms-nickname = Spitzname
rooms-address = Gruppenchat-Adresse
rooms-password-if-any = Passwort (falls der Gruppenchat eins hat)
rooms-name = Name
rooms-name-hint = was andere sehen
rooms-members-only = Nur Mitglieder (Personen, die du einlädst)
rooms-members-only-hover = Nur Mitglieder dürfen beitreten; alle sehen die Adressen der anderen
rooms-persistent = Gruppenchat behalten, wenn alle gegangen sind
rooms-public = Im Verzeichnis des Dienstes aufführen
rooms-password-optional = Passwort (optional)
rooms-create = Erstellen
rooms-service = Dienst
rooms-list = Auflisten
rooms-asking = Dienst wird abgefragt…
rooms-search = Suchen
rooms-search-hint = Name oder Adresse
rooms-directory-count = { $all ->
    [one] { $shown } von { $all } Gruppenchat
   *[other] { $shown } von { $all } Gruppenchats
}
rooms-you-left = Du hast den Gruppenchat verlassen.

## Gründe, die der Client nennt (src/window/rooms.rs reason_words)
rooms-reason-nick-taken = dieser Spitzname ist in diesem Gruppenchat vergeben: Wähle einen anderen
rooms-reason-password = dieser Gruppenchat braucht ein Passwort (oder das angegebene ist falsch)
rooms-reason-members-only = dieser Gruppenchat ist nur für Mitglieder: Bitte einen Besitzer, dich hinzuzufügen
rooms-reason-banned-join = du bist aus diesem Gruppenchat verbannt
rooms-reason-not-found = diesen Gruppenchat gibt es nicht (und du darfst ihn vielleicht nicht anlegen)
rooms-reason-full = der Gruppenchat ist voll, oder sein Dienst ist nicht erreichbar
rooms-reason-unreachable = der Server des Gruppenchats ist nicht erreichbar
rooms-reason-nick-needed = zum Beitreten braucht es einen Spitznamen
rooms-reason-refused = der Gruppenchat hat dich nicht hereingelassen
rooms-reason-removed = entfernt (kein Mitglied mehr)
rooms-reason-shutdown = der Dienst des Gruppenchats wurde beendet
rooms-reason-destroyed = der Gruppenchat wurde aufgelöst
rooms-reason-kicked = hinausgeworfen
rooms-reason-banned = verbannt
