"""Engines and sessions for the knowledge database (SQLite or PostgreSQL)."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from .config import load_settings
from .models import Base, ImportRun

__all__ = [
    "DATA_TABLES",
    "DatabaseNotReadyError",
    "create_schema",
    "get_engine",
    "last_successful_run",
    "outdated_tables",
    "rebuild_outdated_tables",
    "require_imported_database",
    "session_scope",
]

logger = logging.getLogger(__name__)

IMPORT_HINT = "Run `python -m knowledge import` first."

# Tables whose whole content comes from the import. `import_runs` is not one:
# it keeps the history of the runs.
DATA_TABLES = ("departements", "communes", "postal_codes", "commune_aliases", "places", "trainings")

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class DatabaseNotReadyError(RuntimeError):
    """The knowledge database is missing or contains no successful import."""


def sqlite_file_path(url: str) -> Optional[Path]:
    """Return the file of a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def get_engine(url: Optional[str] = None, *, create_directories: bool = True) -> Engine:
    """Return the engine for a database URL, created once per URL and process.

    Args:
        url: SQLAlchemy URL; None uses `load_settings().database_url`.
        create_directories: create the parent directory of a SQLite file (the
            default `var/` directory), so that SQLite can create the file.
    """
    if url is None:
        url = load_settings().database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        sqlite_path = sqlite_file_path(url)
        if sqlite_path is not None and create_directories:
            sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, pool_pre_ping=sqlite_path is None)
        _engines[url] = engine
        logger.debug("Created engine for %s", engine.url.render_as_string(hide_password=True))
        return engine


def dispose_engine(url: str) -> None:
    """Close the pooled connections of a cached engine and forget it (tests drop databases)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on error.

    Args:
        url: database URL; None uses the configured one.

    Example:
        with session_scope() as session:
            index = LocationIndex.load(session)
    """
    session = Session(get_engine(url), future=True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def outdated_tables(engine: Engine) -> list[str]:
    """Return the data tables whose columns differ from the models (an older importer made them)."""
    inspector = inspect(engine)
    outdated = []
    for name in DATA_TABLES:
        if not inspector.has_table(name):
            continue
        existing = {column["name"] for column in inspector.get_columns(name)}
        expected = {column.name for column in Base.metadata.tables[name].columns}
        if existing != expected:
            outdated.append(name)
    return outdated


def create_schema(engine: Engine) -> None:
    """Create the missing tables and indexes (existing ones are left as they are).

    Tables made by an older version of the importer are left too: see
    `rebuild_outdated_tables`.
    """
    Base.metadata.create_all(engine)


def rebuild_outdated_tables(engine: Engine) -> list[str]:
    """Drop the data tables made by an older version of the importer and create them again, empty.

    Their rows are lost, but this version could not read them anyway. The
    importer calls this once every source file has been read, right before it
    refills every data table. `import_runs` is never dropped.

    Returns:
        The names of the tables that were dropped and created again.
    """
    outdated = outdated_tables(engine)
    if outdated:
        logger.warning("Rebuilding the data tables of an older importer version: %s", ", ".join(outdated))
        tables = [Base.metadata.tables[name] for name in outdated]
        Base.metadata.drop_all(engine, tables=tables)
        Base.metadata.create_all(engine, tables=tables)
    return outdated


def last_successful_run(session: Session) -> Optional[ImportRun]:
    """Return the latest import run that succeeded, or None."""
    statement = (
        select(ImportRun)
        .where(ImportRun.status == "succeeded")
        .order_by(ImportRun.id.desc())
        .limit(1)
    )
    return session.execute(statement).scalars().first()


def require_imported_database(url: Optional[str] = None) -> Engine:
    """Return the engine of a database that contains a successful import.

    Raises:
        DatabaseNotReadyError: the SQLite file does not exist, the tables are
            missing or were made by an older version of the importer, or no import
            has succeeded yet. The message names the import command to run.
    """
    if url is None:
        url = load_settings().database_url
    sqlite_path = sqlite_file_path(url)
    if sqlite_path is not None and not sqlite_path.exists():
        raise DatabaseNotReadyError(f"The knowledge database {sqlite_path} does not exist. {IMPORT_HINT}")
    engine = get_engine(url)
    if not inspect(engine).has_table(ImportRun.__tablename__):
        raise DatabaseNotReadyError(
            f"The knowledge database {engine.url.render_as_string(hide_password=True)} has no tables. {IMPORT_HINT}"
        )
    outdated = outdated_tables(engine)
    if outdated:
        raise DatabaseNotReadyError(
            f"The knowledge database {engine.url.render_as_string(hide_password=True)} was imported by an "
            f"older version of the importer (outdated tables: {', '.join(outdated)}). {IMPORT_HINT}"
        )
    with Session(engine, future=True) as session:
        if last_successful_run(session) is None:
            raise DatabaseNotReadyError(
                f"The knowledge database {engine.url.render_as_string(hide_password=True)} "
                f"contains no successful import. {IMPORT_HINT}"
            )
    return engine
