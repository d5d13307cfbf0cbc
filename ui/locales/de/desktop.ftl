# Deutsch: desktop. Du-Form, wie Conversations und Signal.

## Room mentions (src/notify.rs)
desktop-mention-summary = { $who } in { $room }
desktop-mention-more = (und { $count } weitere seitdem)

## The tray icon (src/tray.rs)
desktop-tray-ringing = Anruf von { $who }
desktop-hide = Banter ausblenden
desktop-show = Banter anzeigen
desktop-quit = Banter beenden

## Start at login (src/window/desktop.rs)
desktop-autostart-no-folder = Für den Autostart wurde kein Konfigurationsordner gefunden.
desktop-autostart-failed = Der Autostart-Eintrag { $path } ließ sich nicht ändern: { $error }
