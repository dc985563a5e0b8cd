"""RP-initiated logout and back-channel logout through the durable queue."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.jobs import Job
from idp.oidc import clients as registry
from tests.conftest import AuthActions
from tests.conftest import Outbox
from tests.conftest import csrf_token
from tests.conftest import free_port
from tests.factories import Person
from tests.helpers import CB
from tests.helpers import exchange
from tests.helpers import signed_in_code

AFTER = "http://127.0.0.1:5001/"


class Receiver:
    """A client's back-channel endpoint on loopback; can be down, then come up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict[str, list[str]]] = []
        self.requests: list[str] = []
        self.server: http.server.ThreadingHTTPServer | None = None
        # Where to send the IdP instead of answering 200 (a client trying to bounce it).
        self.redirect_to: str | None = None

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                receiver.requests.append(f"POST {self.path}")
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append(parse_qs(self.rfile.read(length).decode()))
                if receiver.redirect_to and self.path == "/backchannel-logout":
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                else:
                    self.send_response(200)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                receiver.requests.append(f"GET {self.path}")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def rp(app: Flask, paul: Person, receiver: Receiver) -> dict[str, str]:
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        portal = registry.create(client_id="portal", name="Customer Area", redirect_uris=[CB], first_party=True,
                                 post_logout_redirect_uris=[AFTER],
                                 backchannel_logout_uri=f"http://127.0.0.1:{receiver.port}/backchannel-logout")
        db.session.commit()
    return {"portal": portal.secret or ""}


def _tokens(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> dict:  # type: ignore[no-untyped-def,type-arg]
    code, verifier = signed_in_code(client, auth, paul)
    return exchange(client, code, verifier, rp["portal"]).json


def _logout_claims(client: FlaskClient, receiver: Receiver) -> dict:  # type: ignore[type-arg]
    [body] = receiver.bodies
    token = jwt.decode(body["logout_token"][0], KeySet.import_key_set(client.get("/jwks").json), algorithms=["RS256"])
    assert token.header["typ"] == "logout+jwt"
    return token.claims


def test_rp_initiated_logout_with_id_token_hint(client: FlaskClient, auth: AuthActions, paul: Person, rp,
                                                 receiver: Receiver, outbox: Outbox) -> None:  # type: ignore[no-untyped-def]
    tokens = _tokens(client, auth, paul, rp)
    id_claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks").json)).claims
    receiver.start()
    response = client.get("/end-session?" + urlencode({"id_token_hint": tokens["id_token"],
                                                       "post_logout_redirect_uri": AFTER, "state": "bye"}))
    assert response.status_code == 302 and response.headers["Location"] == AFTER + "?state=bye"
    assert client.get("/").status_code == 302  # the SSO session is gone
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401
    outbox.deliver()
    claims = _logout_claims(client, receiver)
    assert claims["aud"] == "portal" and claims["sid"] == id_claims["sid"] and claims["sub"] == id_claims["sub"]
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"] and "nonce" not in claims


def test_unregistered_post_logout_redirect_is_an_error_page(client: FlaskClient, auth: AuthActions, paul: Person,
                                                             rp) -> None:  # type: ignore[no-untyped-def]
    tokens = _tokens(client, auth, paul, rp)
    response = client.get("/end-session?" + urlencode({"id_token_hint": tokens["id_token"],
                                                       "post_logout_redirect_uri": "https://evil.example/"}))
    assert response.status_code == 400 and "Location" not in response.headers
    assert client.get("/").status_code == 200  # nobody was logged out


def test_without_proof_the_person_confirms(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    _tokens(client, auth, paul, rp)
    page = client.get("/end-session?client_id=portal&post_logout_redirect_uri=" + AFTER)
    assert page.status_code == 200 and "Customer Area" in page.text
    assert client.get("/").status_code == 200  # a GET alone changes nothing
    assert client.post("/end-session", data={"client_id": "portal", "post_logout_redirect_uri": AFTER}).status_code == 403
    done = client.post("/end-session", data={"client_id": "portal", "post_logout_redirect_uri": AFTER,
                                             "csrf_token": csrf_token(page.text)})
    assert done.status_code == 302 and urlsplit(done.headers["Location"]).netloc == "127.0.0.1:5001"
    assert client.get("/").status_code == 302


def test_backchannel_delivered_after_the_receiver_was_down(client: FlaskClient, auth: AuthActions, paul: Person,
                                                           rp, receiver: Receiver, outbox: Outbox, app: Flask) -> None:  # type: ignore[no-untyped-def]
    _tokens(client, auth, paul, rp)
    auth.logout()  # the IdP's own logout ends the session too
    assert outbox.deliver() == 0  # the receiver is down
    with app.app_context():
        row = db.session.scalar(select(Job).where(Job.queue == "backchannel-logout"))
        assert row.attempts == 1 and row.done_at is None and "Error" in (row.last_error or "")
    receiver.start()
    with clock.shifted(timedelta(minutes=2)):
        assert outbox.deliver() == 1
        assert outbox.deliver() == 0
    assert len(receiver.bodies) == 1
    assert _logout_claims(client, receiver)["aud"] == "portal"


def test_password_change_elsewhere_logs_the_clients_out(app: Flask, client: FlaskClient, auth: AuthActions,
                                                        paul: Person, rp, receiver: Receiver, outbox: Outbox) -> None:  # type: ignore[no-untyped-def]
    tokens = _tokens(client, auth, paul, rp)
    receiver.start()
    other = AuthActions(app.test_client())
    other.login(paul.login, paul.password)
    page = other.client.get("/account/password")
    other.client.post("/account/password", data={"csrf_token": csrf_token(page.text), "current": paul.password,
                                                  "password": "Brand#New-Pass42", "confirm": "Brand#New-Pass42"})
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401
    outbox.deliver()
    assert _logout_claims(client, receiver)["aud"] == "portal"


def test_removing_a_person_from_their_last_contract_logs_the_clients_out(
        app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, rp, receiver: Receiver,  # type: ignore[no-untyped-def]
        outbox: Outbox, runner, config_file) -> None:
    from sqlalchemy import select

    from idp.cli import cli
    from idp.directory.models import Account
    from tests.factories import member

    with app.app_context():
        julie = member("OCB0000124", "julie.dupont", console_roles=["guest"])
    tokens = _tokens(client, auth, julie, rp)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    receiver.start()
    referent = runner.invoke(cli, ["--config", str(config_file), "users", "remove", paul.login, "--contract", "OCB0000124"])
    assert referent.exit_code == 2 and "referent" in referent.output
    result = runner.invoke(cli, ["--config", str(config_file), "users", "remove", "julie.dupont",
                                 "--contract", "OCB0000124", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["account_disabled"] is True
    assert client.get("/userinfo", headers=bearer).status_code == 401
    assert client.get("/").status_code == 302  # the SSO session ended with the account's disabling
    outbox.deliver()  # if the command's own delivery did not already
    claims = _logout_claims(client, receiver)
    assert claims["aud"] == "portal" and claims["sid"]
    with app.app_context():  # disabled, never deleted behind anyone's back
        account = db.session.scalar(select(Account).where(Account.login == "julie.dupont"))
        assert account is not None and account.status == "disabled"


def test_backchannel_delivery_follows_no_redirect(client: FlaskClient, auth: AuthActions, paul: Person,
                                                  rp, receiver: Receiver, outbox: Outbox, app: Flask) -> None:  # type: ignore[no-untyped-def]
    """A client answering 302 towards an internal address gets no second request from the
    IdP (no blind SSRF): the delivery counts as failed and is retried later."""
    receiver.redirect_to = f"http://127.0.0.1:{receiver.port}/internal-admin?action=x"
    receiver.start()
    _tokens(client, auth, paul, rp)
    auth.logout()
    assert outbox.deliver() == 0
    assert receiver.requests == ["POST /backchannel-logout"]
    with app.app_context():
        row = db.session.scalar(select(Job).where(Job.queue == "backchannel-logout"))
        assert row is not None and row.done_at is None and "302" in (row.last_error or "")
