"""Migrations run up from an empty database, down again, and match the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from idp import create_app
from idp import database
from idp.extensions import db
from idp.models import metadata
from tests.conftest import fresh_database
from tests.conftest import make_settings


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path, prefix="m") as url:
        yield url


def test_upgrade_from_empty_then_downgrade(empty_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(empty_url, tmp_path))
    with app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
        assert not database.is_current()
        database.upgrade()
        assert database.is_current()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert set(metadata.tables) <= tables
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        database.upgrade()  # idempotent
        database.downgrade("base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_database_is_set_up_for_concurrent_processes(migrated: str, app) -> None:  # type: ignore[no-untyped-def]
    """SQLite: WAL (readers beside one writer), foreign keys, a busy timeout; PostgreSQL: psycopg 3."""
    with app.app_context(), db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        else:
            assert db.engine.dialect.driver == "psycopg"
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
