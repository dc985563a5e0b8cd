"""The management API's blueprint: JSON only, CSRF-exempt (a bearer token, never a cookie,
authenticates it), every answer ``no-store``. Contracts here; a contract's users in
``users``, its console users and groups in ``console``.

Each view: the caller (``auth``), their membership of the contract named in the path (a
contract they are not on is a 404, as one that does not exist), the row of the rights table
(``rights.require``: 403), then the input (``payloads``: 400/422), then the directory, whose
refusals become the API's (``errors.from_directory``). A view commits what it changed.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import Map
from werkzeug.routing import Rule

from idp.directory.models import Account
from idp.directory.models import Membership
from idp.directory.roles import has_console
from idp.errors import IdpError
from idp.extensions import csrf
from idp.extensions import db
from idp.management import auth
from idp.management import errors
from idp.management import payloads
from idp.management import presenters
from idp.management import rights
from idp.management.auth import Caller
from idp.management.errors import ApiError
from idp.security import canonical

log = logging.getLogger("idp.management")

bp = Blueprint("management", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

NO_CONTRACT = _l("No contract of yours has this company account.")
NO_USER = _l("This contract has no user with this login.")
NO_CONSOLE = _l("This contract has no Flexible Engine console: it has no console users or groups.")


def ok(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def caller() -> Caller:
    """The authenticated caller of this request (once per request)."""
    if "management_caller" not in g:
        g.management_caller = auth.authenticate()
    found: Caller = g.management_caller
    return found


def membership(contract_id: str) -> Membership:
    """The caller's own membership of that contract; 404 when they have none."""
    account = caller().account
    query = (
        select(Membership)
        .where(Membership.account_id == account.id, Membership.contract_id == canonical.company_account(contract_id))
        .options(selectinload(Membership.contract), selectinload(Membership.console_roles))
    )
    found = db.session.scalar(query)
    if found is None:
        raise ApiError(404, "contract_not_found", NO_CONTRACT)
    return found


def authorised(contract_id: str, action: rights.Action) -> Membership:
    """The caller's membership, allowed to take ``action`` there (404 before 403)."""
    mine = membership(contract_id)
    if rights.RIGHTS[action].console and not has_console(mine.contract.offer):
        raise ApiError(404, "no_console", NO_CONSOLE)
    rights.require(mine, action)
    return mine


def member(contract_id: str, login: str) -> Membership:
    """Another member of the contract, by login (404 ``user_not_found``)."""
    if len(login) > 64:
        raise ApiError(404, "user_not_found", NO_USER)
    found = db.session.scalar(
        select(Membership)
        .join(Account, Membership.account_id == Account.id)
        .where(Membership.contract_id == contract_id, Account.login_canonical == canonical.login(login))
        .options(selectinload(Membership.account), selectinload(Membership.console_roles))
    )
    if found is None:
        raise ApiError(404, "user_not_found", NO_USER)
    return found


def members_page(contract_id: str, page: payloads.Page, *, console_only: bool = False) -> tuple[list[Membership], int]:
    """One page of a contract's members, searched over login, names and email, by login."""
    query: Select[Membership] = (
        select(Membership)
        .join(Account, Membership.account_id == Account.id)
        .where(Membership.contract_id == contract_id)
    )
    if console_only:
        query = query.where(Membership.console_roles.any())
    if page.q:
        needle = page.q.casefold()
        query = query.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (Account.login, Account.first_name, Account.last_name, Account.email)
                )
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Account.login_canonical)
        .offset(page.offset)
        .limit(page.per_page)
        .options(selectinload(Membership.account), selectinload(Membership.console_roles))
    )
    return list(rows), total


def listing(items: list[dict[str, Any]], page: payloads.Page, total: int) -> dict[str, Any]:
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": total}


# --- contracts ------------------------------------------------------------------------------


@bp.get("/contracts")
def my_contracts() -> ResponseReturnValue:
    """*My contracts* (FCA §4.8.3, FE §5.10): every contract the caller is declared on."""
    account = caller().account
    mine = db.session.scalars(
        select(Membership)
        .where(Membership.account_id == account.id)
        .options(selectinload(Membership.contract), selectinload(Membership.console_roles))
        .order_by(Membership.contract_id)
    )
    return ok({"items": [presenters.contract_summary(m) for m in mine]})


@bp.get("/contracts/<contract_id>")
def contract(contract_id: str) -> ResponseReturnValue:
    """*Your contract*, the caller's own roles and rights there, the add wizard's choices."""
    return ok(presenters.contract_detail(authorised(contract_id, rights.Action.CONTRACT_VIEW)))


# --- errors: one shape for everything under /api/v1/ ------------------------------------------


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    db.session.rollback()
    return errors.respond(error)


@bp.errorhandler(IdpError)
def _directory_error(error: IdpError) -> Response:
    db.session.rollback()
    return errors.respond(errors.from_directory(error))


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    db.session.rollback()
    return errors.respond(errors.from_http(error.code or 500))


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    log.exception("management_api_error")
    db.session.rollback()
    return errors.respond(errors.from_http(500))


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
# Not routes of the API: they answer its 404s and 405s (no OpenAPI entry).
CATCH_ALL = frozenset({f"{bp.name}.api_root", f"{bp.name}.unknown_route"})


def _routes() -> Map:
    """This blueprint's routes alone (the catch-all left out), to tell a wrong method (405)
    from an unknown path (404)."""
    found: Map | None = current_app.extensions.get("idp.management.routes")
    if found is None:
        found = Map(
            [
                Rule(rule.rule, methods=rule.methods, endpoint=rule.endpoint)
                for rule in current_app.url_map.iter_rules()
                if rule.endpoint.startswith(f"{bp.name}.") and rule.endpoint not in CATCH_ALL
            ]
        )
        current_app.extensions["idp.management.routes"] = found
    return found


@bp.route("/", methods=ALL_METHODS)
def api_root() -> ResponseReturnValue:
    raise ApiError(404, "not_found")


@bp.route("/<path:_rest>", methods=ALL_METHODS)
def unknown_route(_rest: str) -> ResponseReturnValue:
    """Whatever no route of the API takes: 404, or 405 when only the method is wrong, in the
    API's shape (without this, routing would fail before the blueprint and answer a page)."""
    try:
        _routes().bind("").match(request.path, method=request.method)
    except MethodNotAllowed as exc:
        allow = ", ".join(sorted(exc.valid_methods or []))
        raise ApiError(405, "method_not_allowed", headers={"Allow": allow}) from None
    except HTTPException:
        pass
    raise ApiError(404, "not_found")
