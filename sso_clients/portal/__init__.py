"""The Cloud Customer Area (portal) on port 5001: signs in through the IdP and shows the
person's contracts, a page per section with that section's rights table for this person,
a button to the console per contract with a console role, My account, and FR/EN."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue

from sso_clients import rp
from sso_clients.portal.rights import SECTIONS
from sso_clients.portal.rights import level_grants
from sso_clients.portal.rights import visible_sections
from sso_clients.portal.text import LANGUAGES
from sso_clients.portal.text import TEXT


def _language(user: dict[str, Any] | None) -> str:
    """The explicit switch, then the person's locale at the IdP, then the browser."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    locale = (user or {}).get("locale", "")[:2]
    if locale in LANGUAGES:
        return str(locale)
    return request.accept_languages.best_match(LANGUAGES) or "fr"


def create_app(config: rp.RpConfig | None = None, console_url: str = "http://127.0.0.1:5002") -> Flask:
    app = Flask(__name__)
    config = config or rp.RpConfig.from_env(
        "PORTAL", "portal", "http://127.0.0.1:5001", "openid profile email contracts"
    )
    rp.init_rp(app, config)
    console = os.environ.get("CONSOLE_BASE_URL", console_url)

    def page(template: str, user: dict[str, Any] | None, status: int = 200, **context: object) -> ResponseReturnValue:
        lang = _language(user)
        return render_template(
            template,
            user=user,
            lang=lang,
            t=TEXT[lang],
            languages=LANGUAGES,
            idp=config.issuer.rstrip("/"),
            console=console,
            **context,
        ), status

    @app.get("/")
    def home() -> ResponseReturnValue:
        return page("portal.html", rp.signed_in(), visible=visible_sections)

    @app.get("/contracts/<contract_id>/<name>")
    def section(contract_id: str, name: str) -> ResponseReturnValue:
        user = rp.signed_in()
        if user is None:
            return redirect(url_for("home"))
        contract = next((c for c in user.get("contracts", []) if c.get("id") == contract_id), None)
        if contract is None or name not in SECTIONS:
            abort(404)
        if SECTIONS[name] not in visible_sections(contract):
            return page("portal.html", user, 403, visible=visible_sections, error=TEXT[_language(user)]["forbidden"])
        return page(
            "section.html",
            user,
            section=SECTIONS[name],
            contract=contract,
            level=contract["roles"][name],
            grants=level_grants,
        )

    @app.post("/language")
    def language() -> ResponseReturnValue:
        if request.form.get("lang") in LANGUAGES:
            session["lang"] = request.form["lang"]
        target = request.form.get("next", "/")
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/")

    @app.get("/login")
    def login() -> ResponseReturnValue:
        return rp.start_login()

    return app
