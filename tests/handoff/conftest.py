"""Fixtures of the handoff tests: migrated SQLite files, a real PostgreSQL database, a real Redis.

The PostgreSQL database `seconde_chance_test_handoff_<random>` is created on
the server of HANDOFF_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), migrated once, emptied after
each test and dropped at the end of the session. Redis keys get a random
prefix and are deleted after each test.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import AsyncIterator, Callable, Iterator

import pytest
from argon2 import PasswordHasher
from redis.asyncio import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from handoff.db import dispose_engine, get_engine, get_sessionmaker, upgrade_database
from handoff.models import Base, Counsellor

POSTGRES_ADMIN_URL = os.environ.get(
    "HANDOFF_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Password of every account made by `make_counsellor`.
TEST_PASSWORD = "mot-de-passe-de-test"


def utc(*args: int) -> datetime:
    """Return an aware UTC datetime, e.g. utc(2026, 12, 7, 9, 30)."""
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def sqlite_url(tmp_path) -> Iterator[str]:
    """URL of a migrated SQLite file in the test's temporary directory."""
    url = f"sqlite:///{tmp_path / 'handoff.sqlite3'}"
    upgrade_database(url)
    yield url
    dispose_engine(url)


@contextmanager
def new_postgres_database(prefix: str) -> Iterator[str]:
    """Create an empty PostgreSQL database named `prefix` plus a random suffix, yield its URL, then drop it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """URL of a PostgreSQL database created and migrated for this test session, then dropped."""
    with new_postgres_database("seconde_chance_test_handoff") as url:
        upgrade_database(url)
        yield url


@pytest.fixture
def postgres_url(postgres_database_url) -> Iterator[str]:
    """URL of the session's PostgreSQL database, emptied after the test."""
    yield postgres_database_url
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with get_engine(postgres_database_url).begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str:
    """A migrated database: each test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def session(database_url) -> Iterator[Session]:
    """A session on `database_url`; the test commits when it needs to."""
    with get_sessionmaker(database_url)() as db_session:
        yield db_session


@pytest.fixture(scope="session")
def test_password_hash() -> str:
    """argon2 hash of TEST_PASSWORD, computed once because hashing is slow on purpose."""
    return PasswordHasher().hash(TEST_PASSWORD)


@pytest.fixture
def make_counsellor(database_url, test_password_hash) -> Callable[..., int]:
    """Create a committed counsellor account and return its id."""

    def make(display_name: str = "Conseiller", login: str | None = None, role: str = "counsellor") -> int:
        with get_sessionmaker(database_url)() as db_session:
            counsellor = Counsellor(
                login=login or f"c{uuid.uuid4().hex[:10]}",
                display_name=display_name,
                password_hash=test_password_hash,
                role=role,
                active=True,
                failed_logins=0,
            )
            db_session.add(counsellor)
            db_session.commit()
            return counsellor.id

    return make


@pytest.fixture
def key_prefix() -> str:
    """A Redis key prefix of this test only."""
    return f"seconde_chance_test_{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_client(redis_url, key_prefix) -> AsyncIterator[Redis]:
    """A client of the real Redis; the keys under `key_prefix` are deleted afterwards."""
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{key_prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.close()
