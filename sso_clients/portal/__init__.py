"""The Cloud Customer Area (portal) on port 5001: signs in through the IdP and shows the
person's contracts, roles and sections, with a button to the console per contract."""

from __future__ import annotations

from flask import Flask
from flask import render_template
from flask.typing import ResponseReturnValue

from sso_clients import rp

SECTIONS = ("contract", "dashboard", "orders", "subscriptions", "services", "invoices", "support", "users")


def create_app(config: rp.RpConfig | None = None, console_url: str = "http://127.0.0.1:5002") -> Flask:
    import os

    app = Flask(__name__)
    rp.init_rp(app, config or rp.RpConfig.from_env("PORTAL", "portal", "http://127.0.0.1:5001",
                                                  "openid profile email contracts"))
    console = os.environ.get("CONSOLE_BASE_URL", console_url)

    @app.get("/")
    def home() -> ResponseReturnValue:
        user = rp.signed_in()
        return render_template("portal.html", user=user, sections=SECTIONS, console=console)

    @app.get("/login")
    def login() -> ResponseReturnValue:
        return rp.start_login()

    return app
