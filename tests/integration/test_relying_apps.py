"""The relying apps as a model of how to trust the IdP: sessions kept server-side in a store
shared by every process and kept across restarts (a copied cookie is dead after logout, in
any process, after any restart), sign-out by POST with CSRF, logout tokens checked per
Back-Channel Logout 1.0 §2.6 with the IdP's keys cached, and the console's ``/v1`` bound to
the caller's project and console roles.

The portal talks over real HTTP to a small stand-in IdP (discovery, JWKS with a counter,
token, userinfo) whose keys the tests sign with; the console's API talks to the real IdP
served by ``idp serve``. The store is the run's database (SQLite, or PostgreSQL)."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask import jsonify
from flask import request
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from werkzeug.serving import make_server

from idp.directory import console_users
from idp.directory import service
from idp.extensions import db
from sso_clients import console
from sso_clients import portal
from sso_clients.rp import BACKCHANNEL_EVENT
from sso_clients.rp import RpConfig
from sso_clients.store import sessions as session_rows
from tests import factories
from tests.conftest import free_port
from tests.conftest import fresh_database

COOKIE = "portal_session"
CONTRACT = {"id": "OCB0000124", "name": "SL_Prod", "offer": "flexible-engine", "referent": True,
            "roles": {"contract": "manager", "dashboard": "manager", "orders": "visitor", "subscriptions": "visitor",
                      "services": "manager", "invoices": "manager", "support": "manager", "users": "manager"},
            "console_roles": ["admin"]}
DROP = object()  # a claim to leave out of a logout token


@dataclass
class StandInIdp:
    """Discovery, JWKS (counted), token and userinfo endpoints; signs with ``keys``."""

    url: str = ""
    keys: list[ECKey] = field(default_factory=lambda: [ECKey.generate_key("P-256", parameters={"kid": "k1"})])
    jwks_fetches: int = 0
    pending: dict[str, str] = field(default_factory=dict)  # nonce and sid of the sign-in under way
    # The Keystone side, for the console: what it received, and what it answers (a body and
    # a content type, as raw text so that it can be anything).
    received: list[dict[str, Any]] = field(default_factory=list)
    keystone_answer: tuple[str, str] = ("{}", "application/json")

    def app(self) -> Flask:
        app = Flask("stand_in_idp")

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify(issuer=self.url, authorization_endpoint=self.url + "/authorize",
                           token_endpoint=self.url + "/token", userinfo_endpoint=self.url + "/userinfo",
                           jwks_uri=self.url + "/jwks", end_session_endpoint=self.url + "/logout",
                           id_token_signing_alg_values_supported=["ES256"])

        @app.get("/jwks")
        def jwks() -> Any:
            self.jwks_fetches += 1
            return jsonify(KeySet(self.keys).as_dict(private=False))

        @app.post("/token")
        def token() -> Any:
            now = int(time.time())
            claims = {"iss": self.url, "aud": "portal", "sub": "paul", "sid": self.pending["sid"],
                      "nonce": self.pending["nonce"], "iat": now, "exp": now + 300}
            return jsonify(access_token="at", token_type="Bearer", expires_in=300, id_token=self.sign(claims))

        @app.post("/v3/ec2tokens")
        @app.get("/v3/auth/tokens")
        def keystone() -> Any:
            self.received.append({"path": request.path, "headers": dict(request.headers),
                                  "json": request.get_json(silent=True)})
            body, content_type = self.keystone_answer
            return body, 200, {"Content-Type": content_type}

        @app.get("/userinfo")
        def userinfo() -> Any:
            assert request.headers["Authorization"] == "Bearer at"
            return jsonify(sub="paul", name="Paul Dupont", preferred_username="paul.dupont", locale="en",
                           contracts=[CONTRACT])

        return app

    def sign(self, claims: dict[str, Any], key: ECKey | None = None, **header: str) -> str:
        key = key or self.keys[0]
        return jwt.encode({"alg": "ES256", "kid": str(key.kid), **header}, claims, key)

    def logout_token(self, key: ECKey | None = None, **changes: object) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.url, "aud": "portal", "iat": now, "exp": now + 120,
                                  "jti": secrets.token_urlsafe(12), "sub": "paul", "sid": "sid-1",
                                  "events": {BACKCHANNEL_EVENT: {}}}
        claims.update(changes)
        return self.sign({k: v for k, v in claims.items() if v is not DROP}, key, typ="logout+jwt")


@pytest.fixture
def idp() -> Iterator[StandInIdp]:
    stand_in = StandInIdp()
    port = free_port()
    stand_in.url = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, stand_in.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    server.shutdown()
    thread.join(5)


@pytest.fixture
def store_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path, "rp") as url:
        yield url


@pytest.fixture
def start_portal(idp: StandInIdp, store_url: str) -> Iterator[Callable[..., Flask]]:
    """Start a portal process on the shared store; each call is another worker, or the
    same portal after a restart."""
    started: list[Flask] = []

    def start(**settings: Any) -> Flask:
        config = RpConfig(client_id="portal", client_secret="s", issuer=idp.url, base_url="http://localhost",
                          scope="openid profile email contracts", store_url=store_url, **settings)
        app = portal.create_app(config)
        started.append(app)
        return app

    yield start
    for app in started:
        app.extensions["rp.store"].engine.dispose()


def sign_in(client: FlaskClient, idp: StandInIdp, sid: str = "sid-1") -> str:
    """Through the portal's real callback (code exchange, ID token checked); the cookie."""
    authorize = parse_qs(urlsplit(client.get("/login").headers["Location"]).query)
    idp.pending = {"nonce": authorize["nonce"][0], "sid": sid}
    done = client.get(f"/callback?code=c&state={authorize['state'][0]}")
    assert done.status_code == 302 and done.headers["Location"] == "/", done.text
    assert signed_in(client)
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def signed_in(client: FlaskClient) -> bool:
    html = client.get("/").text
    return 'id="person"' in html and 'id="sign-in"' not in html


def with_cookie(app: Flask, value: str) -> FlaskClient:
    """Another browser (or an attacker) holding a copy of the cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


def csrf(client: FlaskClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert found
    return found.group(1)


def back_channel(app: Flask, token: str) -> Any:
    return app.test_client().post("/backchannel-logout", data={"logout_token": token})


# --- sessions ------------------------------------------------------------------------------------


def test_a_copied_cookie_is_refused_after_logout(start_portal: Callable[..., Flask], idp: StandInIdp) -> None:
    app = start_portal()
    browser = app.test_client()
    cookie = sign_in(browser, idp)
    copy = with_cookie(app, cookie)
    assert signed_in(copy)
    out = browser.post("/logout", data={"csrf_token": csrf(browser)})
    assert out.status_code == 302 and out.headers["Location"].startswith(idp.url + "/logout?")
    assert "id_token_hint=" in out.headers["Location"]
    assert not signed_in(browser)
    assert not signed_in(copy)  # the row is gone: the copy points at nothing
    assert not signed_in(with_cookie(start_portal(), cookie))  # nor in another worker


def test_sessions_survive_a_restart_and_a_back_channel_logout_ends_them_everywhere(
    start_portal: Callable[..., Flask], idp: StandInIdp
) -> None:
    first = start_portal()
    cookie = sign_in(first.test_client(), idp, sid="sid-1")
    other = sign_in(first.test_client(), idp, sid="sid-2")
    restarted = start_portal()
    assert signed_in(with_cookie(restarted, cookie))  # sessions are not lost with a process
    assert back_channel(first, idp.logout_token(sid="sid-1")).status_code == 200
    again = start_portal()  # after the logout, a restart does not bring it back
    for app in (first, restarted, again):
        assert not signed_in(with_cookie(app, cookie))
        assert signed_in(with_cookie(app, other))  # only that IdP session ended


def test_a_logout_token_with_only_a_sub_ends_that_persons_sessions(
    start_portal: Callable[..., Flask], idp: StandInIdp
) -> None:
    app = start_portal()
    cookie = sign_in(app.test_client(), idp)
    assert back_channel(app, idp.logout_token(sid=DROP, sub="paul")).status_code == 200
    assert not signed_in(with_cookie(app, cookie))


def test_signing_in_gives_a_new_cookie(start_portal: Callable[..., Flask], idp: StandInIdp) -> None:
    app = start_portal()
    browser = app.test_client()
    browser.get("/")  # an anonymous session (CSRF token of the language form)
    before = browser.get_cookie(COOKIE)
    assert before is not None
    after = sign_in(browser, idp)
    assert after != before.value
    assert not signed_in(with_cookie(app, before.value))  # no fixation


def test_logout_by_get_does_not_log_out(start_portal: Callable[..., Flask], idp: StandInIdp) -> None:
    app = start_portal()
    browser = app.test_client()
    sign_in(browser, idp)
    page = browser.get("/logout")
    assert page.status_code == 302 and page.headers["Location"] == "/"
    assert browser.post("/logout").status_code == 400  # no CSRF token
    assert browser.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert signed_in(browser)
    html = browser.get("/").text
    assert re.search(r'<form class="inline" method="post" action="/logout">\s*<input type="hidden" name="csrf_token"',
                     html)


def session_expiries(app: Flask) -> list[int]:
    with app.extensions["rp.store"].engine.connect() as conn:
        return list(conn.scalars(sa.select(session_rows.c.expires_at)))


def test_a_visitors_session_is_short_lived_until_someone_signs_in(
    start_portal: Callable[..., Flask], idp: StandInIdp
) -> None:
    """Anyone can make a session row with a GET (the language form's CSRF token): it lives
    minutes, not the 8 hours of a signed-in session."""
    app = start_portal()
    browser = app.test_client()
    began = int(time.time())
    visit = browser.get("/")
    assert "Max-Age=600" in visit.headers["Set-Cookie"]
    [anonymous] = session_expiries(app)
    assert began + 600 <= anonymous <= int(time.time()) + 600
    sign_in(browser, idp)
    [signed] = session_expiries(app)  # the visitor's row gave way to the signed-in one
    assert signed >= began + 8 * 3600


def test_a_short_lived_visitor_row_expires(start_portal: Callable[..., Flask], idp: StandInIdp) -> None:
    app = start_portal(anonymous_session_lifetime=1)
    browser = app.test_client()
    browser.post("/language", data={"lang": "en", "csrf_token": csrf(browser)})
    assert 'lang="en"' in browser.get("/").text
    time.sleep(2.1)
    assert 'lang="en"' not in browser.get("/", headers={"Accept-Language": "fr"}).text


def test_a_refused_or_forged_sign_in_signs_nobody_in_and_is_no_500(
    start_portal: Callable[..., Flask], idp: StandInIdp
) -> None:
    app = start_portal()
    browser = app.test_client()
    state = parse_qs(urlsplit(browser.get("/login").headers["Location"]).query)["state"][0]
    for query in (f"error=access_denied&state={state}", "error=login_required", "code=c&state=forged", "code=c"):
        answer = browser.get(f"/callback?{query}")
        assert answer.status_code == 302 and answer.headers["Location"] == "/", (query, answer.status_code)
    # a browser that never started this sign-in (a link sent to a victim)
    assert app.test_client().get(f"/callback?code=c&state={state}").headers["Location"] == "/"
    assert not signed_in(browser)


# --- logout tokens -------------------------------------------------------------------------------

BAD_TOKENS: dict[str, dict[str, object]] = {
    "iat too old": {"iat": int(time.time()) - 3600, "exp": int(time.time()) + 60},
    "iat in the future": {"iat": int(time.time()) + 600, "exp": int(time.time()) + 900},
    "no iat": {"iat": DROP},
    "no exp": {"exp": DROP},  # REQUIRED (§2.4, errata set 1); our IdP always sends it
    "exp not a number": {"exp": "soon"},
    "expired": {"iat": int(time.time()) - 100, "exp": int(time.time()) - 90},
    "wrong issuer": {"iss": "https://elsewhere.example"},
    "another audience": {"aud": "console"},
    "no events": {"events": DROP},
    "another event": {"events": {"http://schemas.openid.net/event/other": {}}},
    "a nonce": {"nonce": "n"},
    "neither sid nor sub": {"sid": DROP, "sub": DROP},
    "no jti": {"jti": DROP},
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_bad_logout_token_is_refused(start_portal: Callable[..., Flask], idp: StandInIdp, case: str) -> None:
    app = start_portal()
    cookie = sign_in(app.test_client(), idp)
    refused = back_channel(app, idp.logout_token(**BAD_TOKENS[case]))
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_request"
    assert refused.headers["Cache-Control"] == "no-store"
    assert signed_in(with_cookie(app, cookie))


def test_a_replayed_logout_token_is_refused_by_every_worker(
    start_portal: Callable[..., Flask], idp: StandInIdp
) -> None:
    first, second = start_portal(), start_portal()
    token = idp.logout_token(sid="sid-9")
    assert back_channel(first, token).status_code == 200
    assert back_channel(first, token).status_code == 400
    assert back_channel(second, token).status_code == 400  # the jti is in the shared store


def test_the_jwks_is_fetched_once_for_many_logout_tokens(start_portal: Callable[..., Flask], idp: StandInIdp) -> None:
    app = start_portal()
    sign_in(app.test_client(), idp)  # the ID token: first fetch
    for n in range(20):
        assert back_channel(app, idp.logout_token(sid=f"sid-{n}")).status_code == 200
    assert idp.jwks_fetches == 1


def test_an_unknown_kid_fetches_the_keys_once_then_is_refused(
    start_portal: Callable[..., Flask], idp: StandInIdp
) -> None:
    app = start_portal()
    cookie = sign_in(app.test_client(), idp)
    assert idp.jwks_fetches == 1
    forger = ECKey.generate_key("P-256", parameters={"kid": "forged"})
    for n in range(20):
        refused = back_channel(app, idp.logout_token(key=forger, jti=f"j{n}"))
        assert refused.status_code == 400
    assert idp.jwks_fetches == 1  # within the minimum interval, a flood costs the IdP nothing
    known_kid = ECKey.generate_key("P-256", parameters={"kid": "k1"})  # a known kid, the wrong key
    assert back_channel(app, idp.logout_token(key=known_kid)).status_code == 400
    assert idp.jwks_fetches == 1 and signed_in(with_cookie(app, cookie))


def test_a_new_key_of_the_idp_is_fetched_when_a_token_names_it(
    start_portal: Callable[..., Flask], idp: StandInIdp
) -> None:
    app = start_portal(jwks_min_interval=1)
    cookie = sign_in(app.test_client(), idp)
    rotated = ECKey.generate_key("P-256", parameters={"kid": "k2"})
    idp.keys.append(rotated)
    time.sleep(1.1)
    assert back_channel(app, idp.logout_token(key=rotated)).status_code == 200
    assert idp.jwks_fetches == 2
    assert not signed_in(with_cookie(app, cookie))
    # An unknown kid right after: no new fetch before the interval has passed.
    forger = ECKey.generate_key("P-256", parameters={"kid": "k3"})
    assert back_channel(app, idp.logout_token(key=forger)).status_code == 400
    assert idp.jwks_fetches == 2


# --- the console's /v1 ---------------------------------------------------------------------------

API_PASSWORD = "Api#Password-2026"


@pytest.fixture
def console_api(live_server: str, store_url: str) -> Iterator[FlaskClient]:
    config = RpConfig(client_id="console", client_secret="unused", issuer=live_server, base_url="http://localhost",
                      scope="openid", store_url=store_url)
    app = console.create_app(config)
    yield app.test_client()
    app.extensions["rp.store"].engine.dispose()


def people(app: Flask) -> dict[str, str]:
    """Console users of two contracts, by role; their API passwords set."""
    with app.app_context():
        factories.contract_with_referent()  # paul.dupont, admin of OCB0000124
        factories.contract_with_referent("OCB0000412", "anne.martin")
        factories.member("OCB0000124", "julie.dupont", console_roles=["guest"])
        factories.member("OCB0000124", "marc.dupont", console_roles=["power_user"])
        service.add_console_group("OCB0000124", "network-ops")
        factories.member("OCB0000124", "lea.dupont", console_roles=["network-ops"])
        for contract, login in (("OCB0000124", "paul.dupont"), ("OCB0000412", "anne.martin"),
                                ("OCB0000124", "julie.dupont"), ("OCB0000124", "marc.dupont"),
                                ("OCB0000124", "lea.dupont")):
            console_users.set_api_password(console_users.for_login(contract, login), API_PASSWORD)
        db.session.commit()
        return {c: console_users.project_id(c) for c in ("OCB0000124", "OCB0000412")}


def token(idp_url: str, login: str, contract: str = "OCB0000124", scope: str = "project") -> str:
    scopes = {"project": {"project": {"name": "eu-west-0"}}, "domain": {"domain": {"name": contract}}}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": login, "password": API_PASSWORD, "domain": {"name": contract}}}}, "scope": scopes[scope]}}
    answer = requests.post(idp_url + "/v3/auth/tokens?nocatalog", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.headers["X-Subject-Token"]


def create(api: FlaskClient, project: str, auth: str) -> Any:
    return api.post(f"/v1/{project}/servers", json={"server": {"name": "vm1"}}, headers={"X-Auth-Token": auth})


def test_console_roles_guest_reads_power_user_writes(app: Flask, live_server: str, console_api: FlaskClient) -> None:
    projects = people(app)
    mine = projects["OCB0000124"]
    logins = ("julie.dupont", "marc.dupont", "lea.dupont", "paul.dupont")
    tokens = {login: token(live_server, login) for login in logins}
    guest = create(console_api, mine, tokens["julie.dupont"])
    assert guest.status_code == 403 and guest.get_json()["error_code"] == "APIGW.0302"
    listed = console_api.get(f"/v1/{mine}/servers", headers={"X-Auth-Token": tokens["julie.dupont"]})
    assert listed.status_code == 200 and listed.get_json()["project_id"] == mine
    assert create(console_api, mine, tokens["lea.dupont"]).status_code == 403  # a custom group reads only
    for writer in ("marc.dupont", "paul.dupont"):
        created = create(console_api, mine, tokens[writer])
        assert created.status_code == 202, created.text
        assert created.get_json()["server"] == {"name": "vm1", "owner": writer, "project_id": mine}


def test_console_refuses_another_contracts_project(app: Flask, live_server: str, console_api: FlaskClient) -> None:
    projects = people(app)
    theirs = token(live_server, "anne.martin", "OCB0000412")  # admin of OCB0000412
    for method in ("GET", "POST"):
        answer = console_api.open(f"/v1/{projects['OCB0000124']}/servers", method=method, json={"server": {}},
                                  headers={"X-Auth-Token": theirs})
        assert answer.status_code == 403 and answer.get_json()["error_code"] == "APIGW.0302", method
    assert create(console_api, projects["OCB0000412"], theirs).status_code == 202  # their own project
    domain_scoped = token(live_server, "paul.dupont", scope="domain")
    assert create(console_api, projects["OCB0000124"], domain_scoped).status_code == 403  # no project in scope
    unauthenticated = console_api.post(f"/v1/{projects['OCB0000124']}/servers", json={})
    assert unauthenticated.status_code == 401


# --- the console and the IdP: only what is signed goes there, and no 500 if the IdP fails -----

SDK_AUTH = "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-sdk-date, Signature=" + "0" * 64
SIGNED = {"Authorization": SDK_AUTH, "X-Sdk-Date": "20260101T000000Z", "Content-Type": "application/json"}
KEYSTONE_TOKEN = {"user": {"id": "u1", "name": "paul.dupont", "domain": {"name": "OCB0000124"}},
                  "roles": [{"name": "admin"}], "methods": ["aksk"], "project": {"id": "p1"}}


def console_app(store_url: str, issuer: str) -> Flask:
    return console.create_app(RpConfig(client_id="console", client_secret="s", issuer=issuer,
                                       base_url="http://localhost", scope="openid", store_url=store_url))


@pytest.fixture
def console_on_stand_in(idp: StandInIdp, store_url: str) -> Iterator[FlaskClient]:
    app = console_app(store_url, idp.url)
    yield app.test_client()
    app.extensions["rp.store"].engine.dispose()


def test_the_console_forwards_only_the_signed_headers(idp: StandInIdp, console_on_stand_in: FlaskClient) -> None:
    idp.keystone_answer = (json.dumps({"token": KEYSTONE_TOKEN}), "application/json")
    answer = console_on_stand_in.get("/v1/whoami", headers={
        **SIGNED, "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD", "Cookie": "console_session=the-callers-cookie",
        "X-Unsigned": "anything"})
    assert answer.status_code == 200, answer.text
    [sent] = idp.received
    assert set(sent["json"]["credentials"]["headers"]) == {
        "Authorization", "Content-Type", "Host", "X-Sdk-Date", "X-Sdk-Content-Sha256"}
    assert "the-callers-cookie" not in json.dumps(sent)


NONSENSE = {
    "html": ("<html>Bad gateway</html>", "text/html"),
    "a json list": ("[1, 2]", "application/json"),
    "token not an object": ('{"token": "x"}', "application/json"),
    "token without a user": ('{"token": {"roles": []}}', "application/json"),
}


@pytest.mark.parametrize("case", list(NONSENSE))
@pytest.mark.parametrize("how", ["token", "signature"])
def test_an_idp_answering_nonsense_is_a_502(
    idp: StandInIdp, console_on_stand_in: FlaskClient, case: str, how: str
) -> None:
    idp.keystone_answer = NONSENSE[case]
    answer = console_on_stand_in.get("/v1/whoami", headers={"X-Auth-Token": "t"} if how == "token" else SIGNED)
    assert answer.status_code == 502, (case, how, answer.status_code)
    assert answer.get_json()["error_code"] == "APIGW.0502"


def test_an_unreachable_idp_is_a_502(store_url: str) -> None:
    app = console_app(store_url, f"http://127.0.0.1:{free_port()}")  # nobody listens there
    try:
        for headers in ({"X-Auth-Token": "t"}, SIGNED):
            answer = app.test_client().get("/v1/whoami", headers=headers)
            assert answer.status_code == 502 and answer.get_json()["error_code"] == "APIGW.0502"
    finally:
        app.extensions["rp.store"].engine.dispose()


@pytest.mark.parametrize("company", ["OCB000023", "OCB0000124"])
def test_the_console_passes_six_and_seven_digit_company_accounts_on(
    console_on_stand_in: FlaskClient, company: str
) -> None:
    answer = console_on_stand_in.get(f"/login?company_account={company}")
    assert answer.status_code == 302 and f"company_account={company}" in answer.headers["Location"]
