# English: chat. Keys are prefixed by area; values are what the window shows.

## The left column: tabs, contacts, call history (view/contacts.rs)

chat-tab-contacts = Contacts
chat-tab-rooms = Rooms
chat-tab-rooms-invitations = Rooms ({ $count ->
        [one] { $count } invitation
       *[other] { $count } invitations
    })
chat-tab-rooms-mentions = Rooms (@{ $count })
chat-tab-calls = Calls
chat-tab-calls-missed = Calls ({ $count } missed)
chat-copy-call-report = Copy the last call's report
chat-no-calls = No calls yet.
chat-search-contacts = Search contacts
chat-search-hint = name or address
chat-add-contact = Add contact
chat-add = Add
chat-wants-to-add = { $jid } wants to add you
chat-allow = Allow
chat-deny = Deny
chat-block = Block

## A conversation (view/conversation.rs)

chat-choose-contact = Choose a contact to chat or call.
chat-more = More
chat-encryption-devices = Encryption and devices
chat-unblock-contact = Unblock { $name }
chat-block-contact = Block { $name }
chat-remove-contact = Remove { $name } from contacts
chat-video-call = Video call
# The button that starts a call (a verb).
chat-call = Call
chat-show-earlier = Show earlier messages
chat-call-minutes = Call, { $min } min { $sec } s
chat-call-seconds = Call, { $sec } s
chat-call-not-answered = Call not answered
chat-call-missed = Missed call
# A call in the timeline (a noun).
chat-call-item = Call
chat-typing = { $name } is typing…
chat-editing = Editing your message
chat-replying-to = Replying to “{ $text }”
chat-cancel = Cancel
chat-message = Message
chat-message-hint = Write a message
chat-attach-hover = Send a file (or drop files here, or paste a picture)
chat-send = Send
chat-dismiss = Dismiss
chat-drop-to-send = Drop to send to { $name }

## A message: delivery, menu, reactions, files (view/message.rs)

chat-show-answered = Show the message it answers
chat-retracted = This message was retracted
chat-status-sending = sending
chat-status-sent = sent
chat-status-delivered = delivered
chat-status-read = read
chat-status-edited = edited
chat-reply = Reply
chat-react = React
chat-edit = Edit
chat-retract = Retract
chat-reaction-take-back = Take back your reaction
chat-reaction-same = { $names } — react the same
chat-picture-open = { $name } — click to open
chat-show-picture = Show picture
chat-download = Download
chat-open = Open
chat-no-preview = no preview
chat-try-again = Try again
# A transfer's progress: sizes such as "1.1 MB".
chat-progress = { $done } of { $total }
chat-size-bytes = { $count } bytes

## Encryption (view/encryption.rs)

chat-encrypted = Encrypted
chat-encrypted-hover = Messages are end-to-end encrypted (OMEMO) to this contact's { $count } device(s) and your own. Click for their fingerprints.
chat-not-encrypted = Not encrypted
chat-not-encrypted-hover = This contact publishes no OMEMO device: messages to it go unencrypted.
chat-fingerprint-help = Compare each fingerprint with the one the contact's device shows (in person, or over a call you trust) and verify it only if they are the same. Once one is verified, new devices of the contact get nothing until you decide.
chat-this-device = This device:
chat-no-devices = No device of this contact is known yet.
chat-device-no-key = device { $id } (key not seen yet)
chat-trust-verified = verified
chat-trust-untrusted = distrusted: gets nothing
chat-trust-undecided = new: gets nothing until you decide
chat-trust-trusted = trusted (not verified)
chat-device-inactive = no longer in use
chat-verify = Verify
chat-distrust = Distrust

## The quote of a reply whose message is not shown (window/chat.rs)

chat-reply-retracted = a retracted message
chat-reply-earlier = an earlier message

## Files (window/files.rs)

chat-cannot-open = cannot open { $path }: { $error }
chat-send-files-title = Send files to { $jid }
chat-choose-picture = Choose your picture
chat-pictures-filter = Pictures
chat-pasted-not-whole = the pasted picture was not whole
chat-send-picture-failed = cannot send the picture: { $error }
