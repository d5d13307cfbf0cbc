# English: desktop. Keys are prefixed by area; values are what the window shows.

## Room mentions (src/notify.rs)
desktop-mention-summary = { $who } in { $room }
desktop-mention-more = (and { $count } more since)

## The tray icon (src/tray.rs)
desktop-tray-ringing = Call from { $who }
desktop-hide = Hide Banter
desktop-show = Show Banter
desktop-quit = Quit Banter

## Start at login (src/window/desktop.rs)
desktop-autostart-no-folder = No configuration folder was found for autostart.
desktop-autostart-failed = Could not change the autostart entry { $path }: { $error }
