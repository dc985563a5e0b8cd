"""Import every table so that the metadata (and alembic) sees the whole schema."""

from idp.directory.console_users import ConsoleUser
from idp.directory.invitations import Invitation
from idp.directory.models import Account
from idp.directory.models import ConsoleGroup
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.directory.models import MembershipConsoleRole
from idp.extensions import db
from idp.iam.models import AccessKey
from idp.iam.models import SignatureSeen
from idp.jobs import Job
from idp.keystone.models import ApiToken
from idp.management.idempotency import IdempotencyKey
from idp.oidc.models import AuthorizationCode
from idp.oidc.models import ClientAssertion
from idp.oidc.models import Consent
from idp.oidc.models import OAuth2Client
from idp.oidc.models import OAuth2Token
from idp.security.audit import AuditEvent
from idp.security.captcha import CaptchaChallenge
from idp.security.codes import VerificationCode
from idp.security.counters import RateCounter
from idp.selfservice.api_password_flow import ApiPasswordFlow
from idp.selfservice.email_change import EmailChange
from idp.selfservice.flows import PasswordLink
from idp.sessions import SsoSession

metadata = db.metadata

__all__ = [
    "AccessKey",
    "Account",
    "ApiPasswordFlow",
    "ApiToken",
    "AuditEvent",
    "AuthorizationCode",
    "CaptchaChallenge",
    "ClientAssertion",
    "Consent",
    "ConsoleGroup",
    "ConsoleUser",
    "Contract",
    "EmailChange",
    "IdempotencyKey",
    "Invitation",
    "Job",
    "Membership",
    "MembershipConsoleRole",
    "OAuth2Client",
    "OAuth2Token",
    "PasswordLink",
    "RateCounter",
    "SignatureSeen",
    "SsoSession",
    "VerificationCode",
    "metadata",
]
