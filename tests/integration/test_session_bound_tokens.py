"""Tokens bounded by their session, offline_access, and the periodic maintenance run.

The audit's proof: a refresh token used on day 1, 25, 50, 75, 100 kept working, each
rotation granting 30 more days, whatever became of the session it was issued in. Now a
refresh is refused once its SSO session has ended (logout, idle or absolute limit), and a
family ends at a fixed time from its first grant; only a consented ``offline_access``
outlives the session, up to its own cap. Sessions nobody comes back to are ended by the
maintenance run (tokens revoked, back-channel logout sent), which also purges expired rows.
"""

from __future__ import annotations

import http.server
import secrets
import threading
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet

from idp import clock
from idp import create_app
from idp import jobs
from idp.directory.console_users import ConsoleUser
from idp.extensions import db
from idp.jobs import Job
from idp.oidc import clients as registry
from idp.settings import Settings
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.conftest import free_port
from tests.factories import Person
from tests.factories import member
from tests.helpers import CB
from tests.helpers import audit_rows
from tests.helpers import authorize
from tests.helpers import exchange
from tests.helpers import pkce
from tests.helpers import query
from tests.helpers import refresh
from tests.helpers import signed_in_code

DAY = timedelta(days=1)
# Sessions that outlive a 30-day family, to see the family's own end.
LONG_SESSIONS = {"session": {"idle_timeout_seconds": 40 * 86_400, "absolute_timeout_seconds": 200 * 86_400}}


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    return getattr(request, "param", {})


class Receiver:
    """Clients' back-channel logout endpoints on loopback: what each path received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, str]] = []  # (path, logout_token)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
                receiver.received.append((self.path, body["logout_token"][0]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _grant(client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str], **extra: str) -> dict[str, Any]:
    code, verifier = signed_in_code(client, auth, paul, **extra)
    response = exchange(client, code, verifier, rp["portal"])
    assert response.status_code == 200, response.text
    return dict(response.json)


def _refreshed(client: FlaskClient, tokens: dict[str, Any], secret: str) -> dict[str, Any] | None:
    """The next tokens of the family, or None if the refresh was refused (invalid_grant)."""
    response = refresh(client, tokens["refresh_token"], secret)
    if response.status_code == 400:
        assert response.json["error"] == "invalid_grant", response.text
        return None
    assert response.status_code == 200, response.text
    return dict(response.json)


def _userinfo(client: FlaskClient, tokens: dict[str, Any]) -> int:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code


def _offline_grant(client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]) -> dict[str, Any]:
    """offline_access asked by the first-party portal: the consent page, allowed."""
    if client.get("/").status_code != 200:
        auth.login(paul.login, paul.password)
    verifier, challenge = pkce()
    nonce = secrets.token_urlsafe(8)
    page = authorize(client, challenge, scope="openid offline_access", nonce=nonce)
    assert page.status_code == 200 and "offline_access" in page.text
    params = {
        "response_type": "code",
        "client_id": "portal",
        "redirect_uri": CB,
        "scope": "openid offline_access",
        "state": "st-1",
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    allowed = client.post(
        "/authorize?" + urlencode(params), data={"decision": "allow", "csrf_token": csrf_token(page.text)}
    )
    response = exchange(client, query(allowed)["code"], verifier, rp["portal"])
    assert response.status_code == 200 and "offline_access" in response.json["scope"].split()
    return dict(response.json)


# --- refresh tokens bounded by their session ------------------------------------------------


def test_a_refresh_is_refused_once_its_session_logged_out(
    client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    tokens = _grant(client, auth, paul, rp)
    tokens = _refreshed(client, tokens, rp["portal"]) or {}
    assert tokens
    auth.logout()
    assert _refreshed(client, tokens, rp["portal"]) is None
    assert _userinfo(client, tokens) == 401


def test_a_code_is_not_exchanged_once_its_session_ended(
    client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    code, verifier = signed_in_code(client, auth, paul)
    auth.logout()  # within the code's minute: the session's tokens are already revoked
    response = exchange(client, code, verifier, rp["portal"])
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def test_a_refresh_is_refused_once_its_session_idled_out(
    app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    tokens = _grant(client, auth, paul, rp)
    with clock.shifted(timedelta(minutes=31)):  # idle_timeout_seconds = 1800, nobody came back
        assert _refreshed(client, tokens, rp["portal"]) is None
        assert client.get("/").status_code == 302  # the refresh ended it, for the browser too
    assert len(audit_rows(app, "account:session:expired")) == 1


def test_refreshes_keep_the_session_from_idling_never_past_its_absolute_limit(
    client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    """A refresh is activity (Keycloak's SSO Session Idle): used every 20 minutes, a grant
    outlives the 30-minute idle limit, never the 12-hour absolute one."""
    tokens = _grant(client, auth, paul, rp)
    for step in range(1, 36):  # 20 minutes to 11 h 40
        with clock.shifted(timedelta(minutes=20 * step)):
            tokens = _refreshed(client, tokens, rp["portal"]) or {}
            assert tokens, f"refused after {20 * step} minutes"
    with clock.shifted(timedelta(hours=12, minutes=1)):
        assert _refreshed(client, tokens, rp["portal"]) is None
        assert client.get("/").status_code == 302


def test_the_audits_proof_fails_now(client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]) -> None:
    """Day 1, 25, 50, 75, 100: refused from day 1 on (the session is long over)."""
    tokens = _grant(client, auth, paul, rp)
    for day in (1, 25, 50, 75, 100):
        with clock.shifted(day * DAY):
            assert _refreshed(client, tokens, rp["portal"]) is None, f"day {day}"


@pytest.mark.parametrize("settings_overrides", [LONG_SESSIONS], indirect=True)
def test_a_family_ends_at_a_fixed_time_from_its_first_grant(
    client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    """Even in a session that lasts, rotations never slide the family's end (30 days)."""
    tokens = _grant(client, auth, paul, rp)
    for day in (1, 25, 29):
        with clock.shifted(day * DAY):
            tokens = _refreshed(client, tokens, rp["portal"]) or {}
            assert tokens, f"day {day}"
    with clock.shifted(31 * DAY):
        assert _refreshed(client, tokens, rp["portal"]) is None
        assert client.get("/").status_code == 200  # the session itself is still live
        assert _grant(client, auth, paul, rp)["refresh_token"]  # a new grant starts a new family


# --- offline_access ------------------------------------------------------------------------


def test_offline_access_is_consented_every_time_even_by_a_first_party_client(
    client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    silent = authorize(client, challenge, scope="openid offline_access", prompt="none")
    assert query(silent)["error"] == "consent_required"
    _offline_grant(client, auth, paul, rp)
    again = authorize(client, challenge, scope="openid offline_access")
    assert again.status_code == 200 and "offline_access" in again.text  # never remembered
    assert "code" in query(authorize(client, challenge))  # without it: no page, as before


def test_offline_access_survives_logout_not_its_cap(
    client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    tokens = _offline_grant(client, auth, paul, rp)
    auth.logout()
    assert _userinfo(client, tokens) == 200
    for day in (1, 30, 59):  # offline_lifetime_seconds: 60 days from the first grant
        with clock.shifted(day * DAY):
            tokens = _refreshed(client, tokens, rp["portal"]) or {}
            assert tokens and _userinfo(client, tokens) == 200, f"day {day}"
    with clock.shifted(61 * DAY):
        assert _refreshed(client, tokens, rp["portal"]) is None


def test_offline_access_ends_with_a_password_change(
    app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    tokens = _offline_grant(client, auth, paul, rp)
    auth.logout()
    other = AuthActions(app.test_client())
    other.login(paul.login, paul.password)
    page = other.client.get("/account/password")
    changed = other.client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(page.text),
            "current": paul.password,
            "password": "Brand#New-Pass42",
            "confirm": "Brand#New-Pass42",
        },
    )
    assert changed.status_code == 302
    assert _refreshed(client, tokens, rp["portal"]) is None


def test_discovery_lists_offline_access(client: FlaskClient, rp: dict[str, str]) -> None:
    assert "offline_access" in client.get("/.well-known/openid-configuration").json["scopes_supported"]


# --- the maintenance run ---------------------------------------------------------------------


def test_an_abandoned_session_is_ended_by_the_job_and_its_clients_logged_out(
    app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, receiver: Receiver
) -> None:
    with app.app_context():
        app.extensions["idp.keys"].ensure()
        client_secrets = {}
        for name in ("portal", "console"):
            made = registry.create(
                client_id=name,
                name=name.title(),
                redirect_uris=[CB],
                first_party=True,
                backchannel_logout_uri=receiver.url(f"/{name}/logout"),
            )
            client_secrets[name] = made.secret or ""
        db.session.commit()
    runner = app.extensions["idp.jobs"]
    runner.run_due()  # the first run, at start: nothing has expired
    grants = {}
    for name in ("portal", "console"):
        code, verifier = signed_in_code(client, auth, paul, client_id=name)
        grants[name] = exchange(client, code, verifier, client_secrets[name], client_id=name).json
    with clock.shifted(timedelta(minutes=29)):
        runner.run_due()  # due (every 5 minutes), but not idle long enough yet
        assert receiver.received == []
    with clock.shifted(timedelta(minutes=35)):  # the browser never came back
        runner.run_due()
        runner.run_due()  # deliveries queued by the first run, if it did not already send them
        assert sorted(path for path, _ in receiver.received) == ["/console/logout", "/portal/logout"]
        keys = KeySet.import_key_set(client.get("/jwks").json)
        claims = [jwt.decode(token, keys).claims for _, token in receiver.received]
        assert {c["aud"] for c in claims} == {"portal", "console"} and len({c["sid"] for c in claims}) == 1
        assert _userinfo(client, grants["portal"]) == 401
        response = refresh(client, grants["portal"]["refresh_token"], client_secrets["portal"])
        assert response.status_code == 400 and response.json["error"] == "invalid_grant"
    with clock.shifted(timedelta(minutes=50)):
        runner.run_due()
    assert len(receiver.received) == 2  # ended once, told once
    assert len(audit_rows(app, "account:session:expired")) == 1
    with app.app_context():
        [row] = db.session.scalars(sa.select(Job).where(Job.queue == jobs.MAINTENANCE)).all()
        assert row.done_at is None and row.key == jobs.MAINTENANCE  # one recurring row, re-armed


def test_the_maintenance_runs_once_per_interval_across_processes(app: Flask, settings: Settings) -> None:
    """Two processes on one database start their maintenance at the same instant (a barrier),
    round after round, one interval apart: each round, exactly one of them runs it."""
    apps = [app, create_app(settings)]  # a second process on the same database
    runs: list[int] = []
    for n, each in enumerate(apps):
        each.extensions["idp.jobs"].add_chore("count", lambda _now, n=n: runs.append(n) or 0)
    try:
        for round_ in range(4):
            barrier = threading.Barrier(len(apps))
            errors: list[BaseException] = []

            def race(each: Flask, barrier: threading.Barrier = barrier, errors: list[BaseException] = errors) -> None:
                barrier.wait(10)
                try:
                    each.extensions["idp.jobs"].run_due(jobs.MAINTENANCE)
                except BaseException as exc:  # noqa: BLE001 - reported below, from the test's thread
                    errors.append(exc)

            with clock.shifted(timedelta(seconds=301) * round_):  # maintenance_interval_seconds = 300
                threads = [threading.Thread(target=race, args=(each,)) for each in apps]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
            assert errors == []
            assert len(runs) == round_ + 1, runs
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1  # one recurring row
    finally:
        with apps[1].app_context():
            db.engine.dispose()
        apps[1].extensions["idp.hasher"].close()


def test_a_maintenance_run_longer_than_its_claim_keeps_it(
    app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of three 40-second chores (120 s, twice jobs.claim_seconds) renews its claim
    before each chore: another process trying meanwhile finds it claimed and runs nothing."""
    other = create_app(settings)
    other_runs: list[datetime] = []
    other.extensions["idp.jobs"].add_chore("count", lambda now: other_runs.append(now) or 0)

    def slow(_now: datetime) -> int:
        monkeypatch.setattr(clock, "_offset", clock._offset + timedelta(seconds=40))
        return 0

    def another_process_tries(_now: datetime) -> int:
        thread = threading.Thread(target=other.extensions["idp.jobs"].run_due, args=(jobs.MAINTENANCE,))
        thread.start()
        thread.join(60)
        return 0

    runner = app.extensions["idp.jobs"]
    for n in range(3):
        runner.add_chore(f"slow-{n}", slow)
    runner.add_chore("another-process-tries", another_process_tries)
    try:
        runner.run_due(jobs.MAINTENANCE)
        assert other_runs == []
        with app.app_context():
            [row] = db.session.scalars(sa.select(Job).where(Job.queue == jobs.MAINTENANCE)).all()
            # the run's outcome was written under its renewed claim: released and re-armed
            assert row.claimed_until is None and row.next_attempt_at > clock.now()
            assert "another-process-tries" in row.payload["last_run"]
    finally:
        with other.app_context():
            db.engine.dispose()
        other.extensions["idp.hasher"].close()


def test_purges_go_in_bounded_batches(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "PURGE_BATCH", 2)
    with app.app_context():
        _insert_captchas(clock.now() - timedelta(hours=1), "old", count=5)
        _insert_captchas(clock.now() + timedelta(hours=1), "live", count=2)
    app.extensions["idp.jobs"].run_due(jobs.MAINTENANCE)
    with app.app_context():
        assert _captcha_ids() == {"live-0", "live-1"}


def test_the_maintenance_purges_expired_rows_and_keeps_live_ones(app: Flask, paul: Person) -> None:
    with app.app_context():
        member("OCB0000124", "julie.dupont", console_roles=["guest"])  # a console user, for its rows
        console_user_id = db.session.scalar(sa.select(ConsoleUser.id))
        now = clock.now()
        for state, moment in (("gone", now - 10 * DAY), ("kept", now + timedelta(hours=1))):
            for table, row in _rows(state, moment, now, paul.account_id, console_user_id).items():
                db.session.execute(db.metadata.tables[table].insert(), row)
        # Rows of every table kept whatever their age: a job not done, a live session's row.
        db.session.execute(
            Job.__table__.insert(),
            {
                "queue": "unregistered",
                "payload": {},
                "created_at": now - 30 * DAY,
                "next_attempt_at": now,
                "attempts": 0,
            },
        )
        db.session.commit()
    app.extensions["idp.jobs"].run_due(jobs.MAINTENANCE)
    with app.app_context():
        for table in _rows("x", now, now, 0, 0):
            left = db.session.execute(sa.select(db.metadata.tables[table])).mappings().all()
            assert all("gone" not in str(dict(r)) for r in left), f"{table} kept an expired row: {left}"
            assert any("kept" in str(dict(r)) for r in left), f"{table} lost a live row"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.queue == "unregistered")) == 1


# --- rows ------------------------------------------------------------------------------------


def _insert_captchas(expires_at: datetime, prefix: str, count: int = 1) -> None:
    table = db.metadata.tables["captcha_challenges"]
    for i in range(count):
        db.session.execute(
            table.insert(),
            {"id": f"{prefix}-{i}", "answer": "ACDEF", "created_at": expires_at, "expires_at": expires_at},
        )
    db.session.commit()


def _captcha_ids() -> set[str]:
    db.session.commit()  # a fresh read
    return set(db.session.scalars(sa.select(db.metadata.tables["captcha_challenges"].c.id)))


def _rows(
    tag: str, moment: datetime, now: datetime, account_id: int, console_user_id: int
) -> dict[str, dict[str, Any]]:
    """One row per purged table, expiring (or ended, done, its window started) at ``moment``;
    ``tag`` is in a text column of each, to tell them apart."""
    h = (tag * 64)[:64]
    past = moment if moment < now else now - timedelta(minutes=1)
    return {
        "oauth2_codes": {
            "code_hash": h,
            "client_id": tag,
            "account_id": account_id,
            "redirect_uri": CB,
            "scope": "openid",
            "auth_time": past,
            "created_at": past,
            "expires_at": moment,
        },
        "oauth2_tokens": {
            "access_token_hash": h,
            "refresh_token_hash": h,
            "family": tag,
            "client_id": tag,
            "account_id": account_id,
            "scope": "openid",
            "issued_at": past,
            "expires_at": past,
            "refresh_expires_at": moment,
            "family_started_at": past,
            "revoked_at": moment if moment < now else None,
        },
        "oauth2_client_assertions": {"client_id": tag, "jti_hash": h, "expires_at": moment},
        "password_links": {
            "id_hash": h,
            "account_id": account_id,
            "created_at": past,
            "expires_at": moment,
            "attempts": 0,
        },
        "email_changes": {
            "account_id": account_id,
            "new_email": f"{tag}@example.test",
            "new_email_canonical": f"{tag}@example.test",
            "confirm_hash": h,
            "cancel_hash": ("c" + h)[:64],
            "created_at": past,
            "expires_at": moment,
        },
        "api_password_flows": {
            "id_hash": h,
            "company_account": tag,
            "created_at": past,
            "expires_at": moment,
            "attempts": 0,
            "codes_sent": 0,
        },
        "verification_codes": {
            "console_user_id": console_user_id,
            "purpose": tag,
            "scope": "",
            "code_hmac": h,
            "created_at": past,
            "expires_at": moment,
            "tries": 0,
        },
        "captcha_challenges": {"id": tag, "answer": "ACDEF", "created_at": past, "expires_at": moment},
        "signatures_seen": {"access": tag, "signature": h, "expires_at": moment},
        "rate_counters": {"key": tag, "count": 1, "window_started_at": min(moment, now)},
        "jobs": {
            "queue": tag,
            "payload": {},
            "created_at": past,
            "next_attempt_at": past,
            "attempts": 1,
            "done_at": moment - 5 * DAY if moment < now else now - DAY,
        },
        "api_tokens": {
            "token_hash": h,
            "console_user_id": console_user_id,
            "methods": ["password"],
            "project_name": tag,
            "issued_at": past,
            "expires_at": moment,
        },
        "access_keys": {
            "access": tag,
            "console_user_id": console_user_id,
            "secret_encrypted": "x",
            "status": "active",
            "description": "",
            "created_at": past,
            "expires_at": moment,
        },
        "sso_sessions": {
            "id_hash": h,
            "account_id": account_id,
            "created_at": past,
            "auth_time": past,
            "last_seen_at": now,
            "expires_at": now + DAY,
            "ended_at": moment if moment < now else None,
            "user_agent": tag,
        },
    }
