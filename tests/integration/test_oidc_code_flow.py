"""Authorization code flow with PKCE, ID token, userinfo, refresh (security-checklist §2–5)."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet

from idp import clock
from idp.extensions import db
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.factories import Person
from tests.helpers import CB
from tests.helpers import ISSUER
from tests.helpers import authorize
from tests.helpers import exchange
from tests.helpers import pkce
from tests.helpers import query
from tests.helpers import refresh
from tests.helpers import signed_in_code


def test_full_flow_id_token_and_userinfo(client: FlaskClient, auth: AuthActions, paul: Person, rp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul, nonce="n-1")
    response = exchange(client, code, verifier, rp["portal"])
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    tokens = response.json
    assert {"access_token", "refresh_token", "id_token", "expires_in"} <= set(tokens)
    keys = KeySet.import_key_set(client.get("/jwks").json)
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    claims = id_token.claims
    assert id_token.header["kid"] in {k["kid"] for k in client.get("/jwks").json["keys"]}
    assert claims["iss"] == ISSUER and claims["aud"] == ["portal"] and claims["nonce"] == "n-1"
    assert claims["sub"] != paul.login and len(claims["sub"]) == 32  # stable, opaque
    assert claims["auth_time"] <= claims["iat"] < claims["exp"] and claims["sid"] and claims["at_hash"]
    for method in ("get", "post"):
        info = getattr(client, method)("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert info.status_code == 200 and info.json["sub"] == claims["sub"]
    info = info.json
    assert info["email"] == paul.email and info["preferred_username"] == "paul.dupont"
    [contract] = info["contracts"]
    assert contract["id"] == "OCB0000124" and contract["referent"] is True
    assert contract["roles"]["users"] == "manager" and contract["console_roles"] == ["admin"]


def test_tokens_are_stored_as_hashes(client: FlaskClient, auth: AuthActions, paul: Person, rp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    tokens = exchange(client, code, verifier, rp["portal"]).json
    from sqlalchemy import select

    from idp.oidc.models import AuthorizationCode
    from idp.oidc.models import OAuth2Token

    with app.app_context():
        row = db.session.scalar(select(OAuth2Token))
        stored = " ".join([row.access_token_hash, row.refresh_token_hash or "",
                           *db.session.scalars(select(AuthorizationCode.code_hash))])
    assert tokens["access_token"] not in stored and tokens["refresh_token"] not in stored and code not in stored


def test_without_session_the_browser_goes_to_login_and_back(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    verifier, challenge = pkce()
    first = authorize(client, challenge)
    assert first.status_code == 302 and first.headers["Location"].startswith("/login?next=")
    target = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    login = auth.login(paul.login, paul.password, next=target)
    assert login.headers["Location"] == target
    assert "code" in query(client.get(target))


def test_prompt_none_without_session_returns_login_required(client: FlaskClient, rp) -> None:  # type: ignore[no-untyped-def]
    _, challenge = pkce()
    q = query(authorize(client, challenge, prompt="none"))
    assert q == {"error": "login_required", "state": "st-1", "iss": ISSUER}


@pytest.mark.parametrize("redirect_uri", ["https://evil.example/cb", CB + "/", CB + "?x=1", "http://127.0.0.1:5001/CALLBACK"])
def test_redirect_uri_mismatch_is_an_error_page_never_a_redirect(client: FlaskClient, auth: AuthActions,
                                                                 paul: Person, rp, redirect_uri: str) -> None:  # type: ignore[no-untyped-def]
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    response = authorize(client, challenge, redirect_uri=redirect_uri)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "invalid_request" in response.text or "redirect_uri" in response.text


def test_missing_redirect_uri_and_unknown_client_are_error_pages(client: FlaskClient, rp) -> None:  # type: ignore[no-untyped-def]
    _, challenge = pkce()
    assert authorize(client, challenge, redirect_uri=None).status_code == 400
    assert authorize(client, challenge, client_id="nobody").status_code == 400


def test_pkce_is_required_and_s256_only(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    auth.login(paul.login, paul.password)
    assert query(authorize(client, None))["error"] == "invalid_request"
    verifier, challenge = pkce()
    plain = authorize(client, None, code_challenge=verifier, code_challenge_method="plain")
    assert query(plain)["error"] == "invalid_request"


def test_missing_or_wrong_verifier_is_refused(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    code, _ = signed_in_code(client, auth, paul)
    assert exchange(client, code, None, rp["portal"]).json["error"] == "invalid_request"
    code, _ = signed_in_code(client, auth, paul)
    wrong = exchange(client, code, pkce()[0], rp["portal"])
    assert wrong.status_code == 400 and wrong.json["error"] in {"invalid_grant", "invalid_request"}


def test_code_replay_is_refused_and_revokes_the_first_tokens(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    first = exchange(client, code, verifier, rp["portal"]).json
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    replay = exchange(client, code, verifier, rp["portal"])
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert client.get("/userinfo", headers=bearer).status_code == 401
    assert refresh(client, first["refresh_token"], rp["portal"]).status_code == 400


def test_code_expires_after_60_seconds(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    with clock.shifted(timedelta(seconds=61)):
        assert exchange(client, code, verifier, rp["portal"]).json["error"] == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_the_family(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    first = exchange(client, code, verifier, rp["portal"]).json
    second = refresh(client, first["refresh_token"], rp["portal"])
    assert second.status_code == 200 and second.json["refresh_token"] != first["refresh_token"]
    newest = second.json
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {newest['access_token']}"}).status_code == 200
    reuse = refresh(client, first["refresh_token"], rp["portal"])
    assert reuse.status_code == 400 and reuse.json["error"] == "invalid_grant"
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {newest['access_token']}"}).status_code == 401
    assert refresh(client, newest["refresh_token"], rp["portal"]).status_code == 400


def test_client_authentication(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    wrong = exchange(client, code, verifier, rp["portal"] + "x")
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    code, verifier = signed_in_code(client, auth, paul)
    post = client.post("/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB,
                                        "code_verifier": verifier, "client_id": "portal", "client_secret": rp["portal"]})
    assert post.status_code == 401  # registered for client_secret_basic only


def test_max_age_forces_a_new_login(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    with clock.shifted(timedelta(seconds=120)):
        response = authorize(client, challenge, max_age="60")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
        assert "code" in query(authorize(client, challenge, max_age="600"))


def test_prompt_login_sends_back_to_the_form(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    response = authorize(client, challenge, prompt="login")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_third_party_client_asks_consent_once(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    params = {"client_id": "other", "redirect_uri": "https://other.example/cb", "scope": "openid email"}
    page = authorize(client, challenge, **params)
    assert page.status_code == 200 and "Other App" in page.text
    assert authorize(client, challenge, prompt="none", **params).headers["Location"].count("consent_required") == 1
    url = "/authorize?" + urlencode({"response_type": "code", "state": "st-1", "nonce": "n-2",
                                     "code_challenge": challenge, "code_challenge_method": "S256", **params})
    # Without the consent form's CSRF token a POST is one more authorization request, not an answer.
    forged = client.post(url, data={"decision": "allow"})
    assert forged.status_code == 200 and "Other App" in forged.text and "Location" not in forged.headers
    allowed = client.post(url, data={"decision": "allow", "csrf_token": csrf_token(page.text)})
    assert "code" in query(allowed)
    assert "code" in query(authorize(client, challenge, nonce="n-3", **params))  # remembered


def test_discovery_lists_what_answers(client: FlaskClient, rp) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/.well-known/openid-configuration").json
    assert doc["issuer"] == ISSUER and doc["code_challenge_methods_supported"] == ["S256"]
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        path = doc[key][len(ISSUER):]
        assert client.get(path).status_code != 404, key


def test_a_nonce_cannot_be_replayed(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    signed_in_code(client, auth, paul, nonce="same-nonce")
    _, challenge = pkce()
    assert query(authorize(client, challenge, nonce="same-nonce"))["error"] == "invalid_request"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_revocation_ends_the_grant(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    tokens = exchange(client, code, verifier, rp["portal"]).json
    assert client.post("/revoke", data={"token": tokens["refresh_token"]}).status_code == 401  # unauthenticated
    done = client.post("/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
                       headers=_basic("portal", rp["portal"]))
    assert done.status_code == 200
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401
    assert refresh(client, tokens["refresh_token"], rp["portal"]).status_code == 400
    # unknown tokens are "revoked" too, silently (RFC 7009 §2.2)
    assert client.post("/revoke", data={"token": "nonsense"}, headers=_basic("portal", rp["portal"])).status_code == 200


def test_introspection_is_for_authenticated_clients_only(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul)
    tokens = exchange(client, code, verifier, rp["portal"]).json
    assert client.post("/introspect", data={"token": tokens["access_token"]}).status_code == 401
    assert client.post("/introspect", data={"token": tokens["access_token"]},
                       headers=_basic("portal", "wrong")).status_code == 401
    answer = client.post("/introspect", data={"token": tokens["access_token"]}, headers=_basic("portal", rp["portal"]))
    assert answer.status_code == 200 and answer.json["active"] is True and answer.json["username"] == "paul.dupont"
    # another (third-party) client may not look at the portal's tokens
    other = client.post("/introspect", data={"token": tokens["access_token"]}, headers=_basic("other", rp["other"]))
    assert other.status_code != 200 or other.json.get("active") is not True
    with clock.shifted(timedelta(seconds=601)):
        expired = client.post("/introspect", data={"token": tokens["access_token"]}, headers=_basic("portal", rp["portal"]))
        assert expired.json == {"active": False}


def test_public_client_cannot_introspect(client: FlaskClient, rp) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/introspect", data={"token": "anything", "client_id": "spa"})
    assert response.status_code == 401


def test_company_account_login_carries_the_console_roles(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    code, verifier = signed_in_code(client, auth, paul, company_account="OCB0000124")
    tokens = exchange(client, code, verifier, rp["portal"]).json
    id_token = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks").json), algorithms=["RS256"])
    assert id_token.claims["company_account"] == "OCB0000124" and id_token.claims["console_roles"] == ["admin"]
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json
    assert info["company_account"] == "OCB0000124" and info["console_roles"] == ["admin"]
    again = refresh(client, tokens["refresh_token"], rp["portal"]).json
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {again['access_token']}"}).json
    assert info["company_account"] == "OCB0000124"  # kept across refreshes


@pytest.mark.parametrize("company", ["OCB0000412", "OCB9999999"])
def test_company_account_of_a_non_console_user_is_refused_with_a_page(client: FlaskClient, auth: AuthActions,
                                                                      paul: Person, rp, app: Flask, company: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        from idp.directory import invitations
        from idp.directory import service
        from idp.directory.models import Account

        service.create_contract(contract_id="OCB0000412", name="SI_qualif", offer="flexible-computing-advanced",
                                company_name="ACME", referent=service.Identity(
                                    login="someone.else", email="else@example.test", first_name="S",
                                    last_name="E", landline="0102030405"))
        invited = service.add_member("OCB0000412", service.Identity(
            login="paul.dupont", email=paul.email, first_name="Paul", last_name="Dupont", landline="0102030405"))
        assert invited.invitation is not None
        account = db.session.get(Account, paul.account_id)
        account.email_verified_at = clock.now()  # he followed the invitation's link
        invitations.accept(invited.invitation.id, account)
        db.session.commit()  # paul is a member of OCB0000412 (invited, accepted), without any console role
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    response = authorize(client, challenge, company_account=company)
    assert response.status_code == 403 and "Location" not in response.headers
    assert company[:16] in response.text


@pytest.mark.parametrize("company", ["junk", "OCB0000124" + "9" * 300])
def test_malformed_company_account_is_an_invalid_request(client: FlaskClient, auth: AuthActions, paul: Person,
                                                         rp, company: str) -> None:  # type: ignore[no-untyped-def]
    """Not a company account at all: an OAuth error to the client (never a database error)."""
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    response = authorize(client, challenge, company_account=company)
    assert query(response)["error"] == "invalid_request" and "code" not in query(response)


def test_login_page_lets_its_form_end_only_at_the_clients_registered_origin(client: FlaskClient, rp) -> None:  # type: ignore[no-untyped-def]
    _, challenge = pkce()
    first = authorize(client, challenge)
    page = client.get(first.headers["Location"])
    assert "form-action 'self' http://127.0.0.1:5001;" in page.headers["Content-Security-Policy"]
    forged = client.get("/login?next=" + urlencode({"x": "/authorize?client_id=portal&redirect_uri=https://evil.example/cb"})[2:])
    assert "form-action 'self';" in forged.headers["Content-Security-Policy"]
    assert "evil" not in forged.headers["Content-Security-Policy"]
