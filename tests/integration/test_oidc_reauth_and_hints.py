"""Re-authentication (prompt=login, max_age), id_token_hint, login_hint, per-client ID
token algorithm (security-checklist §3, §15)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet

from idp import clock
from idp.extensions import db
from idp.oidc import clients as registry
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.factories import Person
from tests.factories import member
from tests.helpers import CB
from tests.helpers import authorize
from tests.helpers import exchange
from tests.helpers import pkce
from tests.helpers import query
from tests.helpers import signed_in_code


def id_token_of(client: FlaskClient, code: str, verifier: str, secret: str, client_id: str = "portal") -> dict:  # type: ignore[type-arg]
    tokens = exchange(client, code, verifier, secret, client_id=client_id).json
    keys = KeySet.import_key_set(client.get("/jwks").json)
    return {"raw": tokens["id_token"], **jwt.decode(tokens["id_token"], keys, algorithms=["RS256", "ES256"]).claims}


def follow_to_code(client: FlaskClient, response, person: Person | None = None):  # type: ignore[no-untyped-def]
    """Follow the browser from /authorize: through the login form if one shows (signing in
    as ``person``), back to /authorize, until the redirect to the client."""
    for _ in range(6):
        assert response.status_code in {200, 302}, response.text[:300]
        if response.status_code == 302 and response.headers["Location"].startswith(CB):
            return query(response)
        if response.status_code == 200:
            assert person is not None, "a login form showed where none was expected"
            data = {"csrf_token": csrf_token(response.text), "login": person.login, "password": person.password,
                    "next": parse_qs(urlsplit(response.request.url).query)["next"][0]}
            response = client.post("/login", data=data)
            person = None  # one login only
            continue
        response = client.get(response.headers["Location"])
    raise AssertionError("no code after six hops")


def test_prompt_login_shows_the_form_despite_the_session_and_needs_a_fresh_login(
        client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    auth.login(paul.login, paul.password)
    verifier, challenge = pkce()
    with clock.shifted(timedelta(seconds=30)):
        first = authorize(client, challenge, prompt="login")
        assert first.headers["Location"].startswith("/login")
        form = client.get(first.headers["Location"])
        assert form.status_code == 200 and 'name="password"' in form.text  # the form, not a redirect
        # Skipping the form and going back to /authorize with the old session yields no code.
        target = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
        assert "prompt" not in target and "auth_after" in target
        assert client.get(target).headers["Location"].startswith("/login")
        q = follow_to_code(client, first, paul)
        claims = id_token_of(client, q["code"], verifier, rp["portal"])
    assert claims["auth_time"] >= int(clock.now().timestamp()) + 29  # the new login, not the first


def test_max_age_passed_needs_a_fresh_login_not_just_a_redirect(client: FlaskClient, auth: AuthActions, paul: Person,
                                                                rp) -> None:  # type: ignore[no-untyped-def]
    auth.login(paul.login, paul.password)
    verifier, challenge = pkce()
    with clock.shifted(timedelta(seconds=120)):
        first = authorize(client, challenge, max_age="60")
        assert client.get(first.headers["Location"]).status_code == 200  # the form
        target = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
        assert client.get(target).headers["Location"].startswith("/login")  # still too old
        q = follow_to_code(client, first, paul)
        claims = id_token_of(client, q["code"], verifier, rp["portal"])
        assert int(clock.now().timestamp()) - claims["auth_time"] <= 60
    assert query(authorize(client, challenge, prompt="none", max_age="x"))["error"] == "invalid_request"


def test_prompt_none_mixed_with_another_value_is_invalid(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    assert query(authorize(client, challenge, prompt="none login"))["error"] == "invalid_request"


def test_id_token_hint(client: FlaskClient, auth: AuthActions, paul: Person, rp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    hint = id_token_of(client, code, verifier, rp["portal"])["raw"]
    _, challenge = pkce()
    # The same person, silently: a code.
    assert "code" in query(authorize(client, challenge, prompt="none", id_token_hint=hint))
    # A forged or foreign hint: invalid_request, back to the client.
    forged = hint[:-4] + ("AAAA" if not hint.endswith("AAAA") else "BBBB")
    assert query(authorize(client, challenge, id_token_hint=forged))["error"] == "invalid_request"
    other = authorize(client, challenge, id_token_hint=hint, client_id="other", redirect_uri="https://other.example/cb")
    assert query(other)["error"] == "invalid_request"  # issued to another client
    # Someone else signed in now: prompt=none answers login_required, otherwise the form.
    with app.app_context():
        jacques = member("OCB0000124", "jacques.dupont")
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/logout").text)})
    auth.login(jacques.login, jacques.password)
    assert query(authorize(client, challenge, prompt="none", id_token_hint=hint))["error"] == "login_required"
    again = authorize(client, challenge, id_token_hint=hint)
    assert again.headers["Location"].startswith("/login") and client.get(again.headers["Location"]).status_code == 200


def test_login_hint_fills_the_login_field(client: FlaskClient, rp) -> None:  # type: ignore[no-untyped-def]
    _, challenge = pkce()
    first = authorize(client, challenge, login_hint="paul.dupont")
    page = client.get(first.headers["Location"])
    assert 'value="paul.dupont"' in page.text
    assert 'value="paul.dupont"' not in client.get("/login").text


def test_a_client_can_ask_for_es256_id_tokens(client: FlaskClient, auth: AuthActions, paul: Person, rp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        secret = registry.create(client_id="es", name="ES client", redirect_uris=[CB], first_party=True,
                                 id_token_alg="ES256").secret
        db.session.commit()
    code, verifier = signed_in_code(client, auth, paul, client_id="es")
    raw = exchange(client, code, verifier, secret or "", client_id="es").json["id_token"]
    keys = KeySet.import_key_set(client.get("/jwks").json)
    token = jwt.decode(raw, keys, algorithms=["ES256"])
    assert token.header["alg"] == "ES256" and token.claims["aud"] == ["es"]
    assert {"RS256", "ES256"} <= set(client.get("/.well-known/openid-configuration").json[
        "id_token_signing_alg_values_supported"])
