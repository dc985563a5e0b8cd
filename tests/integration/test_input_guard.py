"""A NUL character anywhere in a request is one clear 400, never a database error (a 500 on
PostgreSQL, which cannot store it), whichever entry point it reaches."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import TEST_CAPTCHA
from tests.conftest import csrf_token
from tests.factories import Person


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/forgot-password?login=paul%00dupont", {}),
        ("post", "/forgot-login", {"data": {"email": "paul\x00@example.test", "captcha": TEST_CAPTCHA}}),
        ("post", "/login", {"data": {"login": "paul.dupont\x00", "password": "x"}}),
        ("post", "/v3.0/api-password/flows", {"json": {"company_account": "OCB0000124", "email": "a\x00@b.fr",
                                                       "captcha_id": "x", "captcha": TEST_CAPTCHA}}),
        ("post", "/v3/auth/tokens", {"json": {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "paul\x00", "password": "x", "domain": {"name": "OCB0000124"}}}}}}}),
        ("get", "/reset-password/abc%00def", {}),
    ],
)
def test_nul_characters_are_refused_with_a_400(client: FlaskClient, paul: Person, method: str, path: str,
                                               kwargs: dict) -> None:
    if "data" in kwargs:  # a real form post: with its CSRF token, so that only the NUL is wrong
        page = client.get(path.split("?")[0])
        kwargs["data"]["csrf_token"] = csrf_token(page.text)
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 400


def test_requests_without_nul_still_pass(client: FlaskClient, paul: Person) -> None:
    assert client.get("/forgot-password?login=paul.dupont").status_code == 200
