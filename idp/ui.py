"""Words and form pieces every web page shares, in the seed guides' wording (SPEC §3).

They sit below every package that renders a page, so that the provider's pages and the
self-service pages use one message without importing each other.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

REQUIRED = _l("This field is required.")
SIGNED_OUT = _l("You are signed out.")
