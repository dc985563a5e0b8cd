"""Every email, rendered from ``templates/email/<name>/`` in the *recipient's* language.

Links are built on the configured issuer, so an email written by the command line or a
worker points at the same public address as one written during a web request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Protocol

from flask import current_app
from flask import render_template
from flask_babel import force_locale

from idp.settings import Settings


class Recipient(Protocol):
    """Whom an email goes to, in which language (an account, for one)."""

    email: str
    language: str


@dataclass(frozen=True)
class Rendered:
    template: str
    recipient: str
    locale: str
    subject: str
    text: str
    html: str


def external_url(endpoint: str, **values: Any) -> str:
    settings: Settings = current_app.config["IDP_SETTINGS"]
    issuer = settings.server.issuer.rstrip("/")
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return issuer + path


def render(template: str, recipient: str, locale: str, **context: Any) -> Rendered:
    with force_locale(locale):
        subject = render_template(f"email/{template}/subject.txt", **context).strip()
        text = render_template(f"email/{template}/body.txt", subject=subject, **context)
        html = render_template(f"email/{template}/body.html", subject=subject, **context)
    return Rendered(template, recipient, locale, " ".join(subject.split()), text, html)


def for_account(template: str, account: Recipient, to: str | None = None, **context: Any) -> Rendered:
    """Render for an account, in its language, to its address (or ``to``)."""
    return render(template, to or account.email, account.language, account=account, **context)
