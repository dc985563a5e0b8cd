"""Flask extensions, created unbound and attached in :func:`idp.create_app`."""

from __future__ import annotations

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


# Objects stay loaded after a commit: a request commits several times (a code consumed,
# tokens saved), and reloading every row it already holds doubled the SQL of a flow.
# Sessions are per request, so nothing lives long enough to go stale.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
babel = Babel()
csrf = CSRFProtect()
