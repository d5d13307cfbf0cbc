# Deutsch: call. Du-Form, wie Conversations und Signal.

## The video area
call-peer-camera-off = { $who } hat die Kamera ausgeschaltet
call-video-from = Video von { $who }
call-waiting-video = Warte auf das Video von { $who }…
call-your-camera = Deine Kamera

## The incoming-call window
call-incoming-title = Eingehender Anruf
call-incoming = { $who } ruft an
call-accept = Annehmen
call-accept-video = Mit Video annehmen
call-decline = Ablehnen
call-block-caller = Anrufer blockieren

## The call bar
call-phase-calling = wird angerufen…
call-phase-ringing = klingelt…
call-phase-connecting = Verbindung wird hergestellt…
call-hang-up = Auflegen
call-copy-report = Anrufbericht kopieren
call-copy-report-hint = Signalisierung, Netzwerk und Qualität dieses Anrufs, ohne Adressen: für einen Fehlerbericht
call-unmute = Ton an
call-mute = Stumm
call-camera-off = Kamera aus
call-camera-on = Kamera an
call-start-video = Video starten
call-resume = Fortsetzen
call-hold = Halten
call-reconnecting = Verbindung wird wiederhergestellt: Die Verbindung zu { $who } ist unterbrochen. Der Anruf geht weiter, sobald sie wieder steht.
call-on-hold = Der Anruf wird gehalten: Du hörst nichts und sendest nichts.
call-you-are-muted = Du bist stummgeschaltet: Die anderen hören dich nicht.
call-peer-held = { $who } hat den Anruf auf Halten gesetzt.
call-peer-muted = { $who } hat das Mikrofon stummgeschaltet.
call-mic-silent = Dein Mikrofon sendet seit { $seconds } s nur Stille: Prüfe, ob es an ist und im System nicht stummgeschaltet, oder wähle unten ein anderes.
call-mic-level = Mikrofonpegel
call-verified = Verifiziert
call-verified-hint = Sein Schlüssel ist einer, den du verifiziert hast (OMEMO).
call-encrypted = Verschlüsselt
call-encrypted-hint = An das OMEMO-Gerät des Kontakts gebunden, das du nicht verifiziert hast.
call-not-verified = Nicht verifiziert
call-not-verified-hint = Das Gerät des Kontakts hat seinen Medienschlüssel nicht über OMEMO geschickt (noch keine Sitzung damit, oder ein Client ohne OMEMO).
# The numbers come formatted (rtt, jitter and kbps whole, loss with one decimal).
call-quality-line = RTT { $rtt } ms · Jitter { $jitter } ms · Verlust { $loss } % · { $kbps } kb/s
# $info is call-video-stats.
call-video-info = Video { $info }
call-quality = Anrufqualität
call-plot-rtt = RTT (ms)
call-plot-jitter = Jitter (ms)
call-plot-loss = Verlust (%)
call-plot-bitrate = Bitrate (kb/s)

## Notices from the account's events (src/window/events.rs)
call-video-declined = { $peer } hat das Video nicht angenommen.
call-password-changed = Das Passwort wurde geändert.
call-video-stats = { $width }x{ $height } · { $fps } fps · { $kbps } kb/s
call-netcheck-no-service = Dein Server nennt keinen STUN- oder TURN-Dienst.

## Desktop notifications of calls (src/notify.rs)
call-notification-show = Anzeigen
call-missed-from = Verpasster Anruf von { $who }
call-call-back = Zurückrufen

## Screen sharing (ui/src/view/call.rs)
call-share-screen = Bildschirm teilen
call-stop-sharing = Teilen beenden
call-sharing-banner = Du teilst deinen Bildschirm
call-sharing-stop = Beenden
call-screen-picker-title = Bildschirm teilen
call-screen-picker-hint = Wähle einen Bildschirm oder ein Fenster. Vorher wird nichts gesendet.
call-screen-picker-looking = Bildschirme und Fenster werden gesucht…
call-screen-monitor = Bildschirm { $n }
call-video-fit = Einpassen
call-video-actual-size = Originalgröße
call-screen-share-failed = Dein Bildschirm wird nicht geteilt: { $why }
call-screen-share-ended = Bildschirmfreigabe beendet: { $why }
