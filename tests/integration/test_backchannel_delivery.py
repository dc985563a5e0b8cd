"""Back-channel logout delivery that a client cannot turn against us: no redirect followed,
one deadline per call on a queue apart from mail, no internal destination for a client not
registered as first-party (unless the operator allows its network), through the real job
runner and real HTTP servers on loopback."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func
from sqlalchemy import select

from idp import clock
from idp import create_app
from idp.cli import cli
from idp.extensions import db
from idp.jobs import Job
from idp.oidc import clients as registry
from idp.oidc.logout import QUEUE
from idp.oidc.models import OAuth2Client
from idp.settings import Settings
from tests.conftest import TEST_CAPTCHA
from tests.conftest import AuthActions
from tests.conftest import SmtpSink
from tests.conftest import csrf_token
from tests.conftest import free_port
from tests.conftest import link_in
from tests.factories import Person
from tests.helpers import CB
from tests.helpers import authorize
from tests.helpers import exchange
from tests.helpers import pkce
from tests.helpers import query
from tests.helpers import signed_in_code

DEADLINE = 3


@pytest.fixture
def settings_overrides(mail_settings: dict[str, Any]) -> dict[str, Any]:
    # The runner's threads are started only by the test that needs them (polling once an
    # hour: what they do, they do because a commit woke them).
    return {
        "mail": mail_settings,
        "oidc": {"backchannel_deadline_seconds": DEADLINE},
        "jobs": {"run_in_process": True, "poll_seconds": 3600},
    }


class Endpoint:
    """A client's back-channel endpoint on loopback: answers 200, redirects, or drips."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[str] = []
        self.bodies: list[dict[str, list[str]]] = []
        self.mode = "ok"
        self.got_request = threading.Event()
        self.stop = threading.Event()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                endpoint.requests.append(f"POST {self.path}")
                length = int(self.headers.get("Content-Length", 0))
                endpoint.bodies.append(parse_qs(self.rfile.read(length).decode()))
                endpoint.got_request.set()
                if endpoint.mode == "drip":
                    self._drip()
                    return
                if endpoint.mode == "redirect" and self.path == "/backchannel-logout":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _drip(self) -> None:
                """One byte a second, for as long as the caller listens (at most a minute)."""
                self.close_connection = True
                for byte in (b"HTTP/1.1 200 OK\r\nX-Drip: " + b"a" * 60)[:60]:
                    if endpoint.stop.wait(1):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                    except OSError:
                        return

            def do_GET(self) -> None:
                endpoint.requests.append(f"GET {self.path}")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/backchannel-logout"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.close()


def _register(app: Flask, client_id: str, uri: str, *, first_party: bool) -> str:
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        reg = registry.create(
            client_id=client_id,
            name=client_id.title(),
            redirect_uris=[CB],
            first_party=first_party,
            backchannel_logout_uri=uri,
        )
        db.session.commit()
        return reg.secret or ""


def _jobs(app: Flask) -> list[Job]:
    with app.app_context():
        rows = list(db.session.scalars(select(Job).where(Job.queue == QUEUE).order_by(Job.id)))
        db.session.expunge_all()
        return rows


def _sign_in_portal(app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, uri: str) -> None:
    secret = _register(app, "portal", uri, first_party=True)
    code, verifier = signed_in_code(client, auth, paul)
    assert exchange(client, code, verifier, secret).status_code == 200


# --- redirects ---------------------------------------------------------------------------------


def test_a_redirect_is_a_failed_attempt_and_never_followed(
    app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, endpoint: Endpoint
) -> None:
    """``302 Location: /elsewhere`` (another path of the same server): no second request, the
    job is not done, and the retry does not follow it either."""
    endpoint.mode = "redirect"
    _sign_in_portal(app, client, auth, paul, endpoint.url())
    auth.logout()
    runner = app.extensions["idp.jobs"]
    assert runner.run_due(QUEUE) == 0
    with clock.shifted(timedelta(minutes=2)):
        assert runner.run_due(QUEUE) == 0
    assert endpoint.requests == ["POST /backchannel-logout"] * 2
    [job] = _jobs(app)
    assert job.done_at is None and job.attempts == 2 and "302" in (job.last_error or "")


# --- the deadline, and mail that never waits ---------------------------------------------------


@pytest.fixture
def running(app: Flask) -> Iterator[Flask]:
    """The in-process runner of the app under test: a thread per mail worker and a small pool
    for back-channel logout, woken by each commit that queues a job."""
    app.extensions["idp.jobs"].start()
    yield app
    app.extensions["idp.jobs"].stop()


def _ask_reset(client: FlaskClient, login: str) -> None:
    page = client.get("/forgot-password", headers={"Accept-Language": "en"})
    captcha_id = page.text.split('name="captcha_id" type="hidden" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/forgot-password",
        headers={"Accept-Language": "en"},
        data={"csrf_token": csrf_token(page.text), "login": login, "captcha_id": captcha_id, "captcha": TEST_CAPTCHA},
    )
    assert answer.status_code == 200


def test_a_dripping_endpoint_ends_at_the_deadline_and_never_delays_mail(
    running: Flask, client: FlaskClient, auth: AuthActions, paul: Person, endpoint: Endpoint, smtp: SmtpSink
) -> None:
    """The endpoint sends its answer one byte a second: a per-read timeout would wait for
    ever. While it drips, a reset link goes out at once; the call ends at its deadline."""
    endpoint.mode = "drip"
    _sign_in_portal(running, client, auth, paul, endpoint.url())
    auth.logout()  # queues the back-channel logout; the commit wakes its worker
    assert endpoint.got_request.wait(10), "the back-channel call never started"
    dripping_since = time.monotonic()

    _ask_reset(client, paul.login)
    message = smtp.wait_for_match(paul.email, "/reset-password/", timeout=10)
    assert time.monotonic() - dripping_since < 2, "the reset mail waited behind the back-channel call"
    assert link_in(message)
    assert _jobs(running)[0].last_error is None  # the call was still dripping meanwhile

    while time.monotonic() - dripping_since < DEADLINE + 10:
        [job] = _jobs(running)
        if job.last_error:
            break
        time.sleep(0.1)
    ended = time.monotonic() - dripping_since
    assert job.last_error and "DeadlineExceeded" in job.last_error and job.done_at is None
    assert DEADLINE - 0.5 <= ended < DEADLINE + 2, f"the call ended after {ended:.1f} s"


def test_the_backchannel_queue_has_its_own_pool_apart_from_mail(app: Flask, settings: Settings) -> None:
    """The threads that ``start()`` adds (the in-process runner and ``idp worker`` alike)."""
    before = set(threading.enumerate())
    app.extensions["idp.jobs"].start()
    try:
        names = sorted(t.name for t in set(threading.enumerate()) - before)
    finally:
        app.extensions["idp.jobs"].stop()
    assert names.count("idp-jobs-mail-0") == 1 and not any(n.startswith("idp-jobs-mail-1") for n in names)
    pool = [n for n in names if n.startswith(f"idp-jobs-{QUEUE}-")]
    assert len(pool) == settings.oidc.backchannel_workers > 1


# --- where a call may go --------------------------------------------------------------------


def _sign_in_partner(client: FlaskClient, auth: AuthActions, paul: Person, secret: str) -> None:
    """Through a client not registered as first-party: the person consents, then it gets tokens."""
    auth.login(paul.login, paul.password)
    verifier, challenge = pkce()
    page = authorize(client, challenge, client_id="partner")
    assert page.status_code == 200 and "Partner" in page.text  # the consent page
    url = "/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": "partner",
            "redirect_uri": CB,
            "scope": "openid profile email contracts",
            "state": "st-1",
            "nonce": "n-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    code = query(client.post(url, data={"decision": "allow", "csrf_token": csrf_token(page.text)}))["code"]
    assert exchange(client, code, verifier, secret, client_id="partner").status_code == 200


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_third_party_endpoint_on_loopback_is_refused_unless_allowed(
    app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, endpoint: Endpoint, settings: Settings, host: str
) -> None:
    """A client not registered as first-party whose endpoint resolves to 127.0.0.1 (the name
    ``localhost``, or the address itself, registered while the operator allowed loopback):
    refused without a connection; the same job is delivered by a process whose
    ``oidc.backchannel_allowed_networks`` lists loopback."""
    allowing = create_app(settings.replace(oidc={"backchannel_allowed_networks": "127.0.0.0/8, ::1/128"}))
    try:
        secret = _register(allowing, "partner", endpoint.url(host), first_party=False)
        _sign_in_partner(client, auth, paul, secret)
        auth.logout()
        assert app.extensions["idp.jobs"].run_due(QUEUE) == 0
        time.sleep(0.2)
        assert endpoint.requests == []
        [job] = _jobs(app)
        assert job.done_at is None and "Refused" in (job.last_error or "") and "127.0.0.1" in (job.last_error or "")

        with clock.shifted(timedelta(minutes=2)):
            assert allowing.extensions["idp.jobs"].run_due(QUEUE) == 1
    finally:
        with allowing.app_context():
            db.engine.dispose()
    [body] = endpoint.bodies
    token = jwt.decode(body["logout_token"][0], KeySet.import_key_set(client.get("/jwks").json))
    assert token.claims["aud"] == "partner"


# --- registration ----------------------------------------------------------------------------


@pytest.fixture
def idp(runner: CliRunner, config_file: Path) -> Any:
    def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(
            cli,
            [
                "--config",
                str(config_file),
                "clients",
                "create",
                "--name",
                "RP",
                "--redirect-uri",
                "https://rp.example/cb",
                *args,
            ],
            env=env,
        )

    return invoke


REFUSED = [
    (["--backchannel-logout-uri", "http://127.0.0.1:5001/bc"], "internal address"),
    (["--backchannel-logout-uri", "https://[::1]/bc"], "internal address"),
    (["--backchannel-logout-uri", "https://[::ffff:127.0.0.1]/bc"], "internal address"),
    (["--backchannel-logout-uri", "https://169.254.169.254/latest/meta-data/"], "internal address"),
    (["--backchannel-logout-uri", "https://10.0.0.5/bc"], "internal address"),
    (["--backchannel-logout-uri", "https://[fe80::1]/bc"], "internal address"),
    (["--backchannel-logout-uri", "https://[fd00::1]/bc"], "internal address"),
    (["--backchannel-logout-uri", "ftp://rp.example/bc"], "http(s)"),
    (["--backchannel-logout-uri", "https://user:pa55@rp.example/bc"], "credentials"),
    (["--backchannel-logout-uri", "https://user:pa55@rp.example/bc", "--first-party"], "credentials"),
]


@pytest.mark.parametrize(("extra", "message"), REFUSED, ids=[" ".join(e) for e, _ in REFUSED])
def test_registration_refuses_internal_or_unsafe_backchannel_uris(
    idp: Any, app: Flask, extra: list[str], message: str
) -> None:
    result = idp("--client-id", "bad", *extra)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "pa55" not in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OAuth2Client)) == 0


def test_registration_accepts_public_names_first_party_and_allowed_networks(idp: Any, app: Flask) -> None:
    assert idp("--client-id", "a", "--backchannel-logout-uri", "https://rp.example/bc").exit_code == 0
    assert idp("--client-id", "b", "--backchannel-logout-uri", "http://localhost:5001/bc").exit_code == 0  # at delivery
    first_party = idp("--client-id", "c", "--backchannel-logout-uri", "http://127.0.0.1:5001/bc", "--first-party")
    assert first_party.exit_code == 0
    refused = idp("--client-id", "d", "--backchannel-logout-uri", "https://10.1.2.3/bc")
    assert refused.exit_code == 2
    allowed = idp(
        "--client-id",
        "d",
        "--backchannel-logout-uri",
        "https://10.1.2.3/bc",
        env={"IDP_OIDC__BACKCHANNEL_ALLOWED_NETWORKS": "10.1.2.0/24"},
    )
    assert allowed.exit_code == 0, allowed.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OAuth2Client)) == 4
