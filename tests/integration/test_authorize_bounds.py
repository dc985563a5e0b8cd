"""Every authorization parameter has a length limit: an over-long one is ``invalid_request``
sent back to the client (its redirect URI known good) or an error page (before that), never a
database error — a 300-byte nonce or a long scope used to fail the code's INSERT on
PostgreSQL. Run on both databases (``make test``)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from idp.oidc.authorize import MAX_LENGTHS
from tests.conftest import AuthActions
from tests.factories import Person
from tests.helpers import CB
from tests.helpers import authorize
from tests.helpers import exchange
from tests.helpers import pkce
from tests.helpers import query

OVER_LONG = {
    "nonce": "n" * 300,
    "state": "s" * 1025,
    "scope": " ".join(["openid"] * 80),  # allowed scopes, 559 bytes: the scope column holds 500
    "code_challenge": "c" * 129,
    "login_hint": "l" * 255,
    "id_token_hint": "h" * 8193,
    "acr_values": "a" * 256,
    "ui_locales": "fr " * 86,
    "claims_locales": "en " * 86,
    "prompt": "login " * 11,
    "display": "p" * 17,
    "response_mode": "q" * 33,
    "company_account": "OCB" + "0" * 300,
    "claims": "{" * 2049,  # any other parameter: 2048 bytes at most
}


@pytest.mark.parametrize("name", sorted(OVER_LONG))
@pytest.mark.parametrize("signed_in", [True, False])
def test_an_over_long_parameter_is_invalid_request_to_the_client(
    client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str], name: str, signed_in: bool
) -> None:
    if signed_in:
        auth.login(paul.login, paul.password)
    _, challenge = pkce()
    q = query(authorize(client, challenge, **{name: OVER_LONG[name]}))
    assert q["error"] == "invalid_request" and "code" not in q
    assert q.get("state") == (None if name == "state" else "st-1")  # an over-long state is not echoed


def test_a_300_byte_nonce_by_post_too(client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]) -> None:
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    response = client.post(
        "/authorize",
        data={
            "response_type": "code",
            "client_id": "portal",
            "redirect_uri": CB,
            "scope": "openid",
            "state": "st-1",
            "nonce": "n" * 300,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert query(response)["error"] == "invalid_request"


def test_lengths_are_counted_in_bytes(client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]) -> None:
    auth.login(paul.login, paul.password)
    _, challenge = pkce()
    assert query(authorize(client, challenge, nonce="é" * 128))["error"] == "invalid_request"  # 256 bytes


def test_parameters_at_their_limit_still_work_end_to_end(
    client: FlaskClient, auth: AuthActions, paul: Person, rp: dict[str, str]
) -> None:
    auth.login(paul.login, paul.password)
    verifier, challenge = pkce()
    nonce, state = "é" * 127 + "n", "s" * MAX_LENGTHS["state"]  # 255 bytes; 1024 bytes
    q = query(authorize(client, challenge, nonce=nonce, state=state, login_hint="l" * 254))
    assert q["state"] == state
    tokens = exchange(client, q["code"], verifier, rp["portal"])
    assert tokens.status_code == 200, tokens.text


def test_an_over_long_redirect_uri_or_client_id_is_an_error_page(client: FlaskClient, rp: dict[str, str]) -> None:
    _, challenge = pkce()
    for extra in ({"redirect_uri": CB + "?" + "r" * 600}, {"client_id": "c" * 100}):
        response = authorize(client, challenge, **extra)
        assert response.status_code == 400 and "Location" not in response.headers


def test_the_console_company_step_refuses_an_over_long_company_account(client: FlaskClient, rp: dict[str, str]) -> None:
    target = "/authorize?" + urlencode({"client_id": "portal", "response_type": "code", "redirect_uri": CB})
    page = client.get("/console-login?" + urlencode({"next": target}))
    token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/console-login", data={"csrf_token": token, "next": target, "company_account": "OCB" + "0" * 300}
    )
    assert response.status_code == 400 and "Location" not in response.headers  # the form again
