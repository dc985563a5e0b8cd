"""Domain events: how a lower layer tells higher ones that something happened.

Imports point down only (README, *Architecture*): ``sessions`` knows nothing of OpenID
Connect, ``directory`` nothing of Keystone tokens. When a change in a lower layer matters
to a higher one, the lower layer sends a signal here and the higher package connects to it
in its own ``init_app``. Receivers run synchronously, in the sender's transaction, so a
side effect commits or rolls back with the change that caused it.

Every signal is sent with the Flask application as sender; keyword arguments are the
payload. Receivers are module-level functions, so connecting twice (tests build many
apps) is harmless: blinker keeps one receiver per function.

Each signal, with who sends it, its payload, and who connects to it:

- ``session_ended``
  - sent by ``sessions``
  - payload: ``session_hash``, ``subject`` (public id)
  - connected by ``oidc.logout``: revoke the session's tokens, queue back-channel logouts
- ``password_changed``
  - sent by ``security.new_password``
  - payload: ``account``, ``reason``, ``keep_session_hash``, ``first``
  - connected by ``sessions``: end the sessions; ``selfservice.notifications``: confirmation email;
    ``selfservice.api_password_flow``: open API-password resets of its console users end;
    ``selfservice.email_change``: a pending email change is cancelled
- ``email_changed``
  - sent by ``selfservice.email_change`` when a confirmed change switches the address
  - payload: ``account`` (already on its new address), ``old_email``
  - connected by ``selfservice.flows``: pending reset links die; ``selfservice.api_password_flow``:
    open API-password resets and their codes die (everything mailed to the old address)
- ``account_removed``
  - sent by ``directory.accounts`` (a disabled account purged)
  - payload: ``account`` (still loaded, about to be deleted)
  - connected by ``sessions``: end every session; ``oidc.logout``: revoke every token
- ``account_disabled``
  - sent by ``directory.accounts`` when an account is left with no contract
  - payload: ``account`` (already disabled, kept)
  - connected by ``sessions``: end every session; ``oidc.logout``: revoke every token
- ``membership_changed``
  - sent by ``directory.members``
  - payload: ``account_id``, ``contract_id`` (roles changed or member removed)
  - connected by ``oidc.logout``: revoke tokens that carried that contract's console roles
- ``api_password_changed``
  - sent by ``directory.console_users``
  - payload: ``console_user``
  - connected by ``keystone``: end its tokens; ``iam.access_keys``: end its temporary keys;
    ``selfservice.notifications``: email
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

session_ended = _signals.signal("session-ended")
password_changed = _signals.signal("password-changed")
email_changed = _signals.signal("email-changed")
account_removed = _signals.signal("account-removed")
account_disabled = _signals.signal("account-disabled")
membership_changed = _signals.signal("membership-changed")
api_password_changed = _signals.signal("api-password-changed")
