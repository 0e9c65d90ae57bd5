"""Tests of handoff.db: Alembic migrations, schema check and SQLite connection settings."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from handoff.db import (
    VERSION_TABLE,
    DatabaseNotReadyError,
    alembic_config,
    current_revision,
    dispose_engine,
    get_engine,
    head_revision,
    require_current_schema,
    session_scope,
    upgrade_database,
)
from handoff.models import Base, Counsellor
from tests.handoff.conftest import new_postgres_database

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


@pytest.fixture(params=["sqlite", "postgres"])
def scratch_database_url(request, tmp_path) -> Iterator[str]:
    """An empty database of this test only, that it may migrate up and down: a SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        yield url
        dispose_engine(url)
        return
    with new_postgres_database("seconde_chance_test_migration") as url:
        yield url


def migrate(url: str, direction: str, revision: str) -> None:
    """Run `alembic upgrade|downgrade <revision>` on a database, as upgrade_database does."""
    config = alembic_config(url)
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


def messages_table(url: str) -> dict[str, Any]:
    """Describe handoff_messages: columns, keys, checks and indexes."""
    inspector = inspect(get_engine(url))
    return {
        "columns": [(column["name"], str(column["type"]), column["nullable"])
                    for column in inspector.get_columns("handoff_messages")],
        "primary_key": inspector.get_pk_constraint("handoff_messages")["constrained_columns"],
        "foreign_keys": sorted(
            (key["name"], tuple(key["constrained_columns"]), key["referred_table"], key["options"].get("ondelete"))
            for key in inspector.get_foreign_keys("handoff_messages")
        ),
        "checks": sorted(check["name"] for check in inspector.get_check_constraints("handoff_messages")),
        "indexes": sorted((index["name"], tuple(index["column_names"]), bool(index["unique"]))
                          for index in inspector.get_indexes("handoff_messages")),
    }


def test_delivery_failure_columns_up_and_down(scratch_database_url):
    url = scratch_database_url
    migrate(url, "upgrade", "0001")
    before = messages_table(url)
    with get_engine(url).begin() as connection:
        connection.execute(text(
            "INSERT INTO handoff_conversations (id, channel, sender_id, pseudonym, status, urgent, reason, "
            "queued_at, handed_back) VALUES ('c1', 'telegram', '42', 'Jeune-ABC123', 'active', false, "
            "'user_request', CURRENT_TIMESTAMP, false)"
        ))
        connection.execute(text(
            "INSERT INTO handoff_messages (conversation_id, author, text, created_at) "
            "VALUES ('c1', 'counsellor', 'Tu es là ?', CURRENT_TIMESTAMP)"
        ))

    migrate(url, "upgrade", "0002")
    columns = {column["name"]: column for column in inspect(get_engine(url)).get_columns("handoff_messages")}
    assert columns["delivery_error"]["nullable"]
    assert columns["refused_at"]["nullable"]
    with get_engine(url).begin() as connection:
        assert connection.execute(text("SELECT delivery_error, refused_at FROM handoff_messages")).one() == (None, None)
        connection.execute(text("UPDATE handoff_messages SET delivery_error = 'Bloqué.', refused_at = CURRENT_TIMESTAMP"))

    migrate(url, "downgrade", "0001")
    assert current_revision(url) == "0001"
    assert messages_table(url) == before
    with get_engine(url).connect() as connection:
        assert connection.execute(text("SELECT text FROM handoff_messages")).scalar_one() == "Tu es là ?"

    assert upgrade_database(url) == head_revision()


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
