# English: common. Keys are prefixed by area; values are what the window shows.

## Status bar
common-cancel = Cancel
common-online = online
common-connecting = connecting…
common-offline = offline
common-dismiss = Dismiss
common-settings = Settings
common-status-hint = Your status (Do not disturb: calls are refused as busy)
common-status-available = Available
common-status-away = Away
common-status-dnd = Do not disturb

## Device pickers
common-system-default = System default
common-test-pattern = Test pattern
common-microphone = Microphone
common-speaker = Speaker
common-camera = Camera

## Settings
common-devices = Devices
common-calls = Calls
common-echo-cancellation = Echo cancellation and noise suppression
common-relay-only = Relay calls through the server (hides your IP address)
common-calls-from-anyone = Anyone may call me (not only my contacts)
common-chats = Chats
common-omemo = Encrypt chats end to end (OMEMO; from the next sign-in)
common-omemo-hint = Messages to contacts who use OMEMO (Conversations, Dino, Monal) are encrypted to all their devices; every device is trusted until you verify one
common-desktop = Desktop
common-background = Keep running in the tray when the window is closed (calls still ring)
common-background-unavailable = Closing the window quits Banter here
common-wayland-no-hide = On Wayland Banter cannot hide its window: closing it quits Banter.
common-no-tray = No system tray was found: closing the window quits Banter.
common-autostart = Start Banter when I log in
common-network = Network
common-account = Account
common-choose-picture = Choose your picture…
common-choose-picture-hint = Cropped to a square, shown to your contacts (XEP-0084)

## Settings → Test my network
common-net-testing = Testing…
common-net-test = Test my network
common-net-test-hint = Reach your server's STUN and TURN services, as a call would
common-net-wait = a few seconds
common-finding-ok = ok
common-finding-note = note
common-finding-warning = warning
common-finding-problem = problem
common-net-meaning = What this means

## Call history and call quality
common-duration-min-sec = { $min } min { $sec } s
common-duration-sec = { $sec } s
common-call-log-missed = Missed call
common-call-log-not-answered = Call not answered
common-call-log-incoming = Incoming call, { $length }
common-call-log-outgoing = Outgoing call, { $length }
common-quality-measuring = measuring…
common-quality-poor = poor connection
common-quality-fair = fair connection
common-quality-good = good connection

## Day headings
common-today = Today
common-yesterday = Yesterday

## Notices
common-invalid-address-error = invalid address { $address }: { $error }
common-call-report-copied = The call report is on the clipboard (it holds no IP address).
common-gone-microphone = microphone '{ $name }'
common-gone-speaker = speaker '{ $name }'
common-gone-camera = camera '{ $name }'
# Joins the devices above (spaces kept by the quoted literals).
common-list-and = {" "}and{" "}
common-devices-gone = Your { $devices } is not connected: the system default is used until it is back.
common-language = Language
common-language-system = System ({ $language })
