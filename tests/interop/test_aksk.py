"""Access keys and signed calls with the real Huawei SDK (huaweicloudsdkcore's signer and
the generated IamClient), against ``idp serve`` and the console served by gunicorn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

from idp.directory import console_users
from idp.directory import service
from idp.extensions import db
from idp.oidc import clients as registry
from tests import factories
from tests.conftest import free_port

API_PASSWORD = "Api#Password-2026"
COMPANY = "OCB0000124"


@pytest.fixture
def console(app: Flask, live_server: str) -> Iterator[str]:
    """The console (its /v1 API), registered at the IdP and served by gunicorn."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with app.app_context():
        factories.contract_with_referent()
        user = console_users.for_login(COMPANY, "paul.dupont")
        console_users.set_api_password(user, API_PASSWORD)
        secret = registry.create(client_id="console", name="Console", redirect_uris=[base + "/callback"],
                                 first_party=True).secret
        db.session.commit()
    env = {**os.environ, "IDP_SERVER__ISSUER": live_server, "CONSOLE_CLIENT_SECRET": secret or "",
           "CONSOLE_BASE_URL": base,
           # its sessions and ended sids in a store of this test, not in the checkout's instance/
           "CONSOLE_STORE_URL": f"sqlite:///{tempfile.mkdtemp(prefix='console-store-')}/console.sqlite3"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                             "sso_clients.console:create_app()"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/", timeout=1).close()  # noqa: S310 - loopback
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def keystone_token(idp: str) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "paul.dupont", "password": API_PASSWORD, "domain": {"name": COMPANY}}}},
        "scope": {"project": {"name": "eu-west-0"}}}}
    response = requests.post(idp + "/v3/auth/tokens?nocatalog", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def create_key(idp: str, token: str) -> requests.Response:
    user_id = requests.get(idp + "/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token},
                           timeout=10).json()["token"]["user"]["id"]
    return requests.post(idp + "/v3.0/OS-CREDENTIAL/credentials", headers={"X-Auth-Token": token}, timeout=10,
                         json={"credential": {"user_id": user_id, "description": "ci"}})


def signed(method: str, base: str, path: str, ak: str, sk: str, *, query: list[tuple[str, Any]] | None = None,
           body: Any = None, headers: dict[str, str] | None = None, project_id: str | None = None,
           security_token: str | None = None) -> SdkRequest:
    """Sign like the reference's §3.7 recipe, with huaweicloudsdkcore itself."""
    url = urlsplit(base)
    request = SdkRequest(method=method, schema=url.scheme, host=url.netloc, resource_path=path,
                         query_params=list(query or []), header_params={"Content-Type": "application/json", **(headers or {})},
                         body=json.dumps(body) if body is not None else "")
    credentials = BasicCredentials(ak, sk, project_id)
    if security_token:
        credentials = credentials.with_security_token(security_token)
    credentials.sign_request(request)
    return request


def send(request: SdkRequest, **changes: Any) -> requests.Response:
    data = changes.get("body", request.body)
    return requests.request(request.method, changes.get("url", request.url), timeout=10,
                            headers=changes.get("headers", request.header_params), data=data)


@pytest.fixture
def key(live_server: str, console: str) -> dict[str, str]:
    token = keystone_token(live_server)
    created = create_key(live_server, token)
    assert created.status_code == 201, created.text
    credential = created.json()["credential"]
    return {"ak": credential["access"], "sk": credential["secret"], "token": token}


def test_signed_calls_reach_the_console_and_tampering_is_refused(live_server: str, console: str,
                                                                 key: dict[str, str]) -> None:
    project = console_users.project_id(COMPANY)
    whoami = send(signed("GET", console, "/v1/whoami", key["ak"], key["sk"], query=[("limit", 2)]))
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["company_account"] == COMPANY and whoami.json()["console_roles"] == ["admin"]
    post = signed("POST", console, f"/v1/{project}/servers", key["ak"], key["sk"], body={"server": {"name": "vm1"}},
                  project_id=project)
    assert send(post).status_code == 202
    # each change to what was signed is refused, in the gateway's format
    fresh = signed("POST", console, f"/v1/{project}/servers", key["ak"], key["sk"], body={"server": {"name": "vm1"}},
                   project_id=project)
    tampered = {
        "body": send(fresh, body=json.dumps({"server": {"name": "vm2"}})),
        "query": send(signed("GET", console, "/v1/whoami", key["ak"], key["sk"], query=[("limit", 2)]),
                      url=f"{console}/v1/whoami?limit=3"),
        "path": send(signed("GET", console, "/v1/whoami", key["ak"], key["sk"]), url=f"{console}/v1/servers"),
    }
    header_req = signed("GET", console, "/v1/whoami", key["ak"], key["sk"], project_id=project)
    tampered["header"] = send(header_req, headers={**header_req.header_params, "X-Project-Id": "f" * 32})
    for what, response in tampered.items():
        assert response.status_code == 401, what
        assert response.json()["error_code"] == "APIGW.0301" and "signature" in response.json()["error_msg"], what


def test_clock_window_and_exact_replay(console: str, key: dict[str, str]) -> None:
    off = (datetime.now(timezone.utc) - timedelta(minutes=16)).strftime("%Y%m%dT%H%M%SZ")
    late = send(signed("GET", console, "/v1/whoami", key["ak"], key["sk"], headers={"X-Sdk-Date": off}))
    assert late.status_code == 401 and "15 minutes" in late.json()["error_msg"]
    near = (datetime.now(timezone.utc) - timedelta(minutes=14)).strftime("%Y%m%dT%H%M%SZ")
    request = signed("GET", console, "/v1/whoami", key["ak"], key["sk"], headers={"X-Sdk-Date": near})
    assert send(request).status_code == 200
    replay = send(request)
    assert replay.status_code == 401 and "replay" in replay.json()["error_msg"]


def test_inactive_or_deleted_key_is_refused_at_once(live_server: str, console: str, key: dict[str, str]) -> None:
    url = f"{live_server}/v3.0/OS-CREDENTIAL/credentials/{key['ak']}"
    auth = {"X-Auth-Token": key["token"]}
    assert requests.put(url, json={"credential": {"status": "inactive"}}, headers=auth, timeout=10).status_code == 200
    assert send(signed("GET", console, "/v1/whoami", key["ak"], key["sk"])).status_code == 401
    assert requests.put(url, json={"credential": {"status": "active"}}, headers=auth, timeout=10).status_code == 200
    assert send(signed("GET", console, "/v1/whoami", key["ak"], key["sk"])).status_code == 200
    shown = requests.get(url, headers=auth, timeout=10).json()["credential"]
    assert "secret" not in shown and shown["last_use_time"] >= shown["create_time"]
    assert requests.delete(url, headers=auth, timeout=10).status_code == 204
    assert send(signed("GET", console, "/v1/whoami", key["ak"], key["sk"])).status_code == 401


def test_a_third_key_is_refused_even_with_one_inactive(live_server: str, console: str, key: dict[str, str]) -> None:
    second = create_key(live_server, key["token"]).json()["credential"]["access"]
    requests.put(f"{live_server}/v3.0/OS-CREDENTIAL/credentials/{second}", headers={"X-Auth-Token": key["token"]},
                 json={"credential": {"status": "inactive"}}, timeout=10)
    third = create_key(live_server, key["token"])
    assert third.status_code == 400 and third.json()["error"]["message"] == "akSkNumExceed"
    listed = requests.get(f"{live_server}/v3.0/OS-CREDENTIAL/credentials", headers={"X-Auth-Token": key["token"]},
                          timeout=10).json()["credentials"]
    assert len(listed) == 2 and all("secret" not in c for c in listed)


def test_a_signed_request_cannot_manage_keys(live_server: str, console: str, key: dict[str, str]) -> None:
    user_id = requests.get(f"{live_server}/v3/auth/tokens", timeout=10, headers={
        "X-Auth-Token": key["token"], "X-Subject-Token": key["token"]}).json()["token"]["user"]["id"]
    request = signed("POST", live_server, "/v3.0/OS-CREDENTIAL/credentials", key["ak"], key["sk"],
                     body={"credential": {"user_id": user_id}})
    assert send(request).status_code == 403


def test_the_generated_iam_client_lists_keys_with_a_signature(live_server: str, console: str,
                                                              key: dict[str, str]) -> None:
    from huaweicloudsdkiam.v3 import IamClient
    from huaweicloudsdkiam.v3 import ListPermanentAccessKeysRequest

    # No domain id given: the SDK finds it itself with GET /v3/auth/domains (signed).
    credentials = GlobalCredentials(key["ak"], key["sk"]).with_iam_endpoint(live_server)
    client = IamClient.new_builder().with_credentials(credentials).with_endpoints([live_server]).build()
    listed = client.list_permanent_access_keys(ListPermanentAccessKeysRequest())
    assert [c.access for c in listed.credentials] == [key["ak"]]


def test_temporary_key_needs_its_security_token(live_server: str, console: str, key: dict[str, str]) -> None:
    created = requests.post(f"{live_server}/v3.0/OS-CREDENTIAL/securitytokens", headers={"X-Auth-Token": key["token"]},
                            json={"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}}},
                            timeout=10)
    assert created.status_code == 201, created.text
    temp = created.json()["credential"]
    ok = send(signed("GET", console, "/v1/whoami", temp["access"], temp["secret"],
                     security_token=temp["securitytoken"]))
    assert ok.status_code == 200
    assert send(signed("GET", console, "/v1/whoami", temp["access"], temp["secret"])).status_code == 401


def test_removing_the_console_role_kills_tokens_and_keys(app: Flask, live_server: str, console: str,
                                                         key: dict[str, str]) -> None:
    with app.app_context():
        jacques = factories.member(COMPANY, "jacques.dupont", console_roles=["guest"])
        console_users.set_api_password(console_users.for_login(COMPANY, "jacques.dupont"), API_PASSWORD)
        db.session.commit()
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": jacques.login, "password": API_PASSWORD, "domain": {"name": COMPANY}}}}}}
    token = requests.post(live_server + "/v3/auth/tokens", json=body, timeout=10).headers["X-Subject-Token"]
    credential = create_key(live_server, token).json()["credential"]
    assert send(signed("GET", console, "/v1/whoami", credential["access"], credential["secret"])).status_code == 200
    with app.app_context():
        service.set_console_roles(COMPANY, jacques.login, [])
        db.session.commit()
    assert requests.get(console + "/v1/whoami", headers={"X-Auth-Token": token}, timeout=10).status_code == 401
    assert send(signed("GET", console, "/v1/whoami", credential["access"], credential["secret"])).status_code == 401


def test_a_request_signed_for_another_host_is_refused_by_the_console(live_server: str, console: str,
                                                                    key: dict[str, str]) -> None:
    """The console tells the IdP the host it serves (its CONSOLE_BASE_URL): a request signed
    for another service, replayed to the console with that service's Host, is refused."""
    elsewhere = signed("GET", "http://storage.example:8080", "/v1/whoami", key["ak"], key["sk"])
    response = send(elsewhere, url=f"{console}/v1/whoami")
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIGW.0301" and "another host" in response.json()["error_msg"]
