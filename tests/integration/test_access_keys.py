"""Access keys follow the person (issue 10): temporary keys end with the API password and are
capped per console user; every change to a permanent key is mailed, whichever surface made
it. Black box through HTTP (the credentials API, My Credential, signed calls, Keystone),
except the API-password change itself, made by the one directory function every path calls.

The limit of permanent keys as a service rule is here too (the HTTP and race tests of that
limit are in test_aksk.py and test_races.py)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

from idp import create_app
from idp.cli import cli
from idp.directory import console_users
from idp.directory.models import Account
from idp.extensions import db
from idp.iam import access_keys
from idp.settings import Settings
from idp.settings import SettingsError
from tests import factories
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.factories import Person
from tests.helpers import mail_jobs
from tests.integration.test_races import burst
from tests.integration.test_races import crashed
from tests.integration.test_races import statuses

COMPANY = "OCB0000124"
API_PASSWORD = "Api#Password-2026"
NEW_API_PASSWORD = "Other#Api-Pass-2027"
MAX_TEMPORARY = 3
CHANGED = "access-key-changed"
SUBJECTS = {
    "en": {
        "created": "An access key has been created on your account",
        "activated": "An access key has been reactivated on your account",
        "deactivated": "An access key has been deactivated on your account",
        "deleted": "An access key has been deleted from your account",
    },
    "fr": {
        "created": "Une clé d'accès a été créée sur votre compte",
        "activated": "Une clé d'accès a été réactivée sur votre compte",
        "deactivated": "Une clé d'accès a été désactivée sur votre compte",
        "deleted": "Une clé d'accès a été supprimée de votre compte",
    },
}


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {"api": {"max_temporary_keys": MAX_TEMPORARY}}


# --- helpers: the API as a client sees it ------------------------------------------------------


def set_api_password(app: Flask, password: str, login: str = "paul.dupont") -> None:
    """The API password set or changed by the directory function every path goes through
    (reset pages, reset JSON, CLI)."""
    with app.app_context():
        console_users.set_api_password(console_users.for_login(COMPANY, login), password)
        db.session.commit()


def keystone_token(client: FlaskClient, password: str = API_PASSWORD, login: str = "paul.dupont") -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": login, "password": password, "domain": {"name": COMPANY}}},
            },
            "scope": {"project": {"name": "eu-west-0"}},
        }
    }
    response = client.post("/v3/auth/tokens?nocatalog", json=body)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def user_id(client: FlaskClient, token: str) -> str:
    found = client.get("/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token})
    return str(found.get_json()["token"]["user"]["id"])


def create_key(client: FlaskClient, token: str, description: str = "ci") -> Any:
    return client.post(
        "/v3.0/OS-CREDENTIAL/credentials",
        headers={"X-Auth-Token": token},
        json={"credential": {"user_id": user_id(client, token), "description": description}},
    )


def create_temporary(client: FlaskClient, token: str) -> Any:
    return client.post(
        "/v3.0/OS-CREDENTIAL/securitytokens",
        headers={"X-Auth-Token": token},
        json={"auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}}},
    )


def signed_call(
    client: FlaskClient, ak: str, sk: str, security_token: str | None = None, nonce: str = "", host: str | None = None
) -> Any:
    """``GET /v3/auth/domains`` signed by huaweicloudsdkcore itself, for the IdP's host (its
    issuer's) unless ``host`` says otherwise, and sent there; ``nonce`` varies the query so
    that a second call is never refused as a replay of the first."""
    host = host or urlsplit(client.application.config["IDP_SETTINGS"].server.issuer).netloc
    request = SdkRequest(
        method="GET",
        schema="http",
        host=host,
        resource_path="/v3/auth/domains",
        query_params=[("n", nonce)] if nonce else [],
        header_params={"Content-Type": "application/json"},
        body="",
    )
    credentials = BasicCredentials(ak, sk)
    if security_token:
        credentials = credentials.with_security_token(security_token)
    credentials.sign_request(request)
    path = "/v3/auth/domains" + (f"?n={nonce}" if nonce else "")
    return client.get(path, headers=request.header_params, base_url=f"http://{host}")


def refused_as_unknown(response: Any) -> bool:
    return response.status_code == 401 and "unknown, inactive or expired" in response.get_json()["error"]["message"]


def temporary_rows(app: Flask) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM access_keys WHERE expires_at IS NOT NULL")).scalar_one())


@pytest.fixture
def token(app: Flask, client: FlaskClient, paul: Person) -> str:
    """Paul as a console user with an API password; a password token of his."""
    set_api_password(app, API_PASSWORD)
    return keystone_token(client)


def english(app: Flask, person: Person) -> None:
    with app.app_context():
        db.session.get(Account, person.account_id).language = "en"  # type: ignore[union-attr]
        db.session.commit()


def key_mails(app: Flask) -> list[tuple[str, str, str, str]]:
    """(recipient, locale, subject, text) of each queued access-key mail, oldest first."""
    return [
        (j.payload["recipient"], j.payload["locale"], j.payload["subject"], j.payload["text"])
        for j in mail_jobs(app, CHANGED)
    ]


# --- temporary keys end with the API password --------------------------------------------------


def test_api_password_change_ends_temporary_keys_and_tokens_not_permanent_keys(
    app: Flask, client: FlaskClient, token: str
) -> None:
    permanent = create_key(client, token).get_json()["credential"]
    temporary = create_temporary(client, token).get_json()["credential"]
    assert (
        signed_call(client, temporary["access"], temporary["secret"], temporary["securitytoken"], "1").status_code
        == 200
    )
    assert signed_call(client, permanent["access"], permanent["secret"], nonce="1").status_code == 200

    set_api_password(app, NEW_API_PASSWORD)

    after_temporary = signed_call(client, temporary["access"], temporary["secret"], temporary["securitytoken"], "2")
    assert refused_as_unknown(after_temporary), after_temporary.text
    assert signed_call(client, permanent["access"], permanent["secret"], nonce="2").status_code == 200
    fresh = keystone_token(client, NEW_API_PASSWORD)
    old = client.get("/v3/auth/tokens", headers={"X-Auth-Token": fresh, "X-Subject-Token": token})
    assert old.status_code == 404, old.text
    assert client.get("/v3.0/OS-CREDENTIAL/credentials", headers={"X-Auth-Token": token}).status_code == 401
    # the person is told, with the temporary keys in the message
    [told] = mail_jobs(app, "api-password-changed")[-1:]
    assert "temporary access keys" in told.payload["text"] or "clés d'accès temporaires" in told.payload["text"]


def test_the_idps_own_apis_refuse_a_request_signed_for_another_host(client: FlaskClient, token: str) -> None:
    """A request signed for a service (its Host) cannot be replayed at the IdP's own APIs:
    they accept only their own host, the issuer's."""
    key = create_key(client, token).get_json()["credential"]
    for elsewhere in ("storage.example", "127.0.0.1:5001"):
        refused = signed_call(client, key["access"], key["secret"], nonce=elsewhere, host=elsewhere)
        assert refused.status_code == 401, refused.text
        assert "signed for another host" in refused.get_json()["error"]["message"]
    assert signed_call(client, key["access"], key["secret"], nonce="here").status_code == 200
    assert signed_call(client, key["access"], key["secret"], nonce="port", host="127.0.0.1:5000").status_code == 200


def test_other_users_temporary_keys_survive(app: Flask, client: FlaskClient, token: str) -> None:
    with app.app_context():
        factories.member(COMPANY, "marie.curie", console_roles=["admin"])
    set_api_password(app, API_PASSWORD, "marie.curie")
    theirs = create_temporary(client, keystone_token(client, login="marie.curie")).get_json()["credential"]
    set_api_password(app, NEW_API_PASSWORD)  # Paul's change
    assert signed_call(client, theirs["access"], theirs["secret"], theirs["securitytoken"], "1").status_code == 200


def test_cli_api_password_change_ends_temporary_keys_and_mails(
    app: Flask, client: FlaskClient, token: str, runner: Any, config_file: Any
) -> None:
    temporary = create_temporary(client, token).get_json()["credential"]
    before = len(mail_jobs(app, "api-password-changed"))
    result = runner.invoke(
        cli,
        [
            "--config",
            str(config_file),
            "users",
            "set-api-password",
            "paul.dupont",
            "--contract",
            COMPANY,
            "--password-stdin",
        ],
        input=NEW_API_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert refused_as_unknown(
        signed_call(client, temporary["access"], temporary["secret"], temporary["securitytoken"], "1")
    )
    assert len(mail_jobs(app, "api-password-changed")) == before + 1


# --- temporary keys are capped ------------------------------------------------------------------


def test_temporary_keys_past_the_cap_are_refused_and_expired_ones_make_room(
    app: Flask, client: FlaskClient, token: str
) -> None:
    made = [create_temporary(client, token) for _ in range(MAX_TEMPORARY)]
    assert [r.status_code for r in made] == [201] * MAX_TEMPORARY
    refused = create_temporary(client, token)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == 400 and refused.get_json()["error_code"] == "IAM.1109"
    assert str(MAX_TEMPORARY) in refused.get_json()["error"]["message"]
    # permanent keys are counted apart
    assert create_key(client, token).status_code == 201
    # once they expire, they are deleted by the next creation and make room
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE access_keys SET expires_at = :past WHERE expires_at IS NOT NULL"),
            {"past": "2020-01-01 00:00:00" if db.engine.dialect.name == "sqlite" else "2020-01-01T00:00:00Z"},
        )
    assert create_temporary(client, token).status_code == 201
    assert temporary_rows(app) == 1
    # the permanent key's creation only: temporary keys are not mailed
    assert [s for _, _, s, _ in key_mails(app)] == [SUBJECTS["fr"]["created"]]


def test_parallel_temporary_key_creations_do_not_exceed_the_cap(app: Flask, client: FlaskClient, token: str) -> None:
    """4× the cap sent at once: exactly the cap is created and stored, the rest refused (400)."""
    count = 4 * MAX_TEMPORARY

    def send(_i: int, c: FlaskClient, _: Any) -> Any:
        return create_temporary(c, token)

    answers = burst(app, count, send, hold_writes=0.5)
    assert not crashed(answers), crashed(answers)[:3]
    assert statuses(answers) == {201: MAX_TEMPORARY, 400: count - MAX_TEMPORARY}
    assert temporary_rows(app) == MAX_TEMPORARY


# --- every change to a permanent key is mailed -------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_api_key_changes_each_queue_one_mail_in_the_persons_language(
    app: Flask, client: FlaskClient, paul: Person, token: str, lang: str
) -> None:
    if lang == "en":
        english(app, paul)
    key = create_key(client, token).get_json()["credential"]["access"]
    headers = {"X-Auth-Token": token}
    url = f"/v3.0/OS-CREDENTIAL/credentials/{key}"
    assert client.put(url, headers=headers, json={"credential": {"status": "inactive"}}).status_code == 200
    assert client.put(url, headers=headers, json={"credential": {"status": "inactive"}}).status_code == 200  # no change
    assert client.put(url, headers=headers, json={"credential": {"description": "renamed"}}).status_code == 200
    assert client.put(url, headers=headers, json={"credential": {"status": "active"}}).status_code == 200
    assert client.delete(url, headers=headers).status_code == 204
    assert create_temporary(client, token).status_code == 201  # not mailed

    mails = key_mails(app)
    actions = ["created", "deactivated", "activated", "deleted"]
    assert [subject for _, _, subject, _ in mails] == [SUBJECTS[lang][a] for a in actions]
    for recipient, locale, _, text in mails:
        assert (recipient, locale) == (paul.email, lang)
        assert key in text and COMPANY in text and paul.login in text and "UTC" in text
        assert "/forgot-password" in text


def test_my_credential_page_changes_are_mailed_too(
    app: Flask, client: FlaskClient, auth: AuthActions, paul: Person, token: str
) -> None:
    english(app, paul)
    auth.login(paul.login, paul.password)
    page = client.get("/my-credential")
    client.post(
        "/my-credential", data={"csrf_token": csrf_token(page.text), "api_password": API_PASSWORD, "action": "code"}
    )
    [code_mail] = mail_jobs(app, "verification-code")
    code = re.search(r"^\s+(\d{6})\s*$", code_mail.payload["text"], re.M).group(1)  # type: ignore[union-attr]
    created = client.post(
        "/my-credential",
        data={"csrf_token": csrf_token(page.text), "api_password": API_PASSWORD, "code": code, "action": "create"},
    )
    assert created.status_code == 200, created.text
    key = re.search(r"\b([A-Z0-9]{20})\b", created.text).group(1)  # type: ignore[union-attr]
    listing = client.get("/my-credential").text
    for action in ("deactivate", "activate", "delete"):
        client.post(
            f"/my-credential/keys?company_account={COMPANY}",
            data={"csrf_token": csrf_token(listing), "access": key, "action": action},
        )
    mails = key_mails(app)
    assert [subject for _, _, subject, _ in mails] == [
        SUBJECTS["en"][a] for a in ("created", "deactivated", "activated", "deleted")
    ]
    assert all(key in text and recipient == paul.email for recipient, _, _, text in mails)


def test_a_key_deleted_twice_is_mailed_once(app: Flask, client: FlaskClient, token: str) -> None:
    key = create_key(client, token).get_json()["credential"]["access"]
    url = f"/v3.0/OS-CREDENTIAL/credentials/{key}"

    def send(_i: int, c: FlaskClient, _: Any) -> Any:
        return c.delete(url, headers={"X-Auth-Token": token})

    answers = burst(app, 6, send, hold_writes=0.3)
    assert not crashed(answers), crashed(answers)[:3]
    assert statuses(answers).get(204, 0) >= 1
    assert [s for _, _, s, _ in key_mails(app)] == [SUBJECTS["fr"]["created"], SUBJECTS["fr"]["deleted"]]


# --- the permanent-key limit as a service rule ---------------------------------------------------


def test_keys_beyond_a_lowered_limit_still_count(app: Flask, settings: Settings) -> None:
    """Two keys, then the limit lowered to one: deleting one frees no room while another remains."""
    with app.test_request_context():
        factories.contract_with_referent()
        user = console_users.for_login(COMPANY, "paul.dupont")
        first, _ = access_keys.create(user, "one")
        access_keys.create(user, "two")
        db.session.commit()
    lowered = create_app(settings.replace(api={"max_access_keys": 1}))
    with lowered.test_request_context():
        user = console_users.for_login(COMPANY, "paul.dupont")
        key = access_keys.own_key(user, first.access)
        assert key is not None
        access_keys.delete(user, key)
        db.session.commit()
        with pytest.raises(access_keys.TooManyKeys):
            access_keys.create(user, "three")
        db.session.rollback()
        db.engine.dispose()


def test_the_cap_must_be_at_least_one(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="max_temporary_keys must be at least 1"):
        settings.replace(api={"max_temporary_keys": 0})
