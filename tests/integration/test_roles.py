"""Roles per offer and the directory's changes to members (issue 12, SPEC §2 and §6).

The directory functions every surface calls (the command line now, the management API and
the portal's pages next) are called directly; what they mean to the rest of the IdP is
checked black-box: tokens through /userinfo, /token and Keystone, sessions through the
browser's cookie, mail through the outbox's queued jobs.

- sections and defaults follow the offer: Flexible Computing Advanced has five sections and
  no console roles, Flexible Engine eight and the console; tokens list only the offered ones;
- ``set_roles`` changes section and console roles together: the console user is provisioned
  (console access email) or removed (its Keystone tokens refused at once); the person is
  mailed their new roles in their language;
- the referent and the last users manager are untouchable, also under a burst of parallel
  changes (both databases);
- removing a member's last contract disables the account (sessions ended, tokens revoked,
  invitations closed), which the retention purge deletes later; adding it again enables it
  as a new identity.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from idp import clock
from idp import create_app
from idp import database
from idp.directory import invitations
from idp.directory import roles
from idp.directory import service
from idp.directory.members import ConsoleNotOffered
from idp.directory.members import InvalidRole
from idp.directory.members import LastUsersManager
from idp.directory.members import ReferentProtected
from idp.directory.models import Account
from idp.directory.models import Membership
from idp.extensions import db
from tests import factories
from tests.conftest import AuthActions
from tests.conftest import fresh_database
from tests.conftest import make_settings
from tests.factories import Person
from tests.helpers import audit_rows
from tests.helpers import exchange
from tests.helpers import mail_jobs
from tests.helpers import refresh
from tests.helpers import signed_in_code
from tests.integration.test_access_keys import keystone_token
from tests.integration.test_access_keys import set_api_password
from tests.integration.test_races import burst
from tests.integration.test_races import crashed

FE, FCA = "OCB0000124", "OCB0000412"
FE_OFFER, FCA_OFFER = "flexible-engine", "flexible-computing-advanced"
API_PASSWORD = "Api#Password-2026"
BRAND = "Acme Cloud"
CONSOLE_URL = "https://console.example.test"
FCA_SECTIONS = ["dashboard", "services", "invoices", "support", "users"]


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {"mail": {"brand": BRAND}, "api": {"console_url": CONSOLE_URL}}


def fca_contract(referent_login: str = "paul.dupont", contract_id: str = FCA) -> None:
    service.create_contract(contract_id=contract_id, name="SI_qualif", offer=FCA_OFFER, company_name="ACME",
                            referent=factories.identity(referent_login))
    db.session.commit()


def membership(login: str, contract_id: str = FE) -> Membership:
    found = db.session.scalar(select(Membership).join(Account).where(
        Account.login == login, Membership.contract_id == contract_id))
    assert found is not None
    return found


def jobs_text(app: Flask, template: str) -> list[dict[str, Any]]:
    return [j.payload for j in mail_jobs(app, template)]


# --- sections per offer -------------------------------------------------------------------------


def test_each_offer_has_its_sections_defaults_and_referent_roles() -> None:
    assert [s.name for s in roles.sections_for(FCA_OFFER)] == FCA_SECTIONS
    assert [s.name for s in roles.sections_for(FE_OFFER)] == list(roles.SECTIONS)
    assert roles.has_console(FE_OFFER) and not roles.has_console(FCA_OFFER)
    # Sections an offer lacks are stored at their neutral (lowest) level, never shown.
    assert roles.default_roles(FCA_OFFER) == {
        "contract": "visitor", "dashboard": "visitor", "orders": "none", "subscriptions": "none",
        "services": "none", "invoices": "none", "support": "none", "users": "none"}
    assert roles.referent_roles(FCA_OFFER) == {
        "contract": "visitor", "dashboard": "visitor", "orders": "none", "subscriptions": "none",
        "services": "manager", "invoices": "manager", "support": "manager", "users": "manager"}
    assert roles.referent_roles(FE_OFFER) == {name: s.referent for name, s in roles.SECTIONS.items()}
    assert roles.referent_console_roles(FE_OFFER) == ("admin",) and roles.referent_console_roles(FCA_OFFER) == ()
    assert roles.check(FCA_OFFER, "users", "manager") == ("users", roles.Level.MANAGER)
    for section, level, message in (("orders", "visitor", "not part of"), ("dashboard", "manager", "takes one of"),
                                    ("billing", "visitor", "unknown section")):
        with pytest.raises(roles.RoleError, match=message):
            roles.check(FCA_OFFER, section, level)


def test_fca_contract_has_five_sections_and_no_console(app: Flask, paul: Person) -> None:
    with app.app_context():
        fca_contract("anne.martin")
        referent = membership("anne.martin", FCA)
        assert list(referent.shown_roles()) == FCA_SECTIONS and referent.console_role_names == []
        assert not referent.is_console_user
        added = service.add_member(FCA, factories.identity("julie.dupont"), {"invoices": "manager"})
        assert added.membership is not None
        assert added.membership.shown_roles() == {"dashboard": "visitor", "services": "none", "invoices": "manager",
                                                  "support": "none", "users": "none"}
        with pytest.raises(ConsoleNotOffered):
            service.add_member(FCA, factories.identity("marc.dupont"), console_roles=["guest"])
        with pytest.raises(InvalidRole, match="not part of"):
            service.add_member(FCA, factories.identity("marc.dupont"), {"orders": "visitor"})
        with pytest.raises(ConsoleNotOffered):
            service.set_roles(FCA, "julie.dupont", None, ["guest"])
        with pytest.raises(InvalidRole):
            service.set_roles(FCA, "julie.dupont", {"contract": "manager"})
        with pytest.raises(ConsoleNotOffered):
            service.add_console_group(FCA, "network-ops")
        db.session.commit()
    # Only paul's, as the Flexible Engine referent: nobody on the FCA contract has a console.
    assert [j["recipient"] for j in jobs_text(app, "console-access")] == [paul.email]


def test_tokens_list_only_the_offered_sections(client: FlaskClient, auth: AuthActions, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    with client.application.app_context():
        fca_contract("paul.dupont")  # paul: referent of both
    code, verifier = signed_in_code(client, auth, paul)
    tokens = exchange(client, code, verifier, rp["portal"]).json
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json
    contracts = {c["id"]: c for c in info["contracts"]}
    assert contracts[FCA]["offer"] == FCA_OFFER and sorted(contracts[FCA]["roles"]) == sorted(FCA_SECTIONS)
    assert contracts[FCA]["console_roles"] == [] and contracts[FCA]["referent"] is True
    assert sorted(contracts[FE]["roles"]) == sorted(roles.SECTIONS) and contracts[FE]["console_roles"] == ["admin"]


# --- set_roles: sections and console together ------------------------------------------------------


def test_set_roles_provisions_then_removes_the_console_user(client: FlaskClient, app: Flask, paul: Person) -> None:
    with app.app_context():
        factories.member(FE, "julie.dupont")
        actor = db.session.get(Account, paul.account_id)
        change = service.set_roles(FE, "julie.dupont", {"users": "visitor", "invoices": "manager"}, ["guest"],
                                   actor=actor)
        assert change.changed and change.membership.is_console_user
        db.session.commit()
    [console_mail] = jobs_text(app, "console-access")[1:]  # [0] is paul's, as the FE referent
    assert console_mail["recipient"] == "julie.dupont@example.test"
    assert "julie.dupont" in console_mail["text"] and FE in console_mail["text"]
    assert "/api-password?company_account=OCB0000124" in console_mail["text"] and CONSOLE_URL in console_mail["text"]
    set_api_password(app, API_PASSWORD, login="julie.dupont")
    token = keystone_token(client, login="julie.dupont")
    assert client.get("/v3.0/OS-CREDENTIAL/credentials", headers={"X-Auth-Token": token}).status_code == 200
    [row] = audit_rows(app, "directory:roles:changed")
    assert row["console_roles"] == ["guest"] and row["roles"]["users"] == "visitor"
    with app.app_context():
        assert not service.set_roles(FE, "julie.dupont", {"users": "visitor"}).changed  # nothing to do: no mail
        service.set_roles(FE, "julie.dupont", None, [])
        db.session.commit()
        assert not membership("julie.dupont").is_console_user
    assert client.get("/v3.0/OS-CREDENTIAL/credentials", headers={"X-Auth-Token": token}).status_code == 401
    assert len(mail_jobs(app, "roles-changed")) == 2 and len(mail_jobs(app, "console-access")) == 2
    assert audit_rows(app, "directory:console_user:removed")


@pytest.mark.parametrize(("language", "expected"), [
    ("fr", ["Vos rôles sur le contrat SL_Prod ont changé", "Utilisateurs : Gestionnaire", "Support : Aucun accès",
            "Console Flexible Engine : guest, power_user", "Paul DUPONT a modifié vos rôles"]),
    ("en", ["Your roles on the contract SL_Prod have changed", "Users: Manager", "Support: No access",
            "Flexible Engine console: guest, power_user", "Paul DUPONT changed your roles"]),
])
def test_the_person_is_mailed_their_new_roles_in_the_guides_words(app: Flask, paul: Person, language: str,
                                                                  expected: list[str]) -> None:
    with app.app_context():
        service.add_member(FE, factories.identity("julie.dupont", language=language))
        service.set_roles(FE, "julie.dupont", {"users": "manager", "dashboard": "none"}, ["power_user", "guest"],
                          actor=db.session.get(Account, paul.account_id))
        db.session.commit()
    [mail] = jobs_text(app, "roles-changed")
    text = mail["subject"] + "\n" + mail["text"]
    for words in expected:
        assert words in text, (words, text)
    assert mail["locale"] == language and "<table" in mail["html"]


def test_fca_roles_mail_names_five_sections_and_no_console(app: Flask, paul: Person) -> None:
    with app.app_context():
        fca_contract("anne.martin")
        service.add_member(FCA, factories.identity("julie.dupont", language="en"))
        service.set_roles(FCA, "julie.dupont", {"support": "visitor"})
        db.session.commit()
    [mail] = jobs_text(app, "roles-changed")
    assert "Support: Visitor" in mail["text"] and "console" not in mail["text"].lower()
    assert "Orders" not in mail["text"] and "Contract:" not in mail["text"]


# --- the referent and the last users manager ------------------------------------------------------


def test_the_referent_keeps_the_referent_roles_and_may_get_more(app: Flask, paul: Person) -> None:
    with app.app_context():
        for sections, console in (({"users": "visitor"}, None), ({"orders": "none"}, None), (None, ["guest"]),
                                  (None, [])):
            with pytest.raises(ReferentProtected):
                service.set_roles(FE, "paul.dupont", sections, console)
        assert service.set_roles(FE, "paul.dupont", None, ["admin", "guest"]).changed  # an addition
        assert service.set_roles(FE, "paul.dupont", None, ["admin"]).changed  # and back
        with pytest.raises(ReferentProtected):
            service.remove_member(FE, "paul.dupont")
        db.session.commit()
        referent = membership("paul.dupont")
        assert referent.section_roles() == roles.referent_roles(FE_OFFER) and referent.console_role_names == ["admin"]


def _referent_not_a_users_manager(contract_id: str = FE) -> None:
    """Data from before the referent's roles were fixed: the only way the referent is not a
    users manager, and so the only way the last-manager rule is ever what refuses."""
    db.session.execute(sa.text("UPDATE memberships SET role_users = 'visitor' WHERE contract_id = :c AND account_id ="
                               " (SELECT referent_account_id FROM contracts WHERE id = :c)"), {"c": contract_id})
    db.session.commit()


def _users_managers(app: Flask, contract_id: str = FE) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Account.login).join(Membership).where(
            Membership.contract_id == contract_id, Membership.role_users == "manager")))


def test_the_last_users_manager_can_be_neither_demoted_nor_removed(app: Flask, paul: Person) -> None:
    with app.app_context():
        _referent_not_a_users_manager()
        factories.member(FE, "sophie.dupont", roles={"users": roles.Level.MANAGER})
        factories.member(FE, "marc.dupont", roles={"users": roles.Level.MANAGER})
        service.set_roles(FE, "marc.dupont", {"users": "visitor"})  # sophie is left
        with pytest.raises(LastUsersManager):
            service.set_roles(FE, "sophie.dupont", {"users": "none"})
        with pytest.raises(LastUsersManager):
            service.remove_member(FE, "sophie.dupont")
        assert service.set_roles(FE, "sophie.dupont", {"invoices": "manager"}).changed  # other sections: fine
        db.session.commit()
    assert _users_managers(app) == ["sophie.dupont"]


@dataclass
class Outcome:
    """What a directory call in a burst thread came to, shaped like a response for ``burst``."""

    status_code: int
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def get_data(self, as_text: bool = False) -> str:
        return self.text

    def close(self) -> None:
        pass


@pytest.mark.parametrize("acts", [("demote", "demote"), ("demote", "remove")])
def test_two_managers_taking_each_other_away_at_once_leave_one(app: Flask, paul: Person,
                                                               acts: tuple[str, str]) -> None:
    """Two users managers, each taking the other's role away at the same instant (SQLite's
    write lock held while the burst starts; PostgreSQL's threads really race): one wins,
    the other is refused, and the contract keeps a users manager."""
    with app.app_context():
        _referent_not_a_users_manager()
        factories.member(FE, "sophie.dupont", roles={"users": roles.Level.MANAGER})
        factories.member(FE, "marc.dupont", roles={"users": roles.Level.MANAGER})
    targets = ["marc.dupont", "sophie.dupont"]

    def send(i: int, _client: FlaskClient, _prepared: Any) -> Outcome:
        with app.app_context():
            try:
                if acts[i] == "demote":
                    service.set_roles(FE, targets[i], {"users": "visitor"})
                else:
                    service.remove_member(FE, targets[i])
                db.session.commit()
                return Outcome(200)
            except LastUsersManager as exc:
                db.session.rollback()
                return Outcome(409, str(exc))

    answers = burst(app, 2, send, hold_writes=0.5)
    assert not crashed(answers)
    assert sorted(a.status for a in answers) == [200, 409], answers
    assert len(_users_managers(app)) == 1


# --- removal disables, never deletes -----------------------------------------------------------


def test_removing_the_last_contract_disables_the_account_and_ends_everything(
        client: FlaskClient, auth: AuthActions, app: Flask, paul: Person, rp) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        julie = factories.member(FE, "julie.dupont", console_roles=["guest"])
        db.session.get(Account, julie.account_id).language = "en"  # type: ignore[union-attr]
        factories.contract_with_referent("OCB0000999", "jean.martin")
        invited = service.add_member("OCB0000999", factories.identity("any.login", email=julie.email))
        assert invited.invitation is not None
        db.session.commit()
    set_api_password(app, API_PASSWORD, login="julie.dupont")
    keystone = keystone_token(client, login="julie.dupont")
    code, verifier = signed_in_code(client, auth, julie)
    tokens = exchange(client, code, verifier, rp["portal"]).json
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    with app.app_context():
        assert service.remove_member(FE, "julie.dupont", actor=db.session.get(Account, paul.account_id)) is True
        db.session.commit()
        account = db.session.get(Account, julie.account_id)
        assert account is not None and account.status == "disabled" and account.disabled_at is not None
        assert account.login == "julie.dupont" and account.password_hash  # kept as it was
        assert {i.state for i in invitations.of_contract("OCB0000999")} == {"revoked"}
    assert client.get("/").status_code == 302  # the SSO session ended
    assert client.get("/userinfo", headers=bearer).status_code == 401
    assert refresh(client, tokens["refresh_token"], rp["portal"]).status_code == 400
    assert client.get("/v3.0/OS-CREDENTIAL/credentials", headers={"X-Auth-Token": keystone}).status_code == 401
    assert auth.login(julie.login, julie.password).status_code == 401  # like a wrong password
    [ended] = jobs_text(app, "membership-ended")
    assert "Paul DUPONT removed you from the contract SL_Prod" in ended["text"]
    assert "your account has been disabled" in ended["text"]
    assert audit_rows(app, "directory:account:disabled") == [{"reason": "no_contract_left"}]
    [removed] = audit_rows(app, "directory:member:removed")
    assert removed["contract"] == FE


def test_a_member_of_another_contract_stays_active(app: Flask, paul: Person) -> None:
    with app.app_context():
        factories.member(FE, "julie.dupont")
        fca_contract("julie.dupont")  # julie: referent of the FCA contract too
        assert service.remove_member(FE, "julie.dupont") is False
        db.session.commit()
        account = db.session.scalar(select(Account).where(Account.login == "julie.dupont"))
        assert account is not None and account.is_active and account.disabled_at is None
    [ended] = jobs_text(app, "membership-ended")
    assert "désactivé" not in ended["text"] and "disabled" not in ended["text"]


def _disabled_julie(app: Flask) -> Person:
    with app.app_context():
        julie = factories.member(FE, "julie.dupont")
        service.remove_member(FE, "julie.dupont")
        db.session.commit()
    return julie


def test_disabled_accounts_are_purged_after_the_retention(app: Flask, paul: Person) -> None:
    julie = _disabled_julie(app)
    chore = app.extensions["idp.jobs"].chores["purge:disabled-accounts"]
    with app.app_context():
        assert chore(clock.now()) == 0  # kept for the audit trail
        retention = timedelta(seconds=app.config["IDP_SETTINGS"].jobs.disabled_account_retention_seconds)
        assert chore(clock.now() + retention + timedelta(seconds=1)) == 1
        assert db.session.get(Account, julie.account_id) is None
        # The audit trail keeps its rows, without the link to the account.
        rows = db.session.execute(sa.text("SELECT tag, account_id, details FROM audit_events WHERE tag IN "
                                          "('directory:account:disabled', 'directory:account:removed')")).all()
    assert {r.tag for r in rows} == {"directory:account:disabled", "directory:account:removed"}
    assert all(r.account_id is None for r in rows)
    [purged] = [r for r in rows if r.tag == "directory:account:removed"]
    details = json.loads(purged.details) if isinstance(purged.details, str) else purged.details
    assert details["reason"] == "disabled_retention" and len(details["public_id"]) == 32


def test_adding_a_disabled_account_again_enables_it_as_a_new_identity(client: FlaskClient, auth: AuthActions,
                                                                     app: Flask, paul: Person) -> None:
    julie = _disabled_julie(app)
    with app.app_context():
        public_id = db.session.get(Account, julie.account_id).public_id  # type: ignore[union-attr]
        typed = factories.identity("another.login", email=julie.email.upper())
        result = service.add_member(FE, typed, console_roles=["guest"])
        db.session.commit()
        assert result.enabled_again and not result.account_created and result.invitation is None
        assert result.membership is not None
        account = result.membership.account
        assert account.login == "julie.dupont" and account.public_id == public_id  # the same identity
        assert account.is_active and account.password_hash is None and account.email_verified_at is None
        chore = app.extensions["idp.jobs"].chores["purge:disabled-accounts"]
        assert chore(clock.now() + timedelta(days=10_000)) == 0  # active again: never purged
    assert auth.login(julie.login, julie.password).status_code == 401  # the old password is gone
    assert [j.payload["template"] for j in mail_jobs(app)][-2:] == ["access", "console-access"]
    assert audit_rows(app, "directory:account:enabled")


# --- the emails of an addition ---------------------------------------------------------------------


def test_an_addition_with_console_roles_mails_the_console_access_email(app: Flask, paul: Person) -> None:
    with app.app_context():
        service.add_member(FE, factories.identity("julie.dupont", language="en"), console_roles=["power_user"])
        service.add_member(FE, factories.identity("marc.dupont", language="en"))
        db.session.commit()
    sent = [(j.payload["recipient"], j.payload["template"]) for j in mail_jobs(app)]
    julie, marc = "julie.dupont@example.test", "marc.dupont@example.test"
    assert [t for r, t in sent if r == julie] == ["access", "console-access"]
    assert [t for r, t in sent if r == marc] == ["access"]  # no console role, no console email
    [access] = [j.payload for j in mail_jobs(app, "access") if j.payload["recipient"] == julie]
    assert f"Set my {BRAND} password" in access["html"] and f"Set my {BRAND} password" in access["text"]
    [console] = [j.payload for j in mail_jobs(app, "console-access") if j.payload["recipient"] == julie]
    assert console["subject"] == "Your access to the Flexible Engine console"
    for fact in ("julie.dupont", FE, julie, f"Your {BRAND} account (login):", "Set my API password",
                 "http://127.0.0.1:5000/api-password?company_account=OCB0000124", CONSOLE_URL):
        assert fact in console["text"] and fact.replace("&", "&amp;") in console["html"], fact


def test_a_six_digit_company_account_works_end_to_end(client: FlaskClient, auth: AuthActions, app: Flask,
                                                      rp) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        paul = factories.contract_with_referent("OCB000023")
    code, verifier = signed_in_code(client, auth, paul, company_account="OCB000023")
    tokens = exchange(client, code, verifier, rp["portal"]).json
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json
    assert info["company_account"] == "OCB000023" and info["console_roles"] == ["admin"]
    page = client.get("/api-password?company_account=OCB000023")
    assert page.status_code == 200 and re.search(r'value="OCB000023"', page.text)


# --- the migration: roles of existing contracts follow their offer ------------------------------


def test_the_migration_takes_what_an_fca_contract_lacks_from_existing_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Rows written before roles followed the offer (an FCA referent with console admin, a
    console user, a group, FE-only sections) are brought in line by revision 0012."""
    with fresh_database(tmp_path, prefix="r") as url:
        app = create_app(make_settings(url, tmp_path / "keys"))
        with app.app_context():
            database.upgrade("0011")
            now = clock.now().replace(tzinfo=None).isoformat(sep=" ")
            rows = [
                "INSERT INTO accounts (id, public_id, login, login_canonical, email, email_canonical, first_name,"
                " last_name, landline, language, status, created_at, updated_at) VALUES (1, 'p1', 'paul.dupont',"
                " 'paul.dupont', 'p@example.test', 'p@example.test', 'Paul', 'Dupont', '0101', 'fr', 'active', :t, :t)",
                "INSERT INTO contracts (id, name, offer, company_name, referent_account_id, created_at) VALUES"
                " ('OCB0000412', 'SI', 'flexible-computing-advanced', 'ACME', 1, :t),"
                " ('OCB0000124', 'SL', 'flexible-engine', 'ACME', 1, :t)",
                "INSERT INTO memberships (id, account_id, contract_id, created_at, role_contract, role_dashboard,"
                " role_orders, role_subscriptions, role_services, role_invoices, role_support, role_users) VALUES"
                " (1, 1, 'OCB0000412', :t, 'manager', 'visitor', 'visitor', 'manager', 'manager', 'manager',"
                " 'manager', 'manager'), (2, 1, 'OCB0000124', :t, 'manager', 'visitor', 'visitor', 'manager',"
                " 'manager', 'manager', 'manager', 'manager')",
                "INSERT INTO membership_console_roles (membership_id, role) VALUES (1, 'admin'), (2, 'admin')",
                "INSERT INTO console_groups (id, contract_id, name) VALUES (1, 'OCB0000412', 'ops'),"
                " (2, 'OCB0000124', 'ops')",
                "INSERT INTO console_users (id, membership_id, user_id, created_at) VALUES (1, 1, 'u1', :t),"
                " (2, 2, 'u2', :t)",
            ]
            with db.engine.begin() as conn:
                for statement in rows:
                    conn.execute(sa.text(statement), {"t": now})
            database.upgrade("0012")
            with db.engine.connect() as conn:
                fca = conn.execute(sa.text("SELECT role_contract, role_orders, role_subscriptions, role_users"
                                           " FROM memberships WHERE id = 1")).one()
                fe = conn.execute(sa.text("SELECT role_contract, role_orders FROM memberships WHERE id = 2")).one()
                left = {table: conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar()  # noqa: S608
                        for table in ("membership_console_roles", "console_groups", "console_users")}
            assert tuple(fca) == ("visitor", "none", "none", "manager") and tuple(fe) == ("manager", "visitor")
            assert left == {"membership_console_roles": 1, "console_groups": 1, "console_users": 1}  # FE's only
            database.downgrade("0011")  # with the rows still there (no copy of accounts)
            assert "disabled_at" not in {c["name"] for c in sa.inspect(db.engine).get_columns("accounts")}
            db.engine.dispose()
