"""API password reset flows: the stored object between step 1 and step 2 (guide §6.1.3–6.1.4),
shared by the web pages (``api_password``) and the JSON API (``api_password_json``).

    step 1: company account + email + captcha ──► open, naming the console user they match,
            or nobody (no match, or the per-target limit reached); the same answer either way
    open ──Get code──► a 60-second code mailed to the console user it names (nobody: none),
                       the flow's own (``codes`` scope: the flow's id hash); at most
                       ``api_password_flow_codes`` per flow
    open ──Next: password rules that ignore the login, confirmation, then the code──► verified
                 (a flow naming nobody never gets there: its code fails like a wrong one)
    verified ──Next: the login rule, then the API password set──► used
    open, verified ──``api_password_flow_seconds``──► expired
                   ──``api_password_flow_attempts`` submissions──► exhausted
                   ──the person's email switched, or their web password changed──► deleted

Step 2 names the flow (256 random bits, only their SHA-256 stored), never the email or the
company account, so that its answers cannot tell who exists: everything that does not
depend on the person is checked first and answered alike for a flow naming someone and for
a flow naming nobody; the rule that depends on the login runs only once the code is
accepted, when the person has shown they read the console user's mailbox. Verified, the
flow lets that person pick another password without a new code, for the rest of its life.
Each step-2 request counts against its client address, and each submission spends one of
the flow's attempts first (a conditional ``UPDATE … WHERE attempts < max``, committed).

A code belongs to the flow it was asked for, not just to the console user: anyone who
solves one captcha can open a flow naming someone else, and that flow's *Get code* and
wrong guesses must not replace or burn the code the person is typing in their own flow.
A flow is proof of one mailbox at one moment: when the account's address switches
(``events.email_changed``) its flows and codes die, since they were mailed to the old
address; when its web password changes (``events.password_changed``: a reset, or a person
taking their account back) its flows die too, verified ones included.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp import clock
from idp import events
from idp.db_types import UTCDateTime
from idp.directory import console_users
from idp.directory.console_users import ConsoleUser
from idp.directory.models import Account
from idp.errors import IdpError
from idp.extensions import Model
from idp.extensions import db
from idp.extensions import rowcount
from idp.mail import messages
from idp.mail.outbox import enqueue
from idp.security import audit
from idp.security import canonical
from idp.security import codes
from idp.security.codes import CodePurpose
from idp.security.new_password import policy_errors
from idp.security.tokens import new_token
from idp.security.tokens import token_hash
from idp.selfservice.forms import PASSWORDS_DIFFER
from idp.selfservice.forms import REQUIRED
from idp.selfservice.forms import TOO_MANY
from idp.selfservice.limits import Decoy
from idp.selfservice.limits import address_within_limit

PURPOSE = CodePurpose.API_PASSWORD_RESET
#: The counters of step 1 (per address, per company account and email) ...
LIMIT_PURPOSE = "api-password"
#: ... and of step 2 (per address: *Get code* and *Next* together).
STEP_PURPOSE = "api-password-flow"
WRONG_CODE = _l("The verification code is wrong, used or expired. Ask for a new one.")


class FlowExpired(IdpError):
    """Unknown, expired, used or exhausted: one answer, whoever the flow names."""

    code, status = "flow_expired", 404
    message = _l("This API password reset has expired or is already finished. Please start again.")


class TooManyRequests(IdpError):
    code, status = "too_many_requests", 429
    message = TOO_MANY


class TooManyCodes(IdpError):
    code, status = "too_many_codes", 429
    message = _l("Too many codes have been requested for this reset. Please start again.")


class ApiPasswordFlow(Model):
    __tablename__ = "api_password_flows"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The console user step 1 named, or NULL when it named nobody (the answers are the same).
    console_user_id: Mapped[int | None] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    company_account: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Started:
    token: str
    expires_at: datetime
    company_account: str


@dataclass(frozen=True)
class Outcome:
    """What a step-2 submission came to; both lists empty when the API password was set."""

    password_errors: list[str] = field(default_factory=list)
    code_errors: list[str] = field(default_factory=list)
    # The code has been accepted (now or before): the person is asked for none any more.
    verified: bool = False

    @property
    def done(self) -> bool:
        return not self.password_errors and not self.code_errors


def limit_target(company_account: str, email: str) -> str:
    """Step 1's per-target counter key: the company account and the email, canonical."""
    return f"{canonical.company_account(company_account)}:{canonical.email(email)}"


def start(company_account: str, email: str, *, look_up: bool = True) -> Started:
    """Step 1, once the captcha and the limits passed: a flow for whatever was typed (in the
    caller's transaction). ``look_up=False`` (the target's limit reached) names nobody."""
    s = current_app.config["IDP_SETTINGS"].selfservice
    company = canonical.company_account(company_account)
    user = console_users.by_email(company, email) if look_up else None
    now = clock.now()
    table = ApiPasswordFlow.__table__
    # Expired flows are useless: sweep a few on the way (cheap, bounded by the index).
    db.session.execute(delete(table).where(table.c.expires_at < now - timedelta(hours=1)))
    token = new_token()
    expires_at = now + timedelta(seconds=s.api_password_flow_seconds)
    db.session.add(
        ApiPasswordFlow(
            id_hash=token_hash(token),
            console_user_id=user.id if user else None,
            company_account=company[:16],
            created_at=now,
            expires_at=expires_at,
            attempts=0,
            codes_sent=0,
        )
    )
    if look_up:
        audit.record(
            audit.EventTag.API_PASSWORD_RESET_REQUESTED,
            user.account.id if user else None,
            subject=audit.subject_hash(limit_target(company, email)),
            known=user is not None,
        )
    return Started(token, expires_at, company)


def find(token: str) -> ApiPasswordFlow:
    """The live flow for ``token``, or :class:`FlowExpired` whatever the reason."""
    if not token or len(token) > 128:
        raise FlowExpired()
    flow = db.session.get(ApiPasswordFlow, token_hash(token))
    max_attempts = current_app.config["IDP_SETTINGS"].selfservice.api_password_flow_attempts
    if flow is None or flow.used_at is not None or flow.expires_at <= clock.now() or flow.attempts >= max_attempts:
        raise FlowExpired()
    return flow


def _count_address() -> None:
    """Step 2's per-address limit, before the flow is even read."""
    if not address_within_limit(STEP_PURPOSE):
        db.session.commit()
        raise TooManyRequests()


def _named(flow: ApiPasswordFlow) -> ConsoleUser | None:
    """The console user the flow names, while it is still an active one."""
    if flow.console_user_id is None:
        return None
    user = db.session.get(ConsoleUser, flow.console_user_id)
    return user if user is not None and user.account.is_active else None


def _live(flow: ApiPasswordFlow) -> ColumnElement[bool]:
    """This flow's row, while it is neither used nor expired (for conditional updates)."""
    table = ApiPasswordFlow.__table__
    return and_(table.c.id_hash == flow.id_hash, table.c.used_at.is_(None), table.c.expires_at > clock.now())


def request_code(token: str) -> None:
    """*Get code*: mail a code to the console user the flow names, if any. The same answer
    either way (and the same work: a flow naming nobody renders a decoy email)."""
    _count_address()
    flow = find(token)
    if flow.verified_at is not None:
        return  # the code was accepted already: nothing to send, nothing to tell
    table = ApiPasswordFlow.__table__
    max_codes = current_app.config["IDP_SETTINGS"].selfservice.api_password_flow_codes
    taken = rowcount(
        update(table).where(_live(flow), table.c.codes_sent < max_codes).values(codes_sent=table.c.codes_sent + 1)
    )
    db.session.commit()  # counted, whatever happens next
    if not taken:
        raise TooManyCodes()
    user = _named(flow)
    context: dict[str, Any] = {
        "purpose": PURPOSE.value,
        "seconds": current_app.config["IDP_SETTINGS"].api.code_lifetime_seconds,
        "company": flow.company_account,
    }
    if user is not None:
        code = codes.issue(user.id, PURPOSE, scope=flow.id_hash)  # this flow's code only
        enqueue(messages.for_account("verification-code", user.account, code=code, **context))
    else:
        messages.render("verification-code", "nobody@invalid", "fr", account=Decoy, code="000000", **context)
    db.session.commit()


def _spend_attempt(flow: ApiPasswordFlow) -> None:
    """Count a submission before anything else, or :class:`FlowExpired` once none is left.

    One conditional ``UPDATE … WHERE attempts < max``, committed at once: parallel
    submissions cannot all read an unspent count, on SQLite and PostgreSQL alike."""
    table = ApiPasswordFlow.__table__
    max_attempts = current_app.config["IDP_SETTINGS"].selfservice.api_password_flow_attempts
    spent = rowcount(
        update(table).where(_live(flow), table.c.attempts < max_attempts).values(attempts=table.c.attempts + 1)
    )
    db.session.commit()
    if not spent:
        raise FlowExpired()


def _accept_code(flow: ApiPasswordFlow, user: ConsoleUser | None, code: str) -> bool:
    """One try of the code; True once it is accepted, and the flow is then verified for good.

    A flow naming nobody fails here like a wrong code, at the same point of the request."""
    code = (code or "").strip()
    if user is None:
        audit.record(audit.EventTag.API_CODE_REFUSED, None, purpose=PURPOSE.value, reason="flow names nobody")
        db.session.commit()
        return False
    if not codes.check(user.id, PURPOSE, code, account_id=user.account.id, scope=flow.id_hash):
        db.session.commit()
        return False
    table = ApiPasswordFlow.__table__
    db.session.execute(update(table).where(_live(flow), table.c.verified_at.is_(None)).values(verified_at=clock.now()))
    db.session.commit()
    return True


def submit(token: str, password: str, confirm: str, code: str) -> Outcome:
    """*Next*: the order of the checks is the point (module docstring)."""
    _count_address()
    flow = find(token)
    _spend_attempt(flow)
    verified = flow.verified_at is not None
    errors = policy_errors(password, None)
    if not errors and password != confirm:
        errors = [str(PASSWORDS_DIFFER)]
    if errors:
        return Outcome(password_errors=errors, verified=verified)
    user = _named(flow)
    if not verified:
        if not (code or "").strip():
            return Outcome(code_errors=[str(REQUIRED)])
        if not _accept_code(flow, user, code):
            return Outcome(code_errors=[str(WRONG_CODE)])
    if user is None:
        raise FlowExpired()  # verified, but its console user is gone or disabled since
    errors = policy_errors(password, user.account.login)
    if errors:
        return Outcome(password_errors=errors, verified=True)
    # The hash first (no lock held while hashing), then the flow's single use; a flow used
    # meanwhile by another request undoes it all.
    console_users.set_api_password(user, password)
    table = ApiPasswordFlow.__table__
    if not rowcount(update(table).where(_live(flow)).values(used_at=clock.now())):
        db.session.rollback()
        raise FlowExpired()
    db.session.commit()
    return Outcome(verified=True)


def _end_flows(account: Account) -> list[int]:
    """Delete every flow naming one of the account's console users (in the caller's
    transaction: a submission that read one first then fails its ``used_at`` update and
    rolls back); return those console users' ids."""
    user_ids = [user.id for user in console_users.of_account(account.id)]
    if user_ids:
        table = ApiPasswordFlow.__table__
        ended = db.session.scalars(
            delete(table).where(table.c.console_user_id.in_(user_ids)).returning(table.c.id_hash)
        ).all()
        codes.forget(user_ids, scopes=list(ended))
    return user_ids


def _email_changed(_app: Flask, *, account: Account, **_: Any) -> None:
    """Flows and codes were mailed to the old address: nothing it received may act now."""
    codes.forget(_end_flows(account))


def _password_changed(_app: Flask, *, account: Account, **_: Any) -> None:
    """A new web password (often someone taking their account back) ends the API-password
    resets under way, verified ones included."""
    _end_flows(account)


def init_app(app: Flask) -> None:
    events.email_changed.connect(_email_changed)
    events.password_changed.connect(_password_changed)
