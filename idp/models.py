"""Import every table so that the metadata (and alembic) sees the whole schema."""

from idp.audit import AuditEvent
from idp.directory.models import Account
from idp.directory.models import ConsoleGroup
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.directory.models import MembershipConsoleRole
from idp.extensions import db
from idp.mail.outbox import OutboxMessage
from idp.oidc.logout import BackchannelLogout
from idp.oidc.models import AuthorizationCode
from idp.oidc.models import Consent
from idp.oidc.models import OAuth2Client
from idp.oidc.models import OAuth2Token
from idp.security.captcha import CaptchaChallenge
from idp.security.ratelimit import RateCounter
from idp.security.throttle import ThrottleCounter
from idp.selfservice.flows import PasswordLink
from idp.sessions import SsoSession

metadata = db.metadata

__all__ = [
    "Account",
    "AuditEvent",
    "AuthorizationCode",
    "BackchannelLogout",
    "CaptchaChallenge",
    "Consent",
    "ConsoleGroup",
    "Contract",
    "Membership",
    "MembershipConsoleRole",
    "OAuth2Client",
    "OAuth2Token",
    "OutboxMessage",
    "PasswordLink",
    "RateCounter",
    "SsoSession",
    "ThrottleCounter",
    "metadata",
]
