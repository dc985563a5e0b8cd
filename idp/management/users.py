"""A contract's users (FCA §4.7, FE §5.9.1): list and search, one user, add, change roles,
remove. Routes of the management blueprint (``views.bp``)."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.directory import service
from idp.directory.models import Account
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.extensions import db
from idp.management import errors
from idp.management import idempotency
from idp.management import payloads
from idp.management import presenters
from idp.management.errors import ApiError
from idp.management.rights import Action
from idp.management.views import authorised
from idp.management.views import bp
from idp.management.views import caller
from idp.management.views import listing
from idp.management.views import member
from idp.management.views import members_page
from idp.management.views import ok
from idp.security import canonical

ADDED = _l("%(login)s was added to the contract; the access email is on its way.")
INVITED = _l("An invitation was sent to %(email)s.")
ALREADY_MEMBER = _l("A user of this contract already has this email address.")
LOGIN_TAKEN = _l("This login is already taken. Please choose another one.")

ADD_FIELDS = (*payloads.IDENTITY_FIELDS, "roles", "console_roles")
CONSOLE_ADD_FIELDS = (*payloads.IDENTITY_FIELDS, "console_roles")


@bp.get("/contracts/<contract_id>/users")
def list_users(contract_id: str) -> ResponseReturnValue:
    page = payloads.page()
    mine = authorised(contract_id, Action.USERS_SEARCH if page.q else Action.USERS_VIEW)
    rows, total = members_page(mine.contract_id, page)
    return ok(listing([presenters.user_row(m) for m in rows], page, total))


@bp.get("/contracts/<contract_id>/users/<login>")
def get_user(contract_id: str, login: str) -> ResponseReturnValue:
    mine = authorised(contract_id, Action.USERS_VIEW)
    return ok(presenters.user_detail(member(mine.contract_id, login)))


def _precheck(contract: Contract, email: str, login: str) -> None:
    """The two usual conflicts, with their own codes (the directory refuses them too, under
    its locks, as a plain conflict). Neither says which login owns an email."""
    owner = db.session.scalar(select(Account).where(Account.email_canonical == canonical.email(email)))
    if owner is not None:
        member_here = db.session.scalar(
            select(Membership.id).where(Membership.account_id == owner.id, Membership.contract_id == contract.id)
        )
        if member_here is not None:
            raise ApiError(409, "already_member", ALREADY_MEMBER, field="email")
        return
    if db.session.scalar(select(Account.id).where(Account.login_canonical == canonical.login(login))) is not None:
        raise ApiError(409, "login_taken", LOGIN_TAKEN, field="login")


def add(mine: Membership, data: dict[str, Any], section: Any, console: list[str] | None) -> tuple[dict[str, Any], int]:
    """Add a person (the wizard's *Finish*): a new identity is a user at once (201); an email
    that already has an account gets an invitation (202), told as "sent to the address
    typed", never naming the login that owns it."""
    identity = payloads.identity(data)
    _precheck(mine.contract, identity.email, identity.login)
    result = service.add_member(mine.contract_id, identity, section, console or [], inviter=caller().account)
    if result.membership is None:
        return {
            "status": "invitation_sent",
            "email": identity.email,
            "message": errors.text(INVITED, email=identity.email),
        }, 202
    user = presenters.user_detail(result.membership)
    return {"status": "added", "user": user, "message": errors.text(ADDED, login=user["login"])}, 201


@bp.post("/contracts/<contract_id>/users")
def add_user(contract_id: str) -> ResponseReturnValue:
    mine = authorised(contract_id, Action.USERS_ADD)
    idempotency.key_from_request()
    data = payloads.body_object(ADD_FIELDS)
    section = payloads.section_roles(mine.contract, data.get("roles"))
    console = payloads.console_roles(mine.contract, data.get("console_roles"))
    return idempotency.run(caller().account.id, data, lambda: add(mine, data, section, console))


@bp.put("/contracts/<contract_id>/users/<login>/roles")
def set_user_roles(contract_id: str, login: str) -> ResponseReturnValue:
    """Step 2 of the wizard, alone (FCA §4.7.3, FE §5.9.1.3): the sections named change, the
    others keep their role; ``console_roles``, when given, replaces the console roles."""
    mine = authorised(contract_id, Action.USERS_SET_ROLES)
    data = payloads.body_object(("roles", "console_roles"))
    section = payloads.section_roles(mine.contract, data.get("roles"))
    console = payloads.console_roles(mine.contract, data.get("console_roles"))
    target = member(mine.contract_id, login)
    change = service.set_roles(mine.contract_id, target.account, section, console, actor=caller().account)
    db.session.commit()
    return ok(presenters.user_detail(change.membership))


@bp.delete("/contracts/<contract_id>/users/<login>")
def remove_user(contract_id: str, login: str) -> ResponseReturnValue:
    """Remove a user from the contract (FCA §4.7.4): never the referent, never the last
    users manager (the directory refuses both: 409)."""
    mine = authorised(contract_id, Action.USERS_REMOVE)
    target = member(mine.contract_id, login)
    service.remove_member(mine.contract_id, target.account, actor=caller().account)
    db.session.commit()
    return "", 204
