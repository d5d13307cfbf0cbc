# English: call. Keys are prefixed by area; values are what the window shows.

## The video area
call-peer-camera-off = { $who } turned their camera off
call-video-from = Video from { $who }
call-waiting-video = Waiting for { $who }'s video…
call-your-camera = Your camera

## The incoming-call window
call-incoming-title = Incoming call
call-incoming = { $who } is calling
call-accept = Accept
call-accept-video = Accept with video
call-decline = Decline
call-block-caller = Block caller

## The call bar
call-phase-calling = calling…
call-phase-ringing = ringing…
call-phase-connecting = connecting…
call-hang-up = Hang up
call-copy-report = Copy call report
call-copy-report-hint = Signaling, network and quality of this call, without addresses: for a bug report
call-unmute = Unmute
call-mute = Mute
call-camera-off = Camera off
call-camera-on = Camera on
call-start-video = Start video
call-resume = Resume
call-hold = Hold
call-reconnecting = Reconnecting: the network path to { $who } is lost. The call goes on when it is found again.
call-on-hold = The call is on hold: you hear nothing and send nothing.
call-you-are-muted = You are muted: the others do not hear you.
call-peer-held = { $who } put the call on hold.
call-peer-muted = { $who } muted their microphone.
call-mic-silent = Your microphone has sent only silence for { $seconds } s: check that it is on and not muted in the system, or pick another below.
call-mic-level = Mic level
call-verified = Verified
call-verified-hint = Its encryption key is one you verified (OMEMO).
call-encrypted = Encrypted
call-encrypted-hint = Tied to the contact's OMEMO device, which you have not verified.
call-not-verified = Not verified
call-not-verified-hint = The contact's device did not send its media key through OMEMO (no session with it yet, or a client without it).
# The numbers come formatted (rtt, jitter and kbps whole, loss with one decimal).
call-quality-line = rtt { $rtt } ms · jitter { $jitter } ms · loss { $loss } % · { $kbps } kb/s
# $info is call-video-stats.
call-video-info = video { $info }
call-quality = Call quality
call-plot-rtt = RTT (ms)
call-plot-jitter = Jitter (ms)
call-plot-loss = Loss (%)
call-plot-bitrate = Bitrate (kb/s)

## Notices from the account's events (src/window/events.rs)
call-video-declined = { $peer } did not take the video.
call-password-changed = The password is changed.
call-video-stats = { $width }x{ $height } · { $fps } fps · { $kbps } kb/s
call-netcheck-no-service = Your server lists no STUN or TURN service.

## Desktop notifications of calls (src/notify.rs)
call-notification-show = Show
call-missed-from = Missed call from { $who }
call-call-back = Call back

## Screen sharing (ui/src/view/call.rs)
call-share-screen = Share screen
call-stop-sharing = Stop sharing
call-sharing-banner = You are sharing your screen
call-sharing-stop = Stop
call-screen-picker-title = Share your screen
call-screen-picker-hint = Pick a monitor or a window. Nothing is sent before you pick.
call-screen-picker-looking = Looking for monitors and windows…
call-screen-monitor = Monitor { $n }
call-video-fit = Fit
call-video-actual-size = Actual size
call-screen-share-failed = Your screen is not shared: { $why }
call-screen-share-ended = Screen sharing stopped: { $why }
