"""Identity provider of the Cloud Customer Area.

:func:`create_app` is the only place an application is built; nothing reads settings or
touches the database at import time.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from idp import settings as settings_module
from idp.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None) -> Flask:
    """Build the application: extensions, services, event subscribers and blueprints.

    Imports are local: importing any ``idp`` module must not import the whole application.
    """
    from idp import database
    from idp import errors
    from idp import i18n
    from idp import jobs
    from idp import keys
    from idp import observability
    from idp import sessions
    from idp.directory import purges as directory_purges
    from idp.extensions import babel
    from idp.extensions import csrf
    from idp.extensions import db
    from idp.iam import access_keys as iam_access_keys
    from idp.iam import purges as iam_purges
    from idp.iam import services as iam_services
    from idp.iam import views as iam_views
    from idp.keystone import purges as keystone_purges
    from idp.keystone import tokens as keystone_tokens
    from idp.keystone import views as keystone_views
    from idp.mail import outbox
    from idp.management import console as management_console  # noqa: F401 - adds its routes to the blueprint
    from idp.management import idempotency as management_idempotency
    from idp.management import openapi as management_openapi  # noqa: F401 - adds its route to the blueprint
    from idp.management import users as management_users  # noqa: F401 - adds its routes to the blueprint
    from idp.management import views as management_views
    from idp.oidc import console_login
    from idp.oidc import discovery  # noqa: F401 - adds its routes to the oidc blueprint
    from idp.oidc import end_session  # noqa: F401 - adds its routes to the oidc blueprint
    from idp.oidc import lifetimes
    from idp.oidc import logout
    from idp.oidc import views as oidc_views
    from idp.oidc.keys import KeyStore
    from idp.oidc.server import init_oidc
    from idp.security import headers
    from idp.security import input_guard
    from idp.security import purges as security_purges
    from idp.security.counters import make_counter
    from idp.security.passwords import PasswordHasher
    from idp.security.secret_box import SecretBox
    from idp.security.throttle import Throttle
    from idp.selfservice import account
    from idp.selfservice import api_password
    from idp.selfservice import api_password_flow
    from idp.selfservice import api_password_json
    from idp.selfservice import captcha
    from idp.selfservice import email_change
    from idp.selfservice import email_links
    from idp.selfservice import flows
    from idp.selfservice import forgot_login
    from idp.selfservice import invitations
    from idp.selfservice import login
    from idp.selfservice import my_credential
    from idp.selfservice import notifications
    from idp.selfservice import password
    from idp.selfservice import purges as selfservice_purges

    settings = settings or settings_module.load()
    observability.configure_logging(settings.logging)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
        instance_path=str(ROOT / "instance"),
    )
    secret = keys.ensure_secret(settings)
    secure = settings.secure_cookies
    app.config.update(
        IDP_SETTINGS=settings,
        SECRET_KEY=secret,
        SQLALCHEMY_DATABASE_URI=settings.database.url,
        SQLALCHEMY_ECHO=settings.database.echo,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        # Flask's own signed cookie carries only the CSRF secret and form state.
        SESSION_COOKIE_NAME="__Host-idp_form" if secure else "idp_form",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=3600,
        # Over https a POST also needs a same-origin Referer (a token leaked to another site
        # is not enough); security/headers.py's Referrer-Policy: same-origin lets it through.
        WTF_CSRF_SSL_STRICT=secure,
        # Our forms carry their own translated messages; WTForms would reload its catalogs per form.
        WTF_I18N_ENABLED=False,
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "idp" / "translations"),
        BABEL_DEFAULT_LOCALE=settings.i18n.default_locale,
        TESTING=settings.server.environment == "test",
    )
    if settings.server.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.server.trusted_proxies,
            x_proto=settings.server.trusted_proxies,
            x_host=settings.server.trusted_proxies,
        )

    db.init_app(app)
    database.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.extensions["idp.hasher"] = PasswordHasher(settings.passwords)
    counter = make_counter(settings.ratelimit.backend, settings.ratelimit.redis_url)
    app.extensions["idp.counter"] = counter
    app.extensions["idp.throttle"] = Throttle(settings.throttle, counter)
    app.extensions["idp.keys"] = KeyStore(keys.keys_dir(settings) / "signing", settings.oidc)
    app.extensions["idp.secret_box"] = SecretBox(keys.keys_dir(settings) / "credentials")
    # Services, job queues and event subscribers, lower layers first.
    jobs.init_app(app, settings.jobs)
    outbox.init_app(app, settings.mail)
    sessions.init_app(app, settings)
    init_oidc(app)
    logout.init_app(app)
    keystone_tokens.init_app(app)
    iam_access_keys.init_app(app)
    notifications.init_app(app)
    email_change.init_app(app)
    flows.init_app(app)
    api_password_flow.init_app(app)
    # The maintenance run's purges, each package its own rows (jobs, module docstring).
    for purges in (security_purges, lifetimes, keystone_purges, iam_purges, selfservice_purges, directory_purges):
        purges.init_app(app, settings)
    management_idempotency.init_app(app, settings)
    headers.init_app(app)
    input_guard.init_app(app)
    errors.register_error_handlers(app)
    for blueprint in (
        observability.bp,
        i18n.bp,
        login.bp,
        password.bp,
        forgot_login.bp,
        account.bp,
        invitations.bp,
        email_links.bp,
        captcha.bp,
        oidc_views.bp,
        console_login.bp,
        keystone_views.bp,
        iam_views.bp,
        iam_services.bp,
        api_password.bp,
        api_password_json.bp,
        my_credential.bp,
        management_views.bp,
    ):
        app.register_blueprint(blueprint)
    return app


def _engine_options(settings: Settings) -> dict[str, object]:
    if settings.database.url.startswith("sqlite"):
        return {}
    return {"pool_size": settings.database.pool_size, "pool_pre_ping": True}
