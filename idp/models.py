"""Import every table so that the metadata (and alembic) sees the whole schema."""

from idp.audit import AuditEvent
from idp.directory.models import Account
from idp.directory.models import ConsoleGroup
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.directory.models import MembershipConsoleRole
from idp.extensions import db
from idp.security.throttle import ThrottleCounter
from idp.sessions import SsoSession

metadata = db.metadata

__all__ = [
    "Account",
    "AuditEvent",
    "ConsoleGroup",
    "Contract",
    "Membership",
    "MembershipConsoleRole",
    "SsoSession",
    "ThrottleCounter",
    "metadata",
]
