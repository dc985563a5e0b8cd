"""Locale choice: the account's preference, then an explicit switch, then Accept-Language."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import has_request_context
from flask import redirect
from flask import request
from flask.typing import ResponseReturnValue

from idp import sessions
from idp.extensions import db
from idp.security.redirects import safe_next
from idp.settings import Settings

LOCALES = ("fr", "en")
COOKIE = "idp_lang"
ONE_YEAR = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    if not has_request_context():  # command line, workers: the default language
        settings: Settings = current_app.config["IDP_SETTINGS"]
        return settings.i18n.default_locale
    session = sessions.current()
    if session is not None:
        return session.account.language
    chosen = request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or current_app.config["IDP_SETTINGS"].i18n.default_locale


@bp.post("/language")
def switch() -> ResponseReturnValue:
    """Remember the language in a cookie and, when signed in, on the account."""
    lang = request.form.get("lang")
    response = redirect(safe_next(request.form.get("next")))
    if lang not in LOCALES:
        return response
    session = sessions.current()
    if session is not None:
        session.account.language = lang
        db.session.commit()
    settings = current_app.config["IDP_SETTINGS"]
    response.set_cookie(COOKIE, lang, max_age=ONE_YEAR, secure=settings.secure_cookies, httponly=True, samesite="Lax")
    return response
