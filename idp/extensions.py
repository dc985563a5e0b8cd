"""Flask extensions, created unbound and attached in :func:`idp.create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any
from typing import ClassVar
from typing import cast

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import CursorResult
from sqlalchemy import Executable
from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model maps a Table (none maps a join or a subquery), so Core statements built
        # on ``Model.__table__`` (insert, update, delete) type-check.
        __table__: ClassVar[Table]


# Objects stay loaded after a commit: a request commits several times (a code consumed,
# tokens saved), and reloading every row it already holds doubled the SQL of a flow.
# Sessions are per request, so nothing lives long enough to go stale.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
babel = Babel()
csrf = CSRFProtect()

# The models' base class. At runtime it is ``db.Model``, the class Flask-SQLAlchemy builds from
# ``Base`` (plus its binds, table naming and ``query``); a type checker cannot see through that
# runtime construction (``db.Model`` is not a valid base class for it), so it is told ``Base``,
# whose ``Mapped[...]`` columns and constructor are what the models rely on.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def rowcount(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session; the number of rows it matched.

    ``Session.execute`` is typed as returning a plain ``Result`` whatever it runs; for an
    UPDATE or a DELETE it is a ``CursorResult``, which carries the count.
    """
    return cast("CursorResult[Any]", db.session.execute(statement)).rowcount
