"""The management API, black-box: who may call it (the token, its audience, scope and
session), contracts, users (list, search, pages, add, roles, remove), console users and
groups, idempotent creations, the one error shape in the caller's language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from idp import clock
from idp.directory.models import Account
from idp.directory.models import Membership
from idp.extensions import db
from idp.management.idempotency import IdempotencyKey
from idp.oidc import clients as registry
from idp.oidc.models import OAuth2Client
from tests import factories
from tests.conftest import AuthActions
from tests.helpers import mail_jobs
from tests.integration import management_support as ms
from tests.integration.test_races import burst

FE_USERS = f"/contracts/{ms.FE}/users"


@pytest.fixture
def portal(app: Flask) -> ms.Portal:
    return ms.register_portal(app)


@pytest.fixture
def api(app: Flask, paul: factories.Person, portal: ms.Portal) -> ms.Api:
    """The referent of the Flexible Engine contract, calling with the portal's token."""
    return ms.api_for(app, paul, portal)


def members(app: Flask, contract_id: str = ms.FE) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).where(Membership.contract_id == contract_id)) or 0)


# --- who may call ---------------------------------------------------------------------------------


def test_no_token_or_a_bad_one_is_a_401_with_a_bearer_challenge(app: Flask, api: ms.Api) -> None:
    bare = app.test_client().get("/api/v1/contracts")
    assert ms.error_of(bare, 401) == "unauthorized"
    assert bare.headers["WWW-Authenticate"].startswith("Bearer")
    for value in ("Bearer nope", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 513, "Bearer", "Bearer  "):
        response = app.test_client().get("/api/v1/contracts", headers={"Authorization": value})
        assert ms.error_of(response, 401) == "invalid_token", value
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_without_the_management_scope_is_a_403(app: Flask, paul: factories.Person, portal: ms.Portal) -> None:
    api = ms.Api(app.test_client(), ms.token(app, paul, portal, scope="openid profile contracts"))
    response = api.get("/contracts")
    assert ms.error_of(response, 403) == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_only_a_client_registered_for_the_api_is_its_audience(app: Flask, paul: factories.Person) -> None:
    console = ms.register_portal(app, "console", management_api=False)
    api = ms.Api(app.test_client(), ms.token(app, paul, console))  # the scope is not granted to it
    assert ms.error_of(api.get("/contracts"), 401) == "invalid_token"
    portal = ms.register_portal(app, "portal")
    api = ms.api_for(app, paul, portal)
    assert api.get("/contracts").status_code == 200
    with app.app_context():
        db.session.execute(update(OAuth2Client).where(OAuth2Client.client_id == "portal").values(management_api=False))
        db.session.commit()
    assert ms.error_of(api.get("/contracts"), 401) == "invalid_token"  # re-checked on every call
    with app.app_context(), pytest.raises(Exception, match="first-party"):
        registry.create(client_id="third", name="Third", redirect_uris=["https://x.example/cb"], management_api=True)


def test_a_revoked_or_expired_token_or_an_ended_session_is_refused(
    app: Flask, paul: factories.Person, portal: ms.Portal
) -> None:
    client = app.test_client()
    api = ms.Api(client, ms.token(app, paul, portal))
    assert api.get("/contracts").status_code == 200
    basic = ms._basic(portal)
    assert client.post("/revoke", data={"token": api.token}, headers={"Authorization": basic}).status_code == 200
    assert ms.error_of(api.get("/contracts"), 401) == "invalid_token"

    api = ms.api_for(app, paul, portal)
    with clock.shifted(timedelta(hours=2)):
        assert ms.error_of(api.get("/contracts"), 401) == "invalid_token"

    browser = app.test_client()
    AuthActions(browser).login(paul.login, paul.password)
    api = ms.Api(app.test_client(), ms.token(app, paul, portal))
    assert api.get("/contracts").status_code == 200
    with app.app_context():  # the session the token was issued in ends (every session of paul)
        from idp import sessions

        sessions.end_all(paul.account_id)
        db.session.commit()
    assert ms.error_of(api.get("/contracts"), 401) == "invalid_token"


# --- contracts ------------------------------------------------------------------------------------


def test_my_contracts_and_one_contract(app: Flask, api: ms.Api, paul: factories.Person, portal: ms.Portal) -> None:
    ms.fca_contract(app)
    with app.app_context():
        factories.member(ms.FCA, "paul.second", roles={"users": "visitor"})
    items = api.get("/contracts").get_json()["items"]
    assert [c["id"] for c in items] == [ms.FE]
    assert items[0] | {"roles": None} == {
        "id": ms.FE,
        "name": "SL_Prod",
        "offer": "flexible-engine",
        "company_name": "ACME",
        "platform_id": None,
        "referent": True,
        "roles": None,
        "console_roles": ["admin"],
    }
    detail = api.get(f"/contracts/{ms.FE.lower()}").get_json()
    assert detail["company"] == {
        "company_name": "ACME",
        "siret": None,
        "referent_name": "Dupont Paul",
        "referent_email": paul.email,
    }
    assert detail["me"]["referent"] is True and detail["contract"]["console"] is True
    assert ms.error_of(api.get(f"/contracts/{ms.FCA}"), 404) == "contract_not_found"
    assert ms.error_of(api.get("/contracts/OCB9999999"), 404) == "contract_not_found"


# --- users: list, search, pages ---------------------------------------------------------------------


def test_list_search_and_pages(app: Flask, api: ms.Api) -> None:
    with app.app_context():
        for i in range(24):
            factories.member(ms.FE, f"user{i:02d}.member", password=None)
        factories.member(ms.FE, "special.member", password=None)
        db.session.execute(update(Account).where(Account.login == "special.member").values(last_name="O'Hara%_"))
        db.session.commit()
    first = api.get(f"{FE_USERS}?per_page=10").get_json()
    assert (first["total"], first["page"], first["per_page"], len(first["items"])) == (26, 1, 10, 10)
    last = api.get(f"{FE_USERS}?per_page=10&page=3").get_json()
    assert len(last["items"]) == 6 and last["total"] == 26
    assert api.get(f"{FE_USERS}?per_page=10&page=9").get_json()["items"] == []
    logins = [u["login"] for p in (1, 2, 3) for u in api.get(f"{FE_USERS}?per_page=10&page={p}").get_json()["items"]]
    assert len(set(logins)) == 26 and logins == sorted(logins)
    referent = api.get(f"{FE_USERS}?q=paul").get_json()["items"]
    assert [(u["login"], u["referent"]) for u in referent] == [("paul.dupont", True)]
    assert api.get(f"{FE_USERS}?q=USER1").get_json()["total"] == 10  # login, any case
    assert api.get(f"{FE_USERS}?q=user07.member@example").get_json()["total"] == 1  # email
    assert api.get(f"{FE_USERS}?q=o'hara%25_").get_json()["total"] == 1  # % and _ are literal
    assert api.get(f"{FE_USERS}?q=%25").get_json()["total"] == 1
    assert api.get(f"{FE_USERS}?q=Special").get_json()["total"] == 1  # first name
    for query in ("page=0", "page=x", "per_page=101", "per_page=0", "page=-1", "q=" + "a" * 101):
        assert ms.error_of(api.get(f"{FE_USERS}?{query}"), 400) == "invalid_parameter", query


def test_one_user_shows_the_roles_of_the_offer_only(app: Flask, portal: ms.Portal) -> None:
    anne = ms.fca_contract(app)
    ms.person(app, ms.FCA, "julie.dupont", {"support": "visitor"})
    api = ms.api_for(app, anne, portal)
    user = api.get(f"/contracts/{ms.FCA}/users/JULIE.DUPONT").get_json()
    assert user["roles"] == {
        "dashboard": "visitor",
        "services": "none",
        "invoices": "none",
        "support": "visitor",
        "users": "none",
    }
    assert user["console_roles"] is None and user["console_user"] is False
    assert ms.error_of(api.get(f"/contracts/{ms.FCA}/users/nobody.here"), 404) == "user_not_found"


# --- adding -----------------------------------------------------------------------------------------


def test_adding_a_new_person_mails_the_access_and_console_access_emails(app: Flask, api: ms.Api) -> None:
    body = ms.new_user("julie.dupont", roles={"invoices": "visitor", "users": "visitor"}, console_roles=["guest"])
    response = api.post(FE_USERS, body)
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["status"] == "added" and answer["user"]["login"] == "julie.dupont"
    assert answer["user"]["roles"]["invoices"] == "visitor" and answer["user"]["roles"]["contract"] == "manager"
    assert answer["user"]["console_roles"] == ["guest"]
    assert [j.payload["recipient"] for j in mail_jobs(app, "access")][-1] == "julie.dupont@example.test"
    assert [j.payload["recipient"] for j in mail_jobs(app, "console-access")][-1] == "julie.dupont@example.test"
    assert api.get(f"{FE_USERS}/julie.dupont").get_json()["roles"]["users"] == "visitor"


def test_an_existing_email_gets_an_invitation_and_its_login_is_never_told(app: Flask, api: ms.Api) -> None:
    ms.fca_contract(app, login="sophie.ailleurs")
    body = ms.new_user("other.login", email="Sophie.Ailleurs@example.test")
    response = api.post(FE_USERS, body)
    assert response.status_code == 202
    answer = response.get_json()
    assert answer["status"] == "invitation_sent" and answer["email"] == "Sophie.Ailleurs@example.test"
    assert "sophie.ailleurs" not in response.get_data(as_text=True)
    assert members(app) == 1
    again = api.post(FE_USERS, ms.new_user("paul.other", email="paul.dupont@example.test"), key="k-2")
    assert ms.error_of(again, 409) == "already_member"
    taken = api.post(FE_USERS, ms.new_user("sophie.ailleurs", email="new.one@example.test"), key="k-3")
    assert ms.error_of(taken, 409) == "login_taken"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"login": "short"}, "invalid_login", "login"),
        ({"login": "jülie.dupont"}, "invalid_login", "login"),
        ({"email": "not-an-email"}, "invalid_email", "email"),
        ({"landline": None}, "phone_required", "landline"),
        ({"mobile": "abc"}, "invalid_phone", "mobile"),
        ({"civility": "docteur"}, "invalid_civility", "civility"),
        ({"last_name": ""}, "required", "last_name"),
        ({"first_name": 12}, "not_text", "first_name"),
        ({"language": "de"}, "invalid_language", "language"),
        ({"nickname": "x"}, "unknown_field", "nickname"),
        ({"roles": {"users": "admin"}}, "invalid_role", "roles.users"),
        ({"roles": {"dashboard": "manager"}}, "invalid_role", "roles.dashboard"),
        ({"roles": {"billing": "none"}}, "invalid_section", "roles"),
        ({"roles": ["users"]}, "invalid_roles", "roles"),
        ({"console_roles": ["root"]}, "invalid_console_role", "console_roles"),
        ({"console_roles": "admin"}, "invalid_console_roles", "console_roles"),
    ],
)
def test_every_bad_field_is_a_422_naming_it(
    app: Flask, api: ms.Api, change: dict[str, Any], code: str, field: str
) -> None:
    response = api.post(FE_USERS, ms.new_user("julie.dupont") | change)
    assert ms.error_of(response, 422) == code
    assert response.get_json()["error"]["field"] == field
    assert members(app) == 1


def test_malformed_bodies_and_a_missing_key_are_400s(app: Flask, api: ms.Api) -> None:
    assert ms.error_of(api.post(FE_USERS, ms.new_user("julie.dupont"), key=None), 400) == "idempotency_key_required"
    assert ms.error_of(api.post(FE_USERS, ms.new_user("julie.dupont"), key="é"), 400) == "idempotency_key_required"
    assert ms.error_of(api.post(FE_USERS, ["a list"]), 400) == "invalid_json"
    raw = api.client.post(
        "/api/v1" + FE_USERS,
        data="{nope",
        headers=api.headers(**{"Idempotency-Key": "k", "Content-Type": "application/json"}),
    )
    assert ms.error_of(raw, 400) == "invalid_json"
    nul = api.post(FE_USERS, ms.new_user("julie.dupont", last_name="a\u0000b"))
    assert ms.error_of(nul, 400) == "invalid_request"  # the input guard, in the API's shape
    assert members(app) == 1


def test_the_fca_wizard_has_five_sections_and_no_console(app: Flask, portal: ms.Portal) -> None:
    anne = ms.fca_contract(app)
    api = ms.api_for(app, anne, portal)
    users = f"/contracts/{ms.FCA}/users"
    assert (
        ms.error_of(api.post(users, ms.new_user("julie.dupont", roles={"orders": "visitor"})), 422) == "invalid_section"
    )
    assert ms.error_of(api.post(users, ms.new_user("julie.dupont", console_roles=["guest"])), 422) == "no_console"
    added = api.post(users, ms.new_user("julie.dupont", roles={"services": "manager"}))
    assert added.status_code == 201
    assert set(added.get_json()["user"]["roles"]) == {"dashboard", "services", "invoices", "support", "users"}
    assert mail_jobs(app, "console-access") == []


# --- idempotency --------------------------------------------------------------------------------------


def test_the_same_key_and_body_replay_the_first_answer_without_a_second_addition(app: Flask, api: ms.Api) -> None:
    body = ms.new_user("julie.dupont")
    first = api.post(FE_USERS, body, key="add-julie")
    again = api.post(FE_USERS, dict(reversed(list(body.items()))), key="add-julie")  # same body, other order
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert members(app) == 2
    assert [j.payload["recipient"] for j in mail_jobs(app, "access")].count("julie.dupont@example.test") == 1
    other = api.post(FE_USERS, ms.new_user("julie.autre"), key="add-julie")
    assert ms.error_of(other, 422) == "idempotency_key_reused"
    elsewhere = api.client.post(
        "/api/v1/contracts/OCB0000124/users/", json=body, headers=api.headers(**{"Idempotency-Key": "add-julie"})
    )
    assert elsewhere.status_code == 404  # another path is another request (and no route here)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_a_refused_first_attempt_stores_nothing_and_keys_are_per_caller(
    app: Flask, api: ms.Api, portal: ms.Portal
) -> None:
    bad = api.post(FE_USERS, ms.new_user("julie.dupont", email="nope"), key="retry-me")
    assert ms.error_of(bad, 422) == "invalid_email"
    good = api.post(FE_USERS, ms.new_user("julie.dupont", email="nope") | {"email": "j@example.test"}, key="retry-me")
    assert good.status_code == 201
    manager = ms.person(app, ms.FE, "pierre.dupont", {"users": "manager"})
    theirs = ms.api_for(app, manager, portal).post(FE_USERS, ms.new_user("marc.dupont"), key="retry-me")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers


def test_an_expired_key_is_a_new_request_and_the_maintenance_purges_it(
    app: Flask, api: ms.Api, paul: factories.Person, portal: ms.Portal
) -> None:
    groups = f"/contracts/{ms.FE}/console-groups"
    assert api.post(groups, {"name": "team-a"}, key="g").status_code == 201
    assert api.post(groups, {"name": "team-a"}, key="g").headers["Idempotent-Replayed"] == "true"
    with clock.shifted(timedelta(hours=24, minutes=5)):
        later = ms.api_for(app, paul, portal)  # the first token is long expired
        assert ms.error_of(later.post(groups, {"name": "team-a"}, key="g"), 409) == "group_exists"  # tried again
        assert later.post(groups, {"name": "team-b"}, key="g").status_code == 201  # the old row gave way
    with clock.shifted(timedelta(hours=49)), app.app_context():
        purged = app.extensions["idp.jobs"].chores["purge:management_idempotency_keys"](clock.now())
        db.session.commit()
        assert purged == 1
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


# --- changing roles, removing -----------------------------------------------------------------------


def test_changing_roles_is_visible_at_once_and_follows_the_offer(app: Flask, api: ms.Api) -> None:
    ms.person(app, ms.FE, "julie.dupont")
    changed = api.put(f"{FE_USERS}/julie.dupont/roles", {"roles": {"support": "manager"}, "console_roles": ["guest"]})
    assert changed.status_code == 200
    user = api.get(f"{FE_USERS}/julie.dupont").get_json()
    assert user["roles"]["support"] == "manager" and user["roles"]["contract"] == "manager"  # the others kept
    assert user["console_roles"] == ["guest"] and user["console_user"] is True
    assert [j.payload["recipient"] for j in mail_jobs(app, "console-access")][-1] == "julie.dupont@example.test"
    console = api.get(f"/contracts/{ms.FE}/console-users").get_json()
    assert [u["login"] for u in console["items"]] == ["julie.dupont", "paul.dupont"]
    removed = api.put(f"{FE_USERS}/julie.dupont/roles", {"console_roles": []}).get_json()
    assert removed["console_roles"] == [] and removed["console_user"] is False
    bad = api.put(f"{FE_USERS}/julie.dupont/roles", {"roles": {"orders": "manager"}})
    assert ms.error_of(bad, 422) == "invalid_role"
    assert ms.error_of(api.put(f"{FE_USERS}/nobody.here/roles", {"roles": {}}), 404) == "user_not_found"


def test_the_referent_is_never_removed_nor_demoted(app: Flask, api: ms.Api, portal: ms.Portal) -> None:
    assert ms.error_of(api.delete(f"{FE_USERS}/paul.dupont"), 409) == "referent_protected"
    demote = api.put(f"{FE_USERS}/paul.dupont/roles", {"roles": {"users": "visitor"}})
    assert ms.error_of(demote, 409) == "referent_protected"
    console = api.put(f"/contracts/{ms.FE}/console-users/paul.dupont/roles", {"console_roles": ["guest"]})
    assert ms.error_of(console, 409) == "referent_protected"
    manager = ms.person(app, ms.FE, "pierre.dupont", {"users": "manager"})
    other = ms.api_for(app, manager, portal)
    assert ms.error_of(other.delete(f"{FE_USERS}/paul.dupont"), 409) == "referent_protected"
    assert members(app) == 2


def test_the_last_users_manager_cannot_go(app: Flask, portal: ms.Portal) -> None:
    """A contract whose referent is not a users manager (data from before the floor): its one
    users manager can neither demote nor remove themselves."""
    with app.app_context():
        factories.contract_with_referent()
        db.session.execute(update(Membership).values(role_users="none"))
        db.session.commit()
    manager = ms.person(app, ms.FE, "pierre.dupont", {"users": "manager"})
    api = ms.api_for(app, manager, portal)
    assert (
        ms.error_of(api.put(f"{FE_USERS}/pierre.dupont/roles", {"roles": {"users": "visitor"}}), 409)
        == "last_users_manager"
    )
    assert ms.error_of(api.delete(f"{FE_USERS}/pierre.dupont"), 409) == "last_users_manager"
    ms.person(app, ms.FE, "sophie.dupont", {"users": "manager"})
    assert api.put(f"{FE_USERS}/pierre.dupont/roles", {"roles": {"users": "visitor"}}).status_code == 200


def test_removing_a_user_keeps_a_person_without_contract_disabled(app: Flask, api: ms.Api) -> None:
    ms.person(app, ms.FE, "julie.dupont", console=["guest"])
    assert api.delete(f"{FE_USERS}/Julie.Dupont").status_code == 204
    assert ms.error_of(api.get(f"{FE_USERS}/julie.dupont"), 404) == "user_not_found"
    assert ms.error_of(api.delete(f"{FE_USERS}/julie.dupont"), 404) == "user_not_found"
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.login == "julie.dupont"))
        assert account is not None and account.status == "disabled"


# --- console users and groups -----------------------------------------------------------------------


def test_console_users_tab(app: Flask, api: ms.Api) -> None:
    console = f"/contracts/{ms.FE}/console-users"
    ms.person(app, ms.FE, "pierre.dupont")  # no console role: not on this tab
    added = api.post(console, ms.new_user("julie.dupont", console_roles=["power_user"]))
    assert added.status_code == 201
    user = added.get_json()["user"]
    assert user["console_roles"] == ["power_user"] and user["roles"]["users"] == "none"  # sections at defaults
    assert (
        ms.error_of(
            api.post(
                console, ms.new_user("marc.dupont", roles={"users": "manager"}, console_roles=["guest"]), key="k2"
            ),
            422,
        )
        == "unknown_field"
    )
    assert ms.error_of(api.post(console, ms.new_user("marc.dupont"), key="k3"), 422) == "console_roles_required"
    assert (
        ms.error_of(api.post(console, ms.new_user("marc.dupont", console_roles=[]), key="k4"), 422)
        == "console_roles_required"
    )
    listed = api.get(f"{console}?q=dupont").get_json()
    assert [(u["login"], u["console_roles"]) for u in listed["items"]] == [
        ("julie.dupont", ["power_user"]),
        ("paul.dupont", ["admin"]),
    ]
    assert ms.error_of(api.get(f"{console}/pierre.dupont"), 404) == "user_not_found"
    assert ms.error_of(api.put(f"{console}/pierre.dupont/roles", {"console_roles": ["guest"]}), 404) == "user_not_found"
    assert ms.error_of(api.put(f"{console}/julie.dupont/roles", {"console_roles": []}), 422) == "console_roles_required"
    changed = api.put(f"{console}/julie.dupont/roles", {"console_roles": ["guest", "power_user"]})
    assert changed.get_json()["console_roles"] == ["guest", "power_user"]
    assert api.get(f"{FE_USERS}/julie.dupont").get_json()["console_roles"] == ["guest", "power_user"]


def test_console_groups(app: Flask, api: ms.Api) -> None:
    groups = f"/contracts/{ms.FE}/console-groups"
    assert api.get(groups).get_json() == {"builtin_roles": ["admin", "power_user", "guest"], "items": []}
    assert api.post(groups, {"name": "network-ops"}, key="g1").status_code == 201
    assert ms.error_of(api.post(groups, {"name": "network-ops"}, key="g2"), 409) == "group_exists"
    for i, name in enumerate(("admin", "with space", "x" * 65, "é")):
        assert ms.error_of(api.post(groups, {"name": name}, key=f"bad-{i}"), 422) == "invalid_group_name"
    assert [g["name"] for g in api.get(groups).get_json()["items"]] == ["network-ops"]
    ms.person(app, ms.FE, "julie.dupont", console=["network-ops"])
    ms.person(app, ms.FE, "marc.dupont", console=["guest", "network-ops"])
    assert api.delete(f"{groups}/network-ops").status_code == 204
    assert ms.error_of(api.delete(f"{groups}/network-ops"), 404) == "group_not_found"
    assert api.get(groups).get_json()["items"] == []
    assert api.get(f"{FE_USERS}/julie.dupont").get_json()["console_user"] is False  # its only role went
    assert api.get(f"{FE_USERS}/marc.dupont").get_json()["console_roles"] == ["guest"]
    added = api.post(
        f"/contracts/{ms.FE}/console-users", ms.new_user("anna.dupont", console_roles=["network-ops"]), key="g9"
    )
    assert ms.error_of(added, 422) == "invalid_console_role"


# --- the error shape and its language ------------------------------------------------------------------


def test_errors_speak_the_callers_language(app: Flask, paul: factories.Person, portal: ms.Portal) -> None:
    anonymous = app.test_client()
    fr = anonymous.get("/api/v1/contracts", headers={"Accept-Language": "fr"}).get_json()["error"]["message"]
    en = anonymous.get("/api/v1/contracts", headers={"Accept-Language": "en"}).get_json()["error"]["message"]
    assert fr != en and "Bearer" in en
    api = ms.api_for(app, paul, portal, lang="en")  # the account's language wins over the header
    with app.app_context():
        db.session.execute(update(Account).where(Account.id == paul.account_id).values(language="fr"))
        db.session.commit()
    french = api.post(FE_USERS, ms.new_user("julie.dupont", email="nope")).get_json()["error"]["message"]
    with app.app_context():
        db.session.execute(update(Account).where(Account.id == paul.account_id).values(language="en"))
        db.session.commit()
    english = api.post(FE_USERS, ms.new_user("julie.dupont", email="nope")).get_json()["error"]["message"]
    assert english == "Enter a valid email address."
    assert french == "Saisissez une adresse email valide."
    refused = api.delete(f"{FE_USERS}/paul.dupont").get_json()["error"]["message"]
    assert "referent" in refused


def test_unknown_routes_and_methods_answer_in_the_api_shape(app: Flask, api: ms.Api) -> None:
    assert ms.error_of(api.get("/nothing/here"), 404) == "not_found"
    assert ms.error_of(api.client.get("/api/v1/"), 404) == "not_found"
    wrong = api.client.patch(f"/api/v1{FE_USERS}", headers=api.headers())
    assert ms.error_of(wrong, 405) == "method_not_allowed"
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert app.test_client().get("/no-such-page").content_type.startswith("text/html")  # elsewhere: pages


def test_racing_requests_with_one_key_add_once_and_answer_alike(app: Flask, api: ms.Api) -> None:
    """Six identical POSTs released at once (one test client each): the key row's unique
    index makes the others wait for the first commit, then replay its answer."""
    body = ms.new_user("julie.dupont", console_roles=["guest"])
    headers = api.headers(**{"Idempotency-Key": "same-click"})
    answers = burst(
        app, 6, lambda _i, client, _p: client.post(f"/api/v1{FE_USERS}", json=body, headers=headers), hold_writes=0.2
    )
    assert [a.status for a in answers] == [201] * 6, [a.error or a.text[:200] for a in answers]
    assert all(a.json() == answers[0].json() for a in answers)
    assert sum(1 for a in answers if a.headers.get("Idempotent-Replayed") == "true") == 5
    assert members(app) == 2
    assert [j.payload["recipient"] for j in mail_jobs(app, "access")].count("julie.dupont@example.test") == 1
