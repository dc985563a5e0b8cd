"""Helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from idp.extensions import db
from idp.jobs import Job
from idp.mail.outbox import QUEUE as MAIL_QUEUE
from idp.security.audit import AuditEvent


def mail_jobs(app: Flask, template: str | None = None) -> list[Job]:
    """The outbox's messages (jobs of the mail queue), oldest first, detached from the session."""
    with app.app_context():
        rows = [j for j in db.session.scalars(select(Job).where(Job.queue == MAIL_QUEUE).order_by(Job.id))
                if template is None or j.payload.get("template") == template]
        db.session.expunge_all()
        return rows


def audit_rows(app: Flask, tag: str) -> list[dict[str, Any]]:
    """The details of every audit row with that tag."""
    with app.app_context():
        return [dict(e.details) for e in db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag))]


# --- OpenID Connect: a relying party's side of the code flow -------------------------------

ISSUER = "http://127.0.0.1:5000"
CB = "http://127.0.0.1:5001/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(client: FlaskClient, challenge: str | None, **extra: str):  # type: ignore[no-untyped-def]
    params = {"response_type": "code", "client_id": "portal", "redirect_uri": CB, "scope": "openid profile email contracts",
              "state": "st-1", "nonce": secrets.token_urlsafe(8)}  # a fresh nonce per request
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return client.get("/authorize?" + urlencode({k: v for k, v in params.items() if v is not None}))


def query(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def exchange(client: FlaskClient, code: str, verifier: str | None, secret: str, client_id: str = "portal", **extra: str):  # type: ignore[no-untyped-def]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CB, **extra}
    if verifier:
        data["code_verifier"] = verifier
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post("/token", data=data, headers={"Authorization": f"Basic {auth}"})


def refresh(client: FlaskClient, token: str, secret: str):  # type: ignore[no-untyped-def]
    auth = base64.b64encode(f"portal:{secret}".encode()).decode()
    return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": token},
                       headers={"Authorization": f"Basic {auth}"})


def signed_in_code(client: FlaskClient, auth: Any, paul: Any, **extra: str) -> tuple[str, str]:
    if client.get("/").status_code != 200:  # not signed in yet
        auth.login(paul.login, paul.password)
    verifier, challenge = pkce()
    q = query(authorize(client, challenge, **extra))
    assert q["state"] == "st-1" and q["iss"] == ISSUER
    return q["code"], verifier
