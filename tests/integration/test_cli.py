"""The `idp` command line: happy paths, idempotence, and every error path (exit 2, no change)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from idp.cli import cli
from idp.directory.models import Account
from idp.directory.models import Contract
from idp.directory.models import Membership
from idp.extensions import db
from idp.security.audit import AuditEvent
from tests.helpers import mail_jobs

CONTRACT = [
    "contracts", "create", "--id", "OCB0000124", "--name", "SL_Prod", "--offer", "flexible-engine",
    "--company", "ORANGE CLOUD FOR BUSINESS", "--referent-login", "paul.dupont",
    "--referent-email", "paul.dupont@orangecloud.com", "--referent-first-name", "Paul",
    "--referent-last-name", "Dupont", "--referent-phone", "0101010101",
]
USER = ["users", "add", "--contract", "OCB0000124", "--login", "julie.dupont", "--email",
        "julie.dupont@orangecloud.com", "--first-name", "Julie", "--last-name", "Dupont", "--landline", "0101010101"]


@pytest.fixture
def idp(runner: CliRunner, config_file: Path):  # type: ignore[no-untyped-def]
    def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--config", str(config_file), *args], input=input)

    return run


def _snapshot(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        counts = tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Account, Contract, Membership, AuditEvent)
        )
        hashes = tuple(db.session.scalars(select(Account.password_hash).order_by(Account.id)))
        db.session.remove()
        return counts + (hash(hashes),)


def test_create_contract_add_users_and_list(idp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    result = idp(*CONTRACT, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"id": "OCB0000124", "created": True, "referent": "paul.dupont"}
    again = idp(*CONTRACT)
    assert again.exit_code == 0 and "already exists" in again.output
    added = idp(*USER, "--role", "invoices=visitor", "--role", "services=manager", "--console-role", "guest")
    assert added.exit_code == 0, added.output
    listed = json.loads(idp("users", "list", "--contract", "OCB0000124", "--json").output)
    by_login = {u["login"]: u for u in listed}
    assert by_login["paul.dupont"]["referent"] is True
    assert by_login["paul.dupont"]["roles"]["users"] == "manager"
    assert by_login["paul.dupont"]["console_roles"] == ["admin"]
    julie = by_login["julie.dupont"]
    assert julie["roles"] == {"contract": "manager", "dashboard": "visitor", "orders": "none", "subscriptions": "none",
                              "services": "manager", "invoices": "visitor", "support": "none", "users": "none"}
    assert julie["console_roles"] == ["guest"] and julie["password_set"] is False
    contracts = json.loads(idp("contracts", "list", "--json").output)
    assert contracts[0]["id"] == "OCB0000124" and contracts[0]["members"] == 2


def test_same_email_invites_the_identity_without_naming_its_login(idp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    idp(*CONTRACT)
    second = [a.replace("OCB0000124", "OCB0000412") for a in CONTRACT]
    second[second.index("SL_Prod")] = "SI_qualif"
    assert idp(*second).exit_code == 0
    result = idp(*USER, "--json")
    other = [a.replace("OCB0000124", "OCB0000412").replace("julie.dupont", "julie.other") for a in USER]
    other[other.index("--email") + 1] = "JULIE.DUPONT@orangecloud.com"
    reused = idp(*other, "--json")
    assert reused.exit_code == 0, reused.output
    data = json.loads(reused.stdout)
    assert {k: v for k, v in data.items() if k != "expires_at"} == {
        "email": "JULIE.DUPONT@orangecloud.com", "contract": "OCB0000412", "status": "invited",
        "account_created": False}
    assert "julie.dupont" not in reused.output  # the address typed, never the login that owns it
    assert json.loads(result.output)["account_created"] is True
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 3  # paul twice, julie once
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 2  # paul and julie


def test_set_password_from_stdin_applies_the_policy(idp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    idp(*CONTRACT)
    ok = idp("users", "set-password", "paul.dupont", "--password-stdin", input="Strong#Pass-2026\n")
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        assert db.session.scalar(select(Account.password_hash)).startswith("$argon2id$")


def test_init_is_idempotent(idp) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        result = idp("init", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["database"] == "ready"


def test_demo_loads_once_and_registers_the_two_applications(idp, app: Flask, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "sso_clients.env"
    first = json.loads(idp("demo", "--json", "--clients-env", str(env)).output)
    assert first["loaded"] is True and first["login"] == "paul.dupont"
    secrets = env.read_text()
    assert "PORTAL_CLIENT_SECRET=" in secrets and "CONSOLE_CLIENT_SECRET=" in secrets
    assert oct(env.stat().st_mode & 0o777) == "0o600"
    assert json.loads(idp("demo", "--json", "--clients-env", str(env)).output)["loaded"] is False
    assert env.read_text() == secrets  # nothing re-issued
    with app.app_context():
        assert {c.id for c in db.session.scalars(select(Contract))} == {"OCB0000124", "OCB0000412"}
        paul = db.session.scalar(select(Account).where(Account.login == "paul.dupont"))
        assert {m.contract_id for m in paul.memberships} == {"OCB0000124", "OCB0000412"}


ERRORS = [
    (["contracts", "create", "--id", "OCB124"], "Missing option"),
    ([*CONTRACT[:3], "ocb0000124", *CONTRACT[4:]], "OCB followed by 6 or 7 digits"),
    ([*CONTRACT[:7], "open-stack", *CONTRACT[8:]], "offer must be one of"),
    ([*CONTRACT[:11], "paul", *CONTRACT[12:]], "login must be 8 to 64"),
    ([*CONTRACT[:11], "paul.düpont", *CONTRACT[12:]], "login must be 8 to 64"),
    ([*CONTRACT[:13], "not-an-email", *CONTRACT[14:]], "invalid email"),
    (CONTRACT[:-2], "landline or a mobile"),
    ([*USER[:3], "OCB0000999", *USER[4:]], "no contract OCB0000999"),
    ([*USER, "--role", "invoices"], "SECTION=LEVEL"),
    ([*USER, "--role", "billing=manager"], "unknown section"),
    ([*USER, "--role", "dashboard=manager"], "takes one of"),
    ([*USER, "--console-role", "root"], "unknown console role"),
    ([*USER[:5], "paul.dupont", "--email", "other@orangecloud.com", *USER[8:]], "already taken"),
    ([*USER[:5], "paul.dupont", "--email", "PAUL.DUPONT@orangecloud.com", *USER[8:]], "already a member"),
    (["users", "list", "--contract", "OCB0000999"], "no contract"),
    (["users", "set-password", "nobody.here", "--password-stdin"], "no account"),
    (["users", "set-password", "paul.dupont", "--password-stdin"], "password refused"),
    (["contracts", "frobnicate"], "No such command"),
    (["users", "set-roles", "paul.dupont", "--contract", "OCB0000124", "--role", "users=visitor"],
     "the referent keeps users=manager"),
    (["users", "set-roles", "paul.dupont", "--contract", "OCB0000124", "--no-console-roles"],
     "the referent keeps the console role admin"),
    (["users", "set-roles", "nobody.here", "--contract", "OCB0000124", "--role", "users=visitor"], "not a member"),
    (["users", "set-roles", "paul.dupont", "--contract", "OCB0000124", "--role", "users"], "SECTION=LEVEL"),
    (["users", "set-roles", "paul.dupont", "--contract", "OCB0000124", "--console-role", "guest",
      "--no-console-roles"], "exclude each other"),
    (["users", "set-roles", "paul.dupont", "--contract", "OCB0000999", "--role", "users=manager"], "no contract"),
    (["users", "remove", "paul.dupont", "--contract", "OCB0000124"], "referent"),
    (["users", "purge-disabled", "--older-than", "-1"], "--older-than"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_errors_exit_2_with_one_line_and_change_nothing(idp, app: Flask, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    assert idp(*CONTRACT).exit_code == 0
    before = _snapshot(app)
    stdin = "password\n" if "set-password" in args else None
    result = idp(*args, input=stdin)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("idp: error:") and message in lines[0], result.stderr
    assert _snapshot(app) == before


def test_existing_contract_with_other_data_is_a_conflict(idp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    idp(*CONTRACT)
    before = _snapshot(app)
    changed = [*CONTRACT[:5], "Other_Name", *CONTRACT[6:]]
    result = idp(*changed)
    assert result.exit_code == 2 and "already exists with other details" in result.stderr
    assert _snapshot(app) == before


def test_bad_settings_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nenvironment = 'staging'\n")
    result = runner.invoke(cli, ["--config", str(path), "contracts", "list"])
    assert result.exit_code == 2 and result.stderr.startswith("idp: error: settings:")


def test_demo_is_refused_in_production(runner: CliRunner, tmp_path: Path, migrated: str) -> None:
    path = tmp_path / "prod.toml"
    path.write_text(
        f'[server]\nenvironment = "production"\nsecret_key = "{secrets.token_urlsafe(48)}"\n'
        f'issuer = "https://idp.example.com"\nkeys_dir = "{tmp_path}"\n[database]\nurl = "{migrated}"\n'
        '[mail]\ntransport = "smtp"\n'
    )
    result = runner.invoke(cli, ["--config", str(path), "demo"])
    assert result.exit_code == 2 and "refused in production" in result.stderr


@pytest.fixture
def mail_config(config_file: Path, smtp) -> Path:  # type: ignore[no-untyped-def]
    """The test config, with mail going to the SMTP sink."""
    text = config_file.read_text()
    text = text.replace("smtp_port = 1", f"smtp_port = {smtp.port}")
    config_file.write_text(text)
    return config_file


def test_users_add_sends_the_access_email_and_outbox_lists_it(runner: CliRunner, mail_config: Path, smtp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    run = lambda *a: runner.invoke(cli, ["--config", str(mail_config), *a])  # noqa: E731
    assert run(*CONTRACT).exit_code == 0
    assert run(*USER).exit_code == 0
    assert {m["To"] for m in smtp.messages} == {"paul.dupont@orangecloud.com", "julie.dupont@orangecloud.com"}
    listed = json.loads(run("outbox", "list", "--json").output)
    assert all(m["sent_at"] for m in listed) and "body_text" not in listed[0]
    # The referent of a Flexible Engine contract is a console admin: the console access email too.
    assert sorted(m["template"] for m in listed) == ["access", "access", "console-access"]
    assert [m["To"] for m in smtp.messages if "console" in m["Subject"]] == ["paul.dupont@orangecloud.com"]


def test_outbox_retry_sends_what_waited(runner: CliRunner, mail_config: Path, smtp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    smtp.stop()
    run = lambda *a: runner.invoke(cli, ["--config", str(mail_config), *a])  # noqa: E731
    assert run(*CONTRACT).exit_code == 0  # the change is kept though the mail server is down
    pending = json.loads(run("outbox", "list", "--pending", "--json").output)
    assert len(pending) == 2 and all(p["last_error"] for p in pending)  # access, console access
    smtp.start()
    result = run("outbox", "retry", "--json")
    assert json.loads(result.output) == {"sent": 2}
    assert len(smtp.messages) == 2
    assert run("outbox", "retry", "--id", "999").exit_code == 2


def test_operator_password_ends_every_session_and_tells_only_of_a_change(
    runner: CliRunner, mail_config: Path, smtp, app: Flask  # type: ignore[no-untyped-def]
) -> None:
    """`idp users set-password` applies a new password like the other paths (security.new_password):
    every session of the account ends; a replaced password is confirmed by email, a first one is not."""
    from tests.conftest import AuthActions

    run = lambda *a, **kw: runner.invoke(cli, ["--config", str(mail_config), *a], **kw)  # noqa: E731
    assert run(*CONTRACT).exit_code == 0
    assert run("users", "set-password", "paul.dupont", "--password-stdin", input="Strong#Pass-2026\n").exit_code == 0
    assert [m["Subject"] for m in smtp.to("paul.dupont@orangecloud.com")] == [
        "Votre accès à l'Espace Client Cloud", "Votre accès à la console Flexible Engine"]
    browser = AuthActions(app.test_client())
    assert browser.login("paul.dupont", "Strong#Pass-2026").status_code == 302
    assert browser.client.get("/").status_code == 200
    assert run("users", "set-password", "paul.dupont", "--password-stdin", input="Other#Pass-2027x\n").exit_code == 0
    assert browser.client.get("/").status_code == 302  # the session opened with the old password is over
    assert len(smtp.to("paul.dupont@orangecloud.com")) == 3  # the change is confirmed to the person


FCA_CONTRACT = [a.replace("OCB0000124", "OCB000023").replace("flexible-engine", "flexible-computing-advanced")
                for a in CONTRACT]


def test_roles_follow_the_offer_then_removal_disables_and_purge_deletes(idp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    """A Flexible Computing Advanced contract (a six-digit company account, as in the guides):
    its five sections, no console roles; set-roles changes them; the last contract removed
    disables the account, which purge-disabled deletes."""
    assert idp(*FCA_CONTRACT).exit_code == 0
    user = [a.replace("OCB0000124", "OCB000023") for a in USER]
    assert idp(*user, "--role", "invoices=manager").exit_code == 0
    listed = {u["login"]: u for u in json.loads(idp("users", "list", "--contract", "OCB000023", "--json").output)}
    assert sorted(listed["julie.dupont"]["roles"]) == ["dashboard", "invoices", "services", "support", "users"]
    assert listed["paul.dupont"]["console_roles"] == []
    for args, message in ((["--role", "orders=visitor"], "not part of"),
                          (["--console-role", "guest"], "no console roles")):
        refused = idp("users", "set-roles", "julie.dupont", "--contract", "OCB000023", *args)
        assert refused.exit_code == 2 and message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    changed = idp("users", "set-roles", "julie.dupont", "--contract", "OCB000023", "--role", "users=manager", "--json")
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output) == {
        "login": "julie.dupont", "contract": "OCB000023", "changed": True, "console_roles": [],
        "roles": {"dashboard": "visitor", "services": "none", "invoices": "manager", "support": "none",
                  "users": "manager"}}
    again = idp("users", "set-roles", "julie.dupont", "--contract", "OCB000023", "--role", "users=manager")
    assert again.exit_code == 0 and again.output.strip().endswith("(unchanged)")
    removed = idp("users", "remove", "julie.dupont", "--contract", "OCB000023")
    assert removed.exit_code == 0 and "account disabled: no contract left" in removed.output
    with app.app_context():
        julie = db.session.scalar(select(Account).where(Account.login == "julie.dupont"))
        assert julie is not None and julie.status == "disabled"
    assert json.loads(idp("users", "purge-disabled", "--older-than", "30", "--json").output) == {"purged": 0}
    assert idp("users", "purge-disabled", "--older-than", "0").output.strip() == "1 disabled account(s) deleted"
    with app.app_context():
        assert db.session.scalar(select(Account).where(Account.login == "julie.dupont")) is None


def test_set_roles_gives_and_takes_console_access(idp, app: Flask) -> None:  # type: ignore[no-untyped-def]
    assert idp(*CONTRACT).exit_code == 0 and idp(*USER).exit_code == 0
    given = idp("users", "set-roles", "julie.dupont", "--contract", "OCB0000124", "--console-role", "guest",
                "--console-role", "power_user", "--role", "users=visitor")
    assert given.exit_code == 0, given.output
    assert "users=visitor" in given.output and "console roles guest, power_user" in given.output
    taken = idp("users", "set-console-roles", "julie.dupont", "--contract", "OCB0000124", "--json")
    assert json.loads(taken.output)["console_roles"] == [] and json.loads(taken.output)["changed"] is True
    templates = [j.payload["template"] for j in mail_jobs(app)
                 if j.payload.get("recipient") == "julie.dupont@orangecloud.com"]
    assert templates == ["access", "console-access", "roles-changed", "roles-changed"]
