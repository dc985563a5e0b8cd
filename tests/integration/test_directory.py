"""Directory rules of SPEC §2: identities, referents, roles, console groups."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.directory import service
from idp.directory.members import ReferentProtected
from idp.directory.models import Account
from idp.directory.models import Membership
from idp.directory.roles import SECTIONS
from idp.directory.roles import Level
from idp.errors import Conflict
from idp.errors import ValidationError
from idp.extensions import db
from idp.security.canonical import COMPANY_ACCOUNT_RE
from tests import factories


@pytest.fixture
def ctx(app: Flask):  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.contract_with_referent()
        yield
        db.session.rollback()


def test_referent_gets_the_referent_roles(ctx) -> None:  # type: ignore[no-untyped-def]
    m = db.session.scalars(select(Membership)).one()
    assert m.section_roles() == {name: s.referent for name, s in SECTIONS.items()}
    assert m.console_role_names == ["admin"] and m.is_console_user


def test_new_member_gets_the_defaults(ctx) -> None:  # type: ignore[no-untyped-def]
    result = service.add_member("OCB0000124", factories.identity("julie.dupont"))
    assert result.membership.section_roles() == {name: s.default for name, s in SECTIONS.items()}
    assert not result.membership.is_console_user


def test_referent_can_never_be_removed(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReferentProtected, match="referent"):
        service.remove_member("OCB0000124", "paul.dupont")
    service.add_member("OCB0000124", factories.identity("julie.dupont"))
    assert service.remove_member("OCB0000124", "julie.dupont") is True  # no contract left: disabled
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 1
    julie = db.session.scalar(select(Account).where(Account.login == "julie.dupont"))
    assert julie is not None and julie.status == "disabled" and julie.disabled_at is not None


def test_email_is_unique_whatever_its_case(ctx) -> None:  # type: ignore[no-untyped-def]
    result = service.add_member("OCB0000124", factories.identity("julie.dupont", email="Julie@Example.test"))
    service.create_contract(contract_id="OCB0000412", name="SI_qualif", offer="flexible-computing-advanced",
                            company_name="ACME", referent=factories.identity("paul.dupont"))
    again = service.add_member("OCB0000412", factories.identity("julie.other", email="JULIE@example.TEST"))
    # The same identity, invited (SPEC §2): no second account, no membership before acceptance.
    assert result.membership is not None and again.membership is None and again.invitation is not None
    assert again.invitation.account_id == result.membership.account_id and not again.account_created
    assert db.session.scalar(select(func.count()).select_from(Account)) == 2


def test_login_is_unique_whatever_its_case(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict):
        service.add_member("OCB0000124", factories.identity("PAUL.DUPONT", email="other@example.test"))


@pytest.mark.parametrize("login", ["short", "x" * 65, "jean dupont", "élodie.dupont", "paul+1@x", "a/b/c/d/e"])
def test_login_rules(ctx, login: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        service.add_member("OCB0000124", factories.identity(login, email="x@example.test"))


def test_custom_console_groups_are_per_contract(ctx) -> None:  # type: ignore[no-untyped-def]
    service.add_console_group("OCB0000124", "network-ops")
    result = service.add_member("OCB0000124", factories.identity("julie.dupont"), console_roles=["network-ops", "guest"])
    assert result.membership.console_role_names == ["guest", "network-ops"]
    service.create_contract(contract_id="OCB0000412", name="SI_prod", offer="flexible-engine",
                            company_name="ACME", referent=factories.identity("paul.dupont"))
    with pytest.raises(ValidationError, match="unknown console role"):
        service.add_member("OCB0000412", factories.identity("julie.other"), console_roles=["network-ops"])
    with pytest.raises(ValidationError):
        service.add_console_group("OCB0000124", "admin")
    with pytest.raises(Conflict):
        service.add_console_group("OCB0000124", "network-ops")


def test_company_accounts_of_six_or_seven_digits(ctx) -> None:  # type: ignore[no-untyped-def]
    """The guides' examples: OCB000023 (six digits) and OCB0000124 (seven)."""
    contract, _ = service.create_contract(contract_id="OCB000023", name="SL_Test", offer="flexible-engine",
                                          company_name="ACME", referent=factories.identity("paul.dupont"))
    assert contract.id == "OCB000023"
    for bad in ("OCB00023", "OCB00000124", "ocb000023", "OCB0000１24", "XCB000023"):
        with pytest.raises(ValidationError, match="6 or 7 digits"):
            service.create_contract(contract_id=bad, name="SL_Test", offer="flexible-engine",
                                    company_name="ACME", referent=factories.identity("paul.dupont"))
    assert COMPANY_ACCOUNT_RE.fullmatch("OCB000023") and COMPANY_ACCOUNT_RE.fullmatch("OCB0000124")
    assert not COMPANY_ACCOUNT_RE.fullmatch("OCB00023") and not COMPANY_ACCOUNT_RE.fullmatch("OCB00000124")


def test_database_refuses_a_role_outside_the_table(ctx) -> None:  # type: ignore[no-untyped-def]
    m = db.session.scalars(select(Membership)).one()
    m.role_dashboard = Level.MANAGER.value  # dashboard offers none/visitor only
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_database_requires_a_phone(ctx) -> None:  # type: ignore[no-untyped-def]
    account = db.session.scalars(select(Account)).one()
    account.landline = None
    account.mobile = None
    with pytest.raises(IntegrityError):
        db.session.flush()
