"""The access-key limit as a service rule (the HTTP and race tests are in test_aksk.py and
test_races.py)."""

from __future__ import annotations

import pytest
from flask import Flask

from idp import create_app
from idp.directory import console_users
from idp.extensions import db
from idp.iam import access_keys
from idp.settings import Settings
from tests import factories

COMPANY = "OCB0000124"


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
