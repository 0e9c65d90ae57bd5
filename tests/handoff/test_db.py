"""Tests of handoff.db: Alembic migrations, schema check and SQLite connection settings."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from handoff.db import (
    VERSION_TABLE,
    DatabaseNotReadyError,
    current_revision,
    dispose_engine,
    get_engine,
    head_revision,
    require_current_schema,
    session_scope,
    upgrade_database,
)
from handoff.models import Base, Counsellor

TABLES = {
    "counsellors",
    "counsellor_sessions",
    "canned_replies",
    "handoff_conversations",
    "handoff_messages",
    "followups",
    VERSION_TABLE,
}


@pytest.fixture
def empty_sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    yield url
    dispose_engine(url)


def test_upgrade_empty_database(empty_sqlite_url):
    revision = upgrade_database(empty_sqlite_url)
    assert revision == head_revision()
    assert set(inspect(get_engine(empty_sqlite_url)).get_table_names()) == TABLES


def test_upgrade_idempotent_keeps_rows(empty_sqlite_url):
    upgrade_database(empty_sqlite_url)
    with session_scope(empty_sqlite_url) as session:
        session.add(Counsellor(login="marie", display_name="Marie", password_hash="x", role="admin"))
    revision = upgrade_database(empty_sqlite_url)
    with session_scope(empty_sqlite_url) as session:
        logins = list(session.execute(select(Counsellor.login)).scalars())
    assert revision == head_revision()
    assert logins == ["marie"]


def test_upgrade_postgresql_idempotent(postgres_url):
    assert upgrade_database(postgres_url) == head_revision()
    assert set(inspect(get_engine(postgres_url)).get_table_names()) == TABLES


def test_schema_matches_models(database_url):
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_open_sender_index_partial(database_url):
    indexes = {index["name"]: index for index in inspect(get_engine(database_url)).get_indexes("handoff_conversations")}
    assert indexes["uq_handoff_conversations_open_sender"]["unique"]


def test_require_schema_missing_file(tmp_path):
    with pytest.raises(DatabaseNotReadyError):
        require_current_schema(f"sqlite:///{tmp_path / 'absent.sqlite3'}")


def test_require_schema_not_migrated(empty_sqlite_url):
    get_engine(empty_sqlite_url).connect().close()
    with pytest.raises(DatabaseNotReadyError):
        require_current_schema(empty_sqlite_url)


def test_current_revision_none_before_upgrade(empty_sqlite_url):
    assert current_revision(empty_sqlite_url) is None


def test_sqlite_foreign_keys_on(sqlite_url):
    with get_engine(sqlite_url).connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_sqlite_wal_journal(sqlite_url):
    with get_engine(sqlite_url).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_session_scope_rolls_back(sqlite_url):
    with pytest.raises(RuntimeError):
        with session_scope(sqlite_url) as session:
            session.add(Counsellor(login="paul", display_name="Paul", password_hash="x", role="counsellor"))
            session.flush()
            raise RuntimeError("stop")
    with session_scope(sqlite_url) as session:
        assert session.execute(select(func.count()).select_from(Counsellor)).scalar_one() == 0
