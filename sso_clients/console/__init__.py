"""The technical console on port 5002: a console login for one company account; shows the
company account, the person and their console roles."""

from __future__ import annotations

import re

from flask import Flask
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue

from sso_clients import rp


def create_app(config: rp.RpConfig | None = None) -> Flask:
    app = Flask(__name__)
    rp.init_rp(
        app, config or rp.RpConfig.from_env("CONSOLE", "console", "http://127.0.0.1:5002", "openid profile email")
    )

    from sso_clients.console.api import bp as api

    app.register_blueprint(api)
    app.extensions["csrf"].exempt(api)  # API calls carry a signature or a token, never a cookie

    @app.get("/")
    def home() -> ResponseReturnValue:
        return render_template("console.html", user=rp.signed_in())

    @app.get("/login")
    def login() -> ResponseReturnValue:
        company = request.args.get("company_account", "")
        if re.fullmatch(r"OCB\d{6,7}", company):  # the guides show both (OCB000023, OCB0000124)
            return rp.start_login(company_account=company)  # from the portal: SSO, no form
        return rp.start_login()  # direct: the IdP asks for the company account first

    return app
