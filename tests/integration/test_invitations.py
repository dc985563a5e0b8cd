"""Invitations instead of silent identity reuse (SPEC §2, issue 10 item 3).

Adding a person whose email already has an account grants nothing by itself: the account
gets an invitation by mail, and the roles take effect only when that person, signed in,
accepts it. Judged from outside: the ``contracts`` claim (ID token and userinfo), the
console's login for that company account, the queued mail, the command line's output.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func
from sqlalchemy import select

from idp import clock
from idp.cli import cli
from idp.directory import service
from idp.directory.models import Account
from idp.directory.models import Membership
from idp.extensions import db
from idp.oidc import clients as registry
from idp.security import new_password
from tests import factories
from tests.conftest import AuthActions
from tests.conftest import csrf_token
from tests.factories import Person
from tests.helpers import audit_rows
from tests.helpers import authorize
from tests.helpers import exchange
from tests.helpers import mail_jobs
from tests.helpers import pkce
from tests.helpers import query
from tests.helpers import refresh
from tests.integration.test_races import burst
from tests.integration.test_races import crashed
from tests.integration.test_races import statuses

A, B = "OCB0000124", "OCB0000412"
# The login is not in the address, so that output naming the address never names the login.
LOGIN, EMAIL = "camille.roux", "c.roux@example.test"
TYPED = "C.Roux@Example.TEST"  # how the inviter types it: the same address, another case
CONSOLE_CB = "http://127.0.0.1:5002/callback"
ACCEPT_RE = re.compile(r'action="(/invitations/(\d+)/accept)"')


@pytest.fixture
def camille(app: Flask, paul: Person, rp: dict[str, str]) -> Person:
    """A member of contract A (with a password), contract B of another referent, and the
    console registered for the console's login."""
    with app.app_context():
        result = service.add_member(A, factories.identity(LOGIN, email=EMAIL))
        assert result.membership is not None
        account = result.membership.account
        new_password.apply(account, factories.PASSWORD, new_password.Reason.OPERATOR)
        account.email_verified_at = clock.now()  # she followed her access email's link
        db.session.commit()
        person = Person(LOGIN, EMAIL, factories.PASSWORD, account.id)
        factories.contract_with_referent(contract_id=B, login="jean.martin")
        registry.create(
            client_id="console", name="Console", redirect_uris=[CONSOLE_CB], first_party=True, console_login=True
        )
        db.session.commit()
    return person


@pytest.fixture
def idp(runner: CliRunner, config_file: Path):  # type: ignore[no-untyped-def]
    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--config", str(config_file), *args])

    return run


def invite(idp, email: str = TYPED, *extra: str):  # type: ignore[no-untyped-def]
    """`idp users add` of that address to B, as an admin of the console and manager of users."""
    result = idp(
        "users",
        "add",
        "--contract",
        B,
        "--login",
        "someone.new",
        "--email",
        email,
        "--first-name",
        "Camille",
        "--last-name",
        "Roux",
        "--landline",
        "0101010101",
        "--role",
        "users=manager",
        "--console-role",
        "admin",
        *extra,
    )
    assert result.exit_code == 0, result.output
    return result


def contracts(client: FlaskClient, app: Flask, rp: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The signed-in person's contracts, by id, from a fresh ID token and from userinfo;
    and the refresh token of that grant."""
    verifier, challenge = pkce()
    tokens = exchange(client, query(authorize(client, challenge))["code"], verifier, rp["portal"]).json
    keys = KeySet.import_key_set(client.get("/jwks").json)
    id_claims = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json
    return (
        {c["id"]: c for c in id_claims["contracts"]},
        {c["id"]: c for c in info["contracts"]},
        tokens["refresh_token"],
    )


def console_login(client: FlaskClient, company: str):  # type: ignore[no-untyped-def]
    """The console's authorization request for that company account, over the live session."""
    _, challenge = pkce()
    return authorize(
        client, challenge, client_id="console", redirect_uri=CONSOLE_CB, scope="openid profile", company_account=company
    )


def pending(client: FlaskClient) -> list[str]:
    """The accept actions of the invitations page."""
    return [m.group(1) for m in ACCEPT_RE.finditer(client.get("/invitations").text)]


def post(client: FlaskClient, path: str, lang: str = "en"):  # type: ignore[no-untyped-def]
    page = client.get("/", headers={"Accept-Language": lang})  # any form of the session's: its CSRF token
    return client.post(path, data={"csrf_token": csrf_token(page.text)}, headers={"Accept-Language": lang})


def memberships_of(app: Flask, account_id: int, contract_id: str) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                select(func.count())
                .select_from(Membership)
                .where(Membership.account_id == account_id, Membership.contract_id == contract_id)
            )
            or 0
        )


def test_member_of_another_contract_gets_no_role_until_they_accept_signed_in(
    client: FlaskClient, auth: AuthActions, app: Flask, rp: dict[str, str], camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    added = invite(idp)
    assert f"invitation sent to {TYPED}; roles take effect when accepted" in added.output
    assert LOGIN not in added.output
    [mail] = mail_jobs(app, "invitation")
    assert mail.payload["recipient"] == EMAIL  # the account's own address
    assert B in mail.payload["text"] and "next=invitations" in mail.payload["text"] and LOGIN not in mail.payload["text"]
    assert memberships_of(app, camille.account_id, B) == 0

    auth.login(camille.login, camille.password)
    by_id_token, by_userinfo, refresh_token = contracts(client, app, rp)
    assert set(by_id_token) == set(by_userinfo) == {A}
    refused = console_login(client, B)
    assert refused.status_code == 403 and "Location" not in refused.headers
    assert "invitations-notice" in client.get("/").text

    [action] = pending(client)
    accepted = post(client, action)
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/"
    assert "invitations-notice" not in client.get("/").text and pending(client) == []

    by_id_token, by_userinfo, _ = contracts(client, app, rp)
    assert set(by_id_token) == set(by_userinfo) == {A, B}
    assert by_userinfo[B]["roles"]["users"] == "manager" and by_userinfo[B]["console_roles"] == ["admin"]
    assert by_userinfo[B]["referent"] is False
    assert "code" in query(console_login(client, B))  # a console user of B now
    # A grant obtained before the acceptance sees B from its next refresh on.
    again = refresh(client, refresh_token, rp["portal"]).json
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {again['access_token']}"}).json
    assert {c["id"] for c in info["contracts"]} == {A, B}
    assert {"contract": B}.items() <= audit_rows(app, "directory:invitation:accepted")[0].items()
    assert any(r.get("contract") == B for r in audit_rows(app, "directory:member:added"))


def _set(app: Flask, account_id: int, **values: Any) -> None:
    with app.app_context():
        account = db.session.get(Account, account_id)
        for name, value in values.items():
            setattr(account, name, value)
        db.session.commit()


def test_an_unproven_address_accepts_only_after_following_the_invitation_link(
    client: FlaskClient, auth: AuthActions, app: Flask, camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    _set(app, camille.account_id, email_verified_at=None)  # e.g. kept from before addresses were proven
    invite(idp)
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    refused = post(client, action)
    assert refused.status_code == 403 and 'id="verify-first"' in refused.text
    assert memberships_of(app, camille.account_id, B) == 0
    [mail] = mail_jobs(app, "invitation")
    link = re.search(r"https?://[^/\s]+(/email/verify/\S+)", mail.payload["text"]).group(1)  # type: ignore[union-attr]
    followed = client.get(link)
    assert followed.status_code == 302 and followed.headers["Location"] == "/invitations"
    assert post(client, action).status_code == 302
    assert memberships_of(app, camille.account_id, B) == 1


def test_an_invitation_to_an_address_the_account_no_longer_has_grants_nothing(
    client: FlaskClient, auth: AuthActions, app: Flask, camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    _set(app, camille.account_id, email="camille@elsewhere.test", email_canonical="camille@elsewhere.test")
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    assert post(client, action).status_code == 410
    assert memberships_of(app, camille.account_id, B) == 0


def test_out_of_range_invitation_ids_are_not_found(
    client: FlaskClient, auth: AuthActions, camille: Person
) -> None:
    auth.login(camille.login, camille.password)
    for invitation_id in ("2147483648", "99999999999999999999"):
        assert post(client, f"/invitations/{invitation_id}/accept").status_code == 404


def test_service_invites_and_tells_nothing_of_the_login(app: Flask, camille: Person) -> None:
    with app.app_context():
        result = service.add_member(B, factories.identity("another.login", email=TYPED))
        db.session.commit()
        assert result.membership is None and result.invitation is not None and not result.account_created
        assert result.invitation.email == TYPED and result.invitation.state == "pending"
        assert result.invitation.expires_at - clock.now() > timedelta(days=6, hours=23)
    assert memberships_of(app, camille.account_id, B) == 0


def test_a_brand_new_email_is_a_member_at_once_with_the_access_email(app: Flask, camille: Person, idp) -> None:  # type: ignore[no-untyped-def]
    result = idp(
        "users",
        "add",
        "--contract",
        B,
        "--login",
        "nina.simon",
        "--email",
        "nina@example.test",
        "--first-name",
        "Nina",
        "--last-name",
        "Simon",
        "--landline",
        "0101010101",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "login": "nina.simon",
        "contract": B,
        "status": "added",
        "account_created": True,
        "enabled_again": False,
    }
    assert [j.payload["recipient"] for j in mail_jobs(app, "access")][-1] == "nina@example.test"
    assert mail_jobs(app, "invitation") == []


def test_declined_invitation_grants_nothing(
    client: FlaskClient, auth: AuthActions, app: Flask, rp: dict[str, str], camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    declined = post(client, action.replace("/accept", "/decline"))
    assert declined.status_code == 302 and pending(client) == []
    late = post(client, action, lang="fr")
    assert late.status_code == 410
    assert memberships_of(app, camille.account_id, B) == 0
    assert set(contracts(client, app, rp)[1]) == {A}
    assert console_login(client, B).status_code == 403
    assert len(audit_rows(app, "directory:invitation:declined")) == 1


def test_revoked_invitation_grants_nothing(
    client: FlaskClient, auth: AuthActions, app: Flask, rp: dict[str, str], camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    revoked = idp("invitations", "revoke", B, EMAIL.upper())
    assert revoked.exit_code == 0, revoked.output
    assert pending(client) == []
    assert post(client, action).status_code == 410
    assert memberships_of(app, camille.account_id, B) == 0
    assert set(contracts(client, app, rp)[1]) == {A}
    listed = idp("invitations", "list", B, "--json")
    assert [i["state"] for i in json.loads(listed.output)] == ["revoked"] and LOGIN not in listed.output
    again = idp("invitations", "revoke", B, EMAIL)
    assert again.exit_code == 2 and "no pending invitation" in again.output


def test_expired_invitation_grants_nothing(
    client: FlaskClient, auth: AuthActions, app: Flask, rp: dict[str, str], camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    with clock.shifted(timedelta(days=7) - timedelta(minutes=1)):
        auth.login(camille.login, camille.password)
        [action] = pending(client)
    with clock.shifted(timedelta(days=7, seconds=1)):
        if client.get("/").status_code != 200:  # the session may have ended in the meantime
            auth.login(camille.login, camille.password)
        assert pending(client) == [] and "invitations-notice" not in client.get("/").text
        assert post(client, action).status_code == 410
        assert set(contracts(client, app, rp)[1]) == {A}
        assert console_login(client, B).status_code == 403
        assert [i["state"] for i in json.loads(idp("invitations", "list", "--json").output)] == ["expired"]
    assert memberships_of(app, camille.account_id, B) == 0


def test_invitation_of_another_account_is_not_found(
    client: FlaskClient, auth: AuthActions, app: Flask, paul: Person, camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    auth.logout()
    auth.login(paul.login, paul.password)
    assert pending(client) == []
    assert post(client, action).status_code == 404
    assert post(client, action.replace("/accept", "/decline")).status_code == 404
    assert memberships_of(app, paul.account_id, B) == 0
    auth.logout()
    auth.login(camille.login, camille.password)
    assert post(client, action).status_code == 302  # still hers, still pending
    assert memberships_of(app, camille.account_id, B) == 1


def test_double_accept_makes_one_membership(
    client: FlaskClient, auth: AuthActions, app: Flask, camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    page = client.get("/invitations")
    token = csrf_token(page.text)
    first = client.post(action, data={"csrf_token": token})
    second = client.post(action, data={"csrf_token": token})
    assert (first.status_code, second.status_code) == (302, 410)
    assert "Cette invitation a expiré ou n&#39;est plus valable." in second.text  # the account speaks French
    assert memberships_of(app, camille.account_id, B) == 1


def test_parallel_accepts_make_one_membership(app: Flask, camille: Person, idp) -> None:  # type: ignore[no-untyped-def]
    invite(idp)

    def prepare(_: int, client: FlaskClient) -> tuple[str, str]:
        AuthActions(client).login(camille.login, camille.password)
        [action] = pending(client)
        return action, csrf_token(client.get("/invitations").text)

    def send(_: int, client: FlaskClient, prepared: tuple[str, str]):  # type: ignore[no-untyped-def]
        action, token = prepared
        return client.post(action, data={"csrf_token": token})

    answers = burst(app, 5, send, prepare, hold_writes=0.3)
    assert crashed(answers) == []
    assert statuses(answers) == {302: 1, 410: 4}
    assert memberships_of(app, camille.account_id, B) == 1
    assert len(audit_rows(app, "directory:invitation:accepted")) == 1


def test_accept_needs_a_session_and_the_csrf_token(
    client: FlaskClient, auth: AuthActions, app: Flask, camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    page = client.get("/invitations")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    assert client.post(action, data={}).status_code in {400, 403}
    assert memberships_of(app, camille.account_id, B) == 0


def test_a_new_addition_replaces_the_pending_invitation(
    client: FlaskClient, auth: AuthActions, app: Flask, rp: dict[str, str], camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    second = idp(
        "users",
        "add",
        "--contract",
        B,
        "--login",
        "someone.new",
        "--email",
        EMAIL,
        "--first-name",
        "C",
        "--last-name",
        "R",
        "--landline",
        "0101010101",
        "--role",
        "invoices=visitor",
    )
    assert second.exit_code == 0, second.output
    assert len(mail_jobs(app, "invitation")) == 2
    states = sorted(i["state"] for i in json.loads(idp("invitations", "list", B, "--json").output))
    assert states == ["pending", "revoked"]
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    assert post(client, action).status_code == 302
    contract = contracts(client, app, rp)[1][B]
    assert contract["roles"]["invoices"] == "visitor" and contract["roles"]["users"] == "none"
    assert contract["console_roles"] == []


def test_adding_a_member_again_is_a_conflict_that_names_no_login(
    client: FlaskClient, auth: AuthActions, app: Flask, camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    auth.login(camille.login, camille.password)
    [action] = pending(client)
    assert post(client, action).status_code == 302
    again = idp(
        "users",
        "add",
        "--contract",
        B,
        "--login",
        "someone.new",
        "--email",
        TYPED,
        "--first-name",
        "C",
        "--last-name",
        "R",
        "--landline",
        "0101010101",
    )
    assert again.exit_code == 2 and "already a member" in again.output and LOGIN not in again.output
    assert len(mail_jobs(app, "invitation")) == 1


def test_an_expired_invitation_can_be_sent_again(
    client: FlaskClient, auth: AuthActions, app: Flask, camille: Person, idp
) -> None:  # type: ignore[no-untyped-def]
    invite(idp)
    with clock.shifted(timedelta(days=8)):
        invite(idp)
        states = [i["state"] for i in json.loads(idp("invitations", "list", B, "--json").output)]
        assert states == ["pending", "expired"]  # newest first; the old one stays what it was
        if client.get("/").status_code != 200:
            auth.login(camille.login, camille.password)
        [action] = pending(client)
        assert post(client, action).status_code == 302
    assert memberships_of(app, camille.account_id, B) == 1


def test_disabling_the_invited_account_revokes_its_invitations(app: Flask, camille: Person, idp) -> None:  # type: ignore[no-untyped-def]
    """Left with no contract, the account is disabled (nobody can sign in to accept); its
    pending invitations say so; purged, the account takes them with it."""
    invite(idp)
    removed = idp("users", "remove", LOGIN, "--contract", A, "--json")
    assert removed.exit_code == 0 and json.loads(removed.output)["account_disabled"] is True
    assert [i["state"] for i in json.loads(idp("invitations", "list", "--json").output)] == ["revoked"]
    assert json.loads(idp("users", "purge-disabled", "--older-than", "0", "--json").output) == {"purged": 1}
    assert json.loads(idp("invitations", "list", "--json").output) == []
