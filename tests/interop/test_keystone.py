"""Keystone v3 API login driven by the real client, keystoneauth1 (reference §1, §5)."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic
from keystoneauth1.identity import v3

from idp.directory import console_users
from idp.extensions import db
from tests import factories

API_PASSWORD = "Api#Password-2026"
COMPANY = "OCB0000124"


@pytest.fixture
def api_user(app: Flask) -> dict[str, str]:
    with app.app_context():
        factories.contract_with_referent()
        user = console_users.for_login(COMPANY, "paul.dupont")
        console_users.set_api_password(user, API_PASSWORD)
        db.session.commit()
        return {"user_id": user.user_id, "project_id": console_users.project_id(COMPANY),
                "domain_id": console_users.domain_id(COMPANY)}


def password(auth_url: str, **scope: str) -> v3.Password:
    return v3.Password(auth_url=auth_url, username="paul.dupont", password=API_PASSWORD, user_domain_name=COMPANY,
                       **scope)


def test_project_scope_token_validate_and_revoke(live_server: str, api_user: dict[str, str]) -> None:
    ks = ks_session.Session(auth=password(live_server + "/v3", project_name="eu-west-0", project_domain_name=COMPANY))
    token = ks.get_token()
    assert ks.get_user_id() == api_user["user_id"]
    assert ks.get_project_id() == api_user["project_id"]
    assert ks.get_endpoint(service_type="compute", interface="public").endswith("/v1")
    assert ks.get_token() == token  # cached: expires_at parsed, not about to expire
    # validate and revoke through keystoneauth's own session (it adds X-Auth-Token itself)
    identity = {"service_type": "identity", "interface": "public"}
    checked = ks.get("/auth/tokens", endpoint_filter=identity, headers={"X-Subject-Token": token})
    assert checked.status_code == 200 and checked.headers["X-Subject-Token"] == token
    body = checked.json()["token"]
    assert body["user"]["domain"] == {"id": api_user["domain_id"], "name": COMPANY}
    assert body["project"]["name"] == "eu-west-0" and [r["name"] for r in body["roles"]] == ["admin"]
    assert ks.head("/auth/tokens", endpoint_filter=identity, headers={"X-Subject-Token": token}).status_code == 200
    other = ks_session.Session(auth=password(live_server + "/v3", domain_name=COMPANY))
    assert other.delete("/auth/tokens", endpoint_filter=identity, headers={"X-Subject-Token": token}).status_code == 204
    with pytest.raises(ks_exceptions.NotFound):
        other.get("/auth/tokens", endpoint_filter=identity, headers={"X-Subject-Token": token})


def test_a_new_api_password_ends_the_tokens(app: Flask, live_server: str, api_user: dict[str, str]) -> None:
    token = ks_session.Session(auth=password(live_server + "/v3", domain_name=COMPANY)).get_token()
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    assert requests.get(live_server + "/v3/auth/tokens", headers=headers, timeout=10).status_code == 200
    with app.app_context():
        console_users.set_api_password(console_users.for_login(COMPANY, "paul.dupont"), "Another#Api-Pass-27")
        db.session.commit()
    assert requests.get(live_server + "/v3/auth/tokens", headers=headers, timeout=10).status_code == 401


def test_domain_scope_project_by_id_no_scope_and_nocatalog(live_server: str, api_user: dict[str, str]) -> None:
    domain = ks_session.Session(auth=password(live_server + "/v3", domain_name=COMPANY))
    domain.get_token()
    assert domain.get_project_id() is None
    by_id = ks_session.Session(auth=password(live_server + "/v3", project_id=api_user["project_id"]))
    assert by_id.get_project_id() == api_user["project_id"]
    no_domain = ks_session.Session(auth=password(live_server + "/v3", project_name="eu-west-0"))
    assert no_domain.get_project_id() == api_user["project_id"]
    unscoped = ks_session.Session(auth=password(live_server + "/v3"))
    assert unscoped.get_token()
    plain = v3.Password(auth_url=live_server + "/v3", user_id=api_user["user_id"], password=API_PASSWORD,
                        domain_name=COMPANY, include_catalog=False)
    access = plain.get_access(ks_session.Session())
    assert access.user_id == api_user["user_id"] and not access.service_catalog.catalog


def test_generic_plugin_discovers_the_version_at_the_root(live_server: str, api_user: dict[str, str]) -> None:
    auth = generic.Password(auth_url=live_server, username="paul.dupont", password=API_PASSWORD,
                            user_domain_name=COMPANY, project_name="eu-west-0", project_domain_name=COMPANY)
    assert ks_session.Session(auth=auth).get_project_id() == api_user["project_id"]


@pytest.mark.parametrize("case", ["password", "user", "domain", "project"])
def test_refusals_are_keystone_errors(live_server: str, api_user: dict[str, str], case: str) -> None:
    kwargs = {"auth_url": live_server + "/v3", "username": "paul.dupont", "password": API_PASSWORD,
              "user_domain_name": COMPANY, "project_name": "eu-west-0", "project_domain_name": COMPANY}
    kwargs.update({"password": {"password": "Wrong#Password-1"}, "user": {"username": "nobody"},
                   "domain": {"user_domain_name": "OCB0000999"},
                   "project": {"project_name": "eu-west-9"}}[case])
    with pytest.raises(ks_exceptions.Unauthorized) as error:
        ks_session.Session(auth=v3.Password(**kwargs)).get_token()
    if case in {"password", "user", "domain"}:
        assert "The username or password is wrong." in str(error.value)  # one answer for all three


def test_bad_bodies_are_400_with_a_keystone_body(live_server: str) -> None:
    for data in ("not json", '{"auth": []}', '{"auth": {"identity": {"methods": ["password"], "password": {}}}}'):
        response = requests.post(live_server + "/v3/auth/tokens", data=data,
                                 headers={"Content-Type": "application/json"}, timeout=10)
        assert response.status_code == 400 and response.json()["error"]["code"] == 400
