"""Security headers on every response (ASVS 3.4, RFC 9700 §4.16 against clickjacking)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask import g
from flask import request


def csp(form_targets: set[str] | None = None) -> str:
    # form-action also governs the redirects that follow a form's submission (login →
    # /authorize → the client's redirect URI): a page whose form may end at a client names
    # that one validated origin, and no other.
    form_action = " ".join(["'self'", *sorted(form_targets or ())])
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        )
    )


def allow_form_redirect(uri: str) -> None:
    """Let this page's form end, through redirects, at ``uri``'s origin (already validated)."""
    parts = urlsplit(uri)
    if parts.scheme in {"http", "https"} and parts.netloc:
        g.setdefault("form_targets", set()).add(f"{parts.scheme}://{parts.netloc}")


CSP = csp()


def _apply(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", csp(g.get("form_targets")) if g.get("form_targets") else CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: over https, Flask-WTF (WTF_CSRF_SSL_STRICT) refuses a
    # form POST without a same-origin Referer, and no-referrer makes browsers send none (and
    # `Origin: null`), so every form would answer 403. same-origin keeps the Referer on our
    # own requests and sends nothing to any other origin: a client's redirect URI, a link
    # out, never learn the page (an /authorize query, a reset link's token) it came from.
    # Django's default (SECURE_REFERRER_POLICY) for the same reason.
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    if request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html":
        # Pages carry CSRF tokens and personal data: never from a shared cache.
        h.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_apply)
