"""The importer, resolution and place search on a real PostgreSQL database."""

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from knowledge.db import get_engine
from knowledge.importer import run_import
from knowledge.index import get_index
from knowledge.models import Commune, CommuneAlias, ImportRun, Place, PostalCode, Training
from knowledge.resolve import resolve_location
from knowledge.search import nearest_places, search_trainings

TABLES = (Commune, CommuneAlias, PostalCode, Place, Training)


@pytest.fixture(scope="module")
def postgres_import(postgres_url, data_dir):
    result = run_import(postgres_url, data_dir, progress=False)
    return postgres_url, result


def table_counts(url):
    with Session(get_engine(url), future=True) as session:
        return {model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one() for model in TABLES}


def test_postgresql_counts_equal_sqlite(postgres_import, import_result):
    _url, result = postgres_import
    assert result.table_counts == import_result.table_counts


def test_postgresql_resolve_found(postgres_import):
    url, _result = postgres_import
    resolution = resolve_location(get_index(url), "Villeurbanne")
    assert resolution.commune.insee_code == "69266"


def test_postgresql_resolve_former_name(postgres_import):
    url, _result = postgres_import
    resolution = resolve_location(get_index(url), "Courcouronnes")
    assert resolution.commune.insee_code == "91228"


def test_postgresql_resolve_ambiguous(postgres_import):
    url, _result = postgres_import
    resolution = resolve_location(get_index(url), "Saint-Denis")
    assert [candidate.insee_code for candidate in resolution.candidates][:2] == ["97411", "93066"]


def test_postgresql_nearest_equals_sqlite(postgres_import, index):
    url, _result = postgres_import
    with Session(get_engine(url), future=True) as session:
        from_postgresql = nearest_places(session, 45.767, 4.88, place_type="mission_locale", limit=3)
    from_sqlite = nearest_places(index, 45.767, 4.88, place_type="mission_locale", limit=3)
    assert [hit.name for hit in from_postgresql] == [hit.name for hit in from_sqlite]


def test_postgresql_trainings(postgres_import):
    url, _result = postgres_import
    with Session(get_engine(url), future=True) as session:
        hits = search_trainings(session, "CAP cuisine")
    assert [hit.name for hit in hits] == ["CAP Cuisine"]


def test_postgresql_second_import_same_counts(postgres_import, data_dir):
    url, _result = postgres_import
    before = table_counts(url)
    run_import(url, data_dir, progress=False)
    assert table_counts(url) == before


def count_runs(url):
    with Session(get_engine(url), future=True) as session:
        return session.execute(select(func.count()).select_from(ImportRun)).scalar_one()


def test_postgresql_if_changed_skips(postgres_import, data_dir):
    url, _result = postgres_import
    runs_before = count_runs(url)
    result = run_import(url, data_dir, if_changed=True, progress=False)
    assert result.skipped is True
    assert count_runs(url) == runs_before


def test_postgresql_reimport_rebuilds_outdated_table(postgres_import, data_dir):
    url, _result = postgres_import
    with get_engine(url).begin() as connection:
        connection.execute(text("ALTER TABLE places DROP COLUMN address_checked"))
    result = run_import(url, data_dir, if_changed=True, progress=False)
    columns = {column["name"] for column in inspect(get_engine(url)).get_columns("places")}
    with Session(get_engine(url), future=True) as session:
        unchecked = session.execute(
            select(func.count()).select_from(Place).where(Place.address_checked.is_(False))
        ).scalar_one()
    assert result.skipped is False
    assert "address_checked" in columns
    assert unchecked == 20
