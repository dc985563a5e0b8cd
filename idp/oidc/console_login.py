"""Step 1 of the console's web login (SPEC §3): the company account, before login/password.

    console ──/authorize without company_account──► /console-login?next=…
    /console-login  company account (+ remember) ──► /authorize?…&company_account=OCB…
                    ──► no session: the login form (step 2); a session: straight through
    remembered company account + SSO session ──► no form at all

The step never says whether a company account exists: membership is checked after login,
for the signed-in person, with the clear page of /authorize.
"""

from __future__ import annotations

from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Regexp

from idp.security.canonical import COMPANY_ACCOUNT_RE
from idp.ui import REQUIRED

bp = Blueprint("console_login", __name__)

COOKIE = "idp_company"
ONE_YEAR = 365 * 24 * 3600
COMPANY_RE = COMPANY_ACCOUNT_RE


class CompanyForm(FlaskForm):
    company_account = StringField(
        _l("Company account (domain name)"),
        validators=[
            DataRequired(REQUIRED),
            Regexp(COMPANY_RE.pattern + "$", message=_l("A company account looks like OCB0000124.")),
        ],
    )
    remember = BooleanField(_l("Remember my Business Account"))  # FE guide §4.2.1
    next = HiddenField()


def remembered() -> str | None:
    value = request.cookies.get(COOKIE, "")
    return value if COMPANY_RE.fullmatch(value) else None


def with_company(authorize_url: str, company: str) -> str:
    parts = urlsplit(authorize_url)
    args = [(k, v) for k, v in parse_qsl(parts.query) if k != "company_account"] + [("company_account", company)]
    return parts.path + "?" + urlencode(args)


def step_url(authorize_url: str) -> str:
    return url_for("console_login.company") + "?" + urlencode({"next": authorize_url})


@bp.route("/console-login", methods=["GET", "POST"])
def company() -> ResponseReturnValue:
    form = CompanyForm()
    target = form.next.data or request.args.get("next") or ""
    if urlsplit(target).path != url_for("oidc.authorize"):
        return render_template(
            "errors/error.html", status=400, message=str(_l("This page is reached from the console's sign-in."))
        ), 400
    if form.validate_on_submit():
        company_account = form.company_account.data or ""
        response = redirect(with_company(target, company_account))
        settings = current_app.config["IDP_SETTINGS"]
        if form.remember.data:
            response.set_cookie(
                COOKIE, company_account, max_age=ONE_YEAR, httponly=True, samesite="Lax", secure=settings.secure_cookies
            )
        else:
            response.delete_cookie(COOKIE, httponly=True, samesite="Lax", secure=settings.secure_cookies)
        return response
    status = 400 if form.is_submitted() else 200
    if not form.is_submitted():
        form.company_account.data = remembered() or ""
        form.remember.data = remembered() is not None
    form.next.data = target
    return render_template("oidc/console-login.html", form=form), status
