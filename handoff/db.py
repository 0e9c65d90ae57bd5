"""Engines, sessions and schema migrations of the handoff database (SQLite or PostgreSQL).

Sessions are created with `expire_on_commit=False`: the objects that
`store` functions return stay readable after the commit, when the console
and the bot build their replies from them.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from .config import load_settings

__all__ = [
    "ALEMBIC_INI",
    "DatabaseNotReadyError",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "dispose_engine",
    "get_engine",
    "get_sessionmaker",
    "head_revision",
    "require_current_schema",
    "session_scope",
    "sqlite_file_path",
    "upgrade_database",
]

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = PACKAGE_DIR / "alembic.ini"
# Own version table, so that the handoff schema can share a PostgreSQL database
# with another Alembic-managed schema.
VERSION_TABLE = "handoff_alembic_version"
UPGRADE_COMMAND = "python -m handoff db upgrade"

# Seconds a SQLite connection waits for another writer before it fails with
# "database is locked". Rasa, the action server and the console write to the
# same file.
SQLITE_BUSY_TIMEOUT_SECONDS = 30

_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker] = {}
_engines_lock = threading.Lock()


class DatabaseNotReadyError(RuntimeError):
    """The handoff database is missing or its schema is not at the latest revision."""


def sqlite_file_path(url: str) -> Optional[Path]:
    """Return the file of a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _set_sqlite_pragmas(dbapi_connection, _connection_record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # SQLite leaves foreign keys unchecked unless each connection enables them.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers (the routing fallback, the console) run while one
        # process writes.
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def get_engine(url: Optional[str] = None) -> Engine:
    """Return the engine for a database URL, created once per URL and process.

    SQLite connections get `PRAGMA foreign_keys=ON`, the WAL journal and a
    busy timeout; the parent directory of a SQLite file is created.

    Args:
        url: SQLAlchemy URL; None uses `load_settings().database_url`.
    """
    if url is None:
        url = load_settings().database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            sqlite_path = sqlite_file_path(url)
            if sqlite_path is not None:
                sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url,
                future=True,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _set_sqlite_pragmas)
        else:
            engine = create_engine(url, future=True, pool_pre_ping=True)
        _engines[url] = engine
        logger.debug("Created engine for %s", engine.url.render_as_string(hide_password=True))
        return engine


def get_sessionmaker(url: Optional[str] = None) -> sessionmaker:
    """Return the session factory of a database URL, created once per URL and process.

    It is the `session_factory` that `routing.Router` expects. Sessions do not
    expire their objects on commit.
    """
    if url is None:
        url = load_settings().database_url
    engine = get_engine(url)
    with _engines_lock:
        factory = _sessionmakers.get(url)
        if factory is None:
            factory = sessionmaker(bind=engine, future=True, expire_on_commit=False)
            _sessionmakers[url] = factory
        return factory


def dispose_engine(url: str) -> None:
    """Close the pooled connections of a cached engine and forget it (tests drop databases)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
        _sessionmakers.pop(url, None)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on error.

    Args:
        url: database URL; None uses the configured one.

    Example:
        with session_scope() as session:
            conversation = store.claim(session, conversation_id, counsellor_id)
    """
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: Optional[str] = None) -> Config:
    """Return the Alembic configuration of the handoff schema for a database URL."""
    if url is None:
        url = load_settings().database_url
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    # migrations/env.py reads the URL from here; it is not written to the
    # ini options, whose interpolation would break on a '%' in a password.
    config.attributes["database_url"] = url
    return config


def upgrade_database(url: Optional[str] = None) -> Optional[str]:
    """Apply every Alembic revision that the database lacks (`upgrade head`).

    Running it on an up-to-date database changes nothing.

    Args:
        url: database URL; None uses the configured one.

    Returns:
        The revision of the database after the upgrade.
    """
    if url is None:
        url = load_settings().database_url
    config = alembic_config(url)
    engine = get_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    revision = current_revision(url)
    logger.info("Handoff database at revision %s", revision)
    return revision


def head_revision() -> str:
    """Return the latest revision of the handoff migrations."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("The handoff migrations contain no revision.")
    return head


def current_revision(url: Optional[str] = None) -> Optional[str]:
    """Return the revision of a database, or None when it was never migrated."""
    engine = get_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def require_current_schema(url: Optional[str] = None) -> Engine:
    """Return the engine of a database whose schema is at the latest revision.

    Raises:
        DatabaseNotReadyError: the SQLite file does not exist, or the schema is
            missing or older than the code. The message names the command to run.
    """
    if url is None:
        url = load_settings().database_url
    shown_url = make_url(url).render_as_string(hide_password=True)
    sqlite_path = sqlite_file_path(url)
    if sqlite_path is not None and not sqlite_path.exists():
        raise DatabaseNotReadyError(f"The handoff database {sqlite_path} does not exist. Run `{UPGRADE_COMMAND}`.")
    revision = current_revision(url)
    if revision != head_revision():
        raise DatabaseNotReadyError(
            f"The handoff database {shown_url} is at revision {revision or 'none'}, "
            f"expected {head_revision()}. Run `{UPGRADE_COMMAND}`."
        )
    return get_engine(url)
