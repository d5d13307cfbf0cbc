# English: account. Keys are prefixed by area; values are what the window shows.

## Sign-in form
account-welcome = Welcome to Banter
account-intro = Sign in with your XMPP account to call and chat with your contacts.
account-have-account = I have an account
account-create-tab = Create an account
account-create-explain = Choose your address as name@server: the server is where the account is created (one that lets anyone register).
account-address = Address
account-password = Password
account-repeat-password = Repeat password
account-remember = Remember password (in the system keyring)
account-advanced = Advanced
account-server = Server
account-ca-file = CA file
account-advanced-explain = Server: host:port when DNS does not point to it. CA file: a PEM file with the certificate of a private server.
account-create = Create account
account-sign-in = Sign in
account-creating = Creating the account…
account-connecting = Connecting…
account-try-explain = No account yet? Try Banter on this computer: a private server and an echo contact that answers calls by playing you back.
account-try-locally = Try it locally
account-echo-contact = Echo (plays you back)

## Form errors
account-address-format = Enter your address as name@server, e.g. alice@example.org
account-choose-password = Choose a password
account-enter-password = Enter your password
account-passwords-differ = The two passwords differ
account-server-format = Server must be host:port, e.g. xmpp.example.org:5222
account-invalid-address = invalid address { $address }
account-enter-password-of = Enter the password of { $account } to sign in.
account-not-created = The account was not created: { $error }
account-password-not-saved = Signed in, but the password was not saved: { $error }

## Account switcher
account-add-another = Add another account…
account-switcher-hint = Account

## Settings → Account
account-new-password = New password
account-repeat-new-password = Repeat new password
account-change-password = Change password
account-type-new-password = Type the new password
account-delete-explain = Deleting the account removes it from its server for good. Type { $account } to confirm.
account-confirm-address = Confirm address
account-delete = Delete account
account-deleted = { $account } is deleted from its server.
