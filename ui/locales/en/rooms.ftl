# English: rooms. Keys are prefixed by area; values are what the window shows.

## The Rooms tab: join form, invitations, the list of rooms
rooms-join-or-create = Join or create a room
rooms-invites-you = { $from } invites you to { $room }
rooms-join = Join
rooms-decline = Decline
rooms-none-yet = No rooms yet.
rooms-not-joined = not joined

## A room on screen
rooms-more = More
rooms-leave = Leave room
rooms-remove-bookmark = Remove bookmark
rooms-bookmark = Bookmark
rooms-autojoin = Join at sign-in
rooms-mute-mentions = Mute mentions
rooms-destroy-room = Destroy room…
rooms-people = People ({ $count })
rooms-destroy-confirm = Destroy this room for everyone in it? This cannot be undone.
rooms-destroy = Destroy
rooms-cancel = Cancel
rooms-not-in-room = You are not in this room.
rooms-join-as = Join as { $nick }
rooms-invite = Invite
rooms-invite-hint = contact address
rooms-send-invitation = Send invitation
rooms-show-earlier = Show earlier messages
rooms-editing = Editing your message
rooms-replying = Replying to “{ $text }”
rooms-message = Message
rooms-message-hint = Write to everyone in the room
rooms-attach-hover = Send a file (or drop files here, or paste a picture)
rooms-send = Send
rooms-subject = Subject
rooms-save = Save
rooms-change-subject = Change subject
rooms-set-subject = Set a subject

## A room's lines
rooms-show-answered = Show the message it answers
rooms-private-to = (privately to { $nick })
rooms-private-from = { $nick } (privately)
rooms-retracted = This message was retracted
rooms-edited = edited
rooms-reply = Reply
rooms-react = React
rooms-edit = Edit
rooms-retract = Retract
rooms-reply-retracted = a retracted message
rooms-reply-earlier = an earlier message

## Notices in a room
rooms-you-joined = You joined as { $nick }
rooms-you-are-out = You are out: { $reason }
rooms-occupant-out = { $nick } is out: { $reason }
rooms-subject-set = { $nick } set the subject: { $subject }
rooms-you-invited = You invited { $jid }
# $why is empty, or ": " and the reason the invitee gave.
rooms-declined = { $by } declined{ $why }
rooms-you-created = You created the room

## The window's notices
rooms-not-a-room-address = '{ $room }' is not a room address
rooms-not-a-service = '{ $service }' is not a service (e.g. conference.example.org)
rooms-not-an-invitee = '{ $jid }' is not an address to invite

## People in a room
rooms-role-moderator = moderator
rooms-role-visitor = visitor
rooms-nothing-to-change = Nothing you may change
rooms-kick = Kick
rooms-give-voice = Give voice
rooms-take-voice = Take voice
rooms-ban = Ban
rooms-make-member = Make member
rooms-make-admin = Make admin
rooms-make-owner = Make owner
rooms-revoke = Take affiliation away

## The rooms dialog
rooms-tab-address = By address
rooms-tab-new = New room
rooms-tab-directory = Directory
rooms-nickname = Nickname
rooms-address = Room address
rooms-password-if-any = Password (if the room has one)
rooms-name = Name
rooms-name-hint = what people see
rooms-members-only = Members only (people you invite)
rooms-members-only-hover = Only members may join; everyone sees each other's address
rooms-persistent = Keep the room when everyone has left
rooms-public = List it in the service's directory
rooms-password-optional = Password (optional)
rooms-create = Create
rooms-service = Service
rooms-list = List
rooms-asking = Asking the service…
rooms-search = Search
rooms-search-hint = name or address
rooms-directory-count = { $shown } of { $all } rooms
rooms-you-left = You left the room.

## Reasons the client gives (src/window/rooms.rs reason_words)
rooms-reason-nick-taken = that nickname is taken in this room: choose another
rooms-reason-password = this room needs a password (or the one given is wrong)
rooms-reason-members-only = this room is for members only: ask an owner to add you
rooms-reason-banned-join = you are banned from this room
rooms-reason-not-found = this room does not exist (and may not be created by you)
rooms-reason-full = the room is full, or its service is unavailable
rooms-reason-unreachable = the room's server cannot be reached
rooms-reason-nick-needed = a nickname is needed to join
rooms-reason-refused = the room refused to let you in
rooms-reason-removed = removed (no longer a member)
rooms-reason-shutdown = the room's service shut down
rooms-reason-destroyed = the room was destroyed
rooms-reason-kicked = kicked
rooms-reason-banned = banned
