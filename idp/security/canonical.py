"""One spelling per identifier, used by every lookup and every counter keyed on it.

If a lookup and a throttle canonicalised a login differently, each spelling the lookup
accepts but the throttle tells apart (``"  paul.dupont"``, ``"PAUL.DUPONT"``, full-width
letters) would get a fresh counter for the same person. So both call these.
"""

from __future__ import annotations

import re
import unicodedata

# A company account (a contract's id, the console's domain name): OCB and six or seven ASCII
# digits, as in the guides' examples (OCB000023, OCB0000124). The one pattern every form,
# parameter and command checks a company account with.
COMPANY_ACCOUNT_RE = re.compile(r"OCB[0-9]{6,7}")


def login(value: str) -> str:
    """Full-width forms, case and surrounding spaces do not make another login."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def email(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def company_account(value: str) -> str:
    """``ocb0000124 `` and ``OCB0000124`` name the same contract."""
    return unicodedata.normalize("NFKC", value).strip().upper()
