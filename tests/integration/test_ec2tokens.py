"""``/v3/ec2tokens``: a signed request is checked for the service that received it.

The calling service names its host; the request must have signed ``Host`` (huaweicloudsdkcore
always does) with that value, so a request signed for one service is good at no other; and
``X-Project-Id`` scopes the answer only when it is signed. Requests are signed by
huaweicloudsdkcore itself and sent as the console would forward them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

from idp import clock
from idp.directory import console_users
from idp.iam.signing import DATE_FORMAT
from tests.factories import Person
from tests.integration.test_access_keys import API_PASSWORD
from tests.integration.test_access_keys import COMPANY
from tests.integration.test_access_keys import create_key
from tests.integration.test_access_keys import keystone_token
from tests.integration.test_access_keys import set_api_password

CONSOLE = "console.example:8443"
_sequence = iter(range(10**6))


@pytest.fixture
def key(app: Flask, client: FlaskClient, paul: Person) -> dict[str, str]:
    set_api_password(app, API_PASSWORD)
    created = create_key(client, keystone_token(client))
    assert created.status_code == 201, created.text
    return {"ak": created.get_json()["credential"]["access"], "sk": created.get_json()["credential"]["secret"]}


def sdk_signed(key: dict[str, str], host: str = CONSOLE, project_id: str | None = None) -> dict[str, Any]:
    """A GET signed by the SDK for ``host``, as the console forwards it (a fresh query each
    time, so that no request is an exact replay of another)."""
    request = SdkRequest(
        method="GET",
        schema="https",
        host=host,
        resource_path="/v1/whoami",
        query_params=[("n", next(_sequence))],
        header_params={"Content-Type": "application/json"},
        body="",
    )
    BasicCredentials(key["ak"], key["sk"], project_id).sign_request(request)
    path, _, query = request.url.partition("://")[2].partition("/")[2].partition("?")
    return {
        "verb": "GET",
        "path": "/" + path,
        "query_string": query,
        "headers": dict(request.header_params),
        "body_hash": hashlib.sha256(b"").hexdigest(),
    }


def validate(client: FlaskClient, secret: str, credentials: dict[str, Any], host: str | None = CONSOLE) -> Any:
    auth = base64.b64encode(f"portal:{secret}".encode()).decode()
    body = {**credentials, **({"host": host} if host is not None else {})}
    return client.post("/v3/ec2tokens", json={"credentials": body}, headers={"Authorization": f"Basic {auth}"})


def test_a_request_signed_for_this_service_is_accepted(
    client: FlaskClient, key: dict[str, str], rp: dict[str, str]
) -> None:
    answer = validate(client, rp["portal"], sdk_signed(key))
    assert answer.status_code == 200, answer.text
    assert answer.get_json()["token"]["user"]["name"] == "paul.dupont"
    assert validate(client, rp["portal"], sdk_signed(key), host="CONSOLE.example:8443").status_code == 200  # case


def test_a_request_signed_for_another_service_is_refused(
    client: FlaskClient, key: dict[str, str], rp: dict[str, str]
) -> None:
    answer = validate(client, rp["portal"], sdk_signed(key, host="storage.example"))
    assert answer.status_code == 401 and "signed for another host" in answer.get_json()["error"]["message"]
    # the service must say which host it serves
    missing = validate(client, rp["portal"], sdk_signed(key), host=None)
    assert missing.status_code == 400 and "host" in missing.get_json()["error"]["message"]


def test_a_signature_without_host_is_refused(client: FlaskClient, key: dict[str, str], rp: dict[str, str]) -> None:
    """Signed correctly, but over X-Sdk-Date alone: the SDK never does that, and such a
    signature would be good at any host."""
    date = clock.now().strftime(DATE_FORMAT)
    canonical = f"GET\n/v1/whoami/\n\nx-sdk-date:{date}\n\nx-sdk-date\n{hashlib.sha256(b'').hexdigest()}"
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(key["sk"].encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Host": CONSOLE,
        "X-Sdk-Date": date,
        "Authorization": f"SDK-HMAC-SHA256 Access={key['ak']}, SignedHeaders=x-sdk-date, Signature={signature}",
    }
    credentials = {
        "verb": "GET",
        "path": "/v1/whoami",
        "query_string": "",
        "headers": headers,
        "body_hash": hashlib.sha256(b"").hexdigest(),
    }
    answer = validate(client, rp["portal"], credentials)
    assert answer.status_code == 401 and "Host must be signed" in answer.get_json()["error"]["message"]


def test_an_unsigned_project_id_does_not_change_the_answer(
    client: FlaskClient, key: dict[str, str], rp: dict[str, str]
) -> None:
    plain = validate(client, rp["portal"], sdk_signed(key)).get_json()["token"]
    for project in (console_users.project_id(COMPANY), "f" * 32):
        credentials = sdk_signed(key)
        credentials["headers"]["X-Project-Id"] = project  # added on the way, not signed
        answer = validate(client, rp["portal"], credentials)
        assert answer.status_code == 200, answer.text
        token = answer.get_json()["token"]
        assert "project" not in token and token["domain"] == plain["domain"]


def test_a_signed_project_id_scopes_the_answer(client: FlaskClient, key: dict[str, str], rp: dict[str, str]) -> None:
    project = console_users.project_id(COMPANY)
    answer = validate(client, rp["portal"], sdk_signed(key, project_id=project))
    assert answer.status_code == 200 and answer.get_json()["token"]["project"]["id"] == project
    other = validate(client, rp["portal"], sdk_signed(key, project_id="f" * 32))
    assert other.status_code == 403
