"""The **My Credential** page (guide §6.2), for the signed-in person's console users.

It shows the user name, user id, company account (domain name and id), the email
(masked), the API password level, and the access keys. Creating a key asks for the
API password and a 60-second emailed code (*Get code*), then shows the secret once, with
a CSV download. Keys can be deactivated, reactivated and deleted.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import Length
from wtforms.validators import Optional

from idp import sessions
from idp.directory import console_users
from idp.directory.console_users import ConsoleUser
from idp.directory.credentials import api_subject
from idp.extensions import db
from idp.iam import access_keys
from idp.security import codes
from idp.security import credentials
from idp.security.codes import CodePurpose
from idp.security.throttle import Locked
from idp.selfservice.notifications import send_verification_code
from idp.sessions import signed_in

bp = Blueprint("my_credential", __name__, url_prefix="/my-credential")

PURPOSE = CodePurpose.ACCESS_KEY
CODE_SENT = _l("A verification code has been sent to your email address. It is valid for 60 seconds.")
WRONG_API_PASSWORD = _l("The API password is incorrect.")
NO_API_PASSWORD = _l("Set your API password first.")
WRONG_CODE = _l("The verification code is wrong, used or expired. Ask for a new one.")
TOO_MANY_KEYS = _l("You already have the maximum number of access keys. Delete one first.")
KEY_UPDATED = _l("The access key has been updated.")
KEY_DELETED = _l("The access key has been deleted.")


class AddKeyForm(FlaskForm):
    api_password = PasswordField(_l("API password"), validators=[Optional(), Length(max=4096)])
    code = StringField(_l("Email verification code"), validators=[Optional(), Length(max=16)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=255)])


class KeyActionForm(FlaskForm):
    access = HiddenField()


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    shown = local[0] + "***" + local[-1] if len(local) > 1 else local + "***"
    return f"{shown}@{domain}"


def _selected(session: sessions.SsoSession) -> tuple[list[ConsoleUser], ConsoleUser | None]:
    users = console_users.of_account(session.account_id)
    wanted = request.values.get("company_account")
    chosen = next((u for u in users if u.contract_id == wanted), users[0] if users else None)
    return users, chosen


def _page(
    user: ConsoleUser | None, users: list[ConsoleUser], form: AddKeyForm, status: int = 200, **context: object
) -> ResponseReturnValue:
    keys = access_keys.permanent_keys(user) if user else []
    limit = current_app.config["IDP_SETTINGS"].api.max_access_keys
    return render_template(
        "selfservice/my-credential.html",
        user=user,
        users=users,
        form=form,
        keys=keys,
        limit=limit,
        action_form=KeyActionForm(),
        mask_email=mask_email,
        domain_id=console_users.domain_id(user.contract_id) if user else None,
        **context,
    ), status


def _api_password_error(user: ConsoleUser, password: str) -> str | None:
    """The API password through the one password check (the Keystone login's counter)."""
    if user.api_password_hash is None:
        return str(NO_API_PASSWORD)
    try:
        credentials.check(credentials.API, api_subject(user), password)
    except credentials.InvalidCredentials:
        return str(WRONG_API_PASSWORD)
    except Locked as exc:
        return str(exc.message)
    return None


@bp.route("", methods=["GET", "POST"])
@signed_in
def page(session: sessions.SsoSession) -> ResponseReturnValue:
    users, user = _selected(session)
    form = AddKeyForm()
    if request.method == "GET" or user is None:
        return _page(user, users, form)
    if not form.validate_on_submit():
        return _page(user, users, form, 400, adding=True)
    error = _api_password_error(user, form.api_password.data or "")
    if error is not None:
        form.api_password.errors = [error]
        return _page(user, users, form, 400, adding=True)
    if request.form.get("action") == "code":
        send_verification_code(user, PURPOSE)
        db.session.commit()
        return _page(user, users, form, 200, adding=True, notice=str(CODE_SENT))
    if not codes.check(user.id, PURPOSE, form.code.data or "", account_id=user.account.id):
        db.session.commit()
        form.code.errors = [str(WRONG_CODE)]
        return _page(user, users, form, 400, adding=True)
    try:
        key, secret = access_keys.create(user, form.description.data or "")
    except access_keys.TooManyKeys:
        db.session.commit()  # the code is spent
        return _page(user, users, form, 400, adding=True, error=str(TOO_MANY_KEYS))
    db.session.commit()
    csv = f"User Name,Access Key Id,Secret Access Key\r\n{user.account.login},{key.access},{secret}\r\n"
    response = current_app.make_response(
        render_template(
            "selfservice/access-key-created.html",
            user=user,
            key=key,
            secret=secret,
            csv_href="data:text/csv;charset=utf-8," + quote(csv),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/keys")
@signed_in
def key_action(session: sessions.SsoSession) -> ResponseReturnValue:
    _users, user = _selected(session)
    form = KeyActionForm()
    action = request.form.get("action")
    if user is None or not form.validate_on_submit() or action not in {"activate", "deactivate", "delete"}:
        return redirect(url_for("my_credential.page"))
    key = access_keys.own_key(user, form.access.data or "")
    if key is None:
        return redirect(url_for("my_credential.page", company_account=user.contract_id))
    if action == "delete":
        access_keys.delete(user, key)
        flash(str(KEY_DELETED))
    else:
        access_keys.set_status(user, key, "active" if action == "activate" else "inactive")
        flash(str(KEY_UPDATED))
    db.session.commit()
    return redirect(url_for("my_credential.page", company_account=user.contract_id))
