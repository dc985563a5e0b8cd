"""Import every table so that the metadata (and alembic) sees the whole schema."""

from idp.api.models import AccessKey
from idp.api.models import ApiToken
from idp.api.models import ConsoleUser
from idp.api.models import SignatureSeen
from idp.api.models import VerificationCode
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
from idp.oidc.models import ClientAssertion
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
    "AccessKey",
    "Account",
    "ApiToken",
    "AuditEvent",
    "AuthorizationCode",
    "BackchannelLogout",
    "CaptchaChallenge",
    "ClientAssertion",
    "Consent",
    "ConsoleGroup",
    "ConsoleUser",
    "Contract",
    "Membership",
    "MembershipConsoleRole",
    "OAuth2Client",
    "OAuth2Token",
    "OutboxMessage",
    "PasswordLink",
    "RateCounter",
    "SignatureSeen",
    "SsoSession",
    "ThrottleCounter",
    "VerificationCode",
    "metadata",
]
