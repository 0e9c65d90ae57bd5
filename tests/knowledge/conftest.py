"""Fixtures of the knowledge tests: the real open data imported once into SQLite.

The data directory is the configured one (SECONDE_CHANCE_DATA, by default
`shared/data` in the parent directory of the repository). PostgreSQL tests create their own database on
127.0.0.1:5432 (user postgres) and drop it at the end of the session.
"""

from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.orm import Session

from knowledge.config import load_settings
from knowledge.db import dispose_engine, get_engine
from knowledge.importer import run_import
from knowledge.index import LocationIndex, clear_index_cache

# libpq connection string of the PostgreSQL maintenance database used to create
# and drop the test databases.
POSTGRES_ADMIN_DSN = os.environ.get(
    "KNOWLEDGE_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


def read_csv_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """Read a data file with the csv module, independently of the importer."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


@pytest.fixture(scope="session")
def read_rows():
    """The `read_csv_rows` function, for tests that read a data file themselves."""
    return read_csv_rows


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = load_settings().data_dir
    if not (path / "communes" / "communes_france_2026.csv").is_file():
        pytest.fail(f"Open data not found in {path}: set SECONDE_CHANCE_DATA to the data directory.")
    return path


@pytest.fixture(scope="session")
def sqlite_import(tmp_path_factory, data_dir):
    """Import the real data once into a temporary SQLite file: (url, ImportResult)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('knowledge') / 'knowledge.sqlite3'}"
    result = run_import(url, data_dir, progress=False)
    yield url, result
    clear_index_cache()
    dispose_engine(url)


@pytest.fixture(scope="session")
def sqlite_url(sqlite_import) -> str:
    return sqlite_import[0]


@pytest.fixture(scope="session")
def import_result(sqlite_import):
    return sqlite_import[1]


@pytest.fixture(scope="session")
def index(sqlite_url) -> LocationIndex:
    with Session(get_engine(sqlite_url), future=True) as session:
        return LocationIndex.load(session, max_point_distance_km=30.0)


@pytest.fixture
def session(sqlite_url):
    with Session(get_engine(sqlite_url), future=True) as db_session:
        yield db_session


@pytest.fixture(scope="session")
def communes_csv(data_dir) -> dict[tuple[str, str], dict[str, str]]:
    """Rows of communes_france_2026.csv by (INSEE code, type)."""
    rows = read_csv_rows(data_dir / "communes" / "communes_france_2026.csv")
    return {(row["code_insee"], row["type"]): row for row in rows}


@pytest.fixture(scope="session")
def postgres_url():
    """Create a dedicated PostgreSQL database and drop it after the session."""
    name = f"seconde_chance_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(POSTGRES_ADMIN_DSN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    parameters = dict(item.split("=", 1) for item in POSTGRES_ADMIN_DSN.split())
    url = (
        f"postgresql+psycopg2://{parameters.get('user', 'postgres')}@{parameters.get('host', '127.0.0.1')}:"
        f"{parameters.get('port', '5432')}/{name}"
    )
    try:
        yield url
    finally:
        clear_index_cache()
        dispose_engine(url)
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
