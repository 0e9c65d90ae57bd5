"""Tests of knowledge.importer on the real data and on modified copies of it."""

import hashlib
import json
import shutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.db import dispose_engine, get_engine, last_successful_run
from knowledge.importer import MissingDataFileError, compute_fingerprint, required_files, run_import
from knowledge.loaders.report import DataFormatError
from knowledge.models import Commune, CommuneAlias, ImportRun, Place, PostalCode, Training
from knowledge.place_types import load_place_types
from knowledge.search import nearest_places, place_types
from tests.knowledge.data_dirs import PLACE_HEADER, linked_data_dir


def report_for(result, path):
    return next(report for report in result.reports if report.path == path)


def count_rows(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def table_digest(session, model, columns):
    """Hash the sorted content of some columns, to compare two imports."""
    rows = session.execute(select(*[getattr(model, column) for column in columns])).all()
    return hashlib.sha256(repr(sorted(map(tuple, rows), key=repr)).encode()).hexdigest()


@pytest.mark.parametrize(
    ("path", "delimiter"),
    [
        pytest.param("communes/communes_france_2026.csv", ",", id="communes"),
        pytest.param("communes/codes_postaux_2026.csv", ",", id="postal-codes"),
        pytest.param("communes/laposte_hexasmal_2023.csv", ";", id="laposte"),
        pytest.param("academies/departements_academies.csv", ",", id="academies"),
        pytest.param("onisep/ideo-formations_initiales_en_france.csv", ";", id="onisep"),
        pytest.param("places/missions_locales.csv", ",", id="missions-locales"),
        pytest.param("places/cio.csv", ",", id="cio"),
        pytest.param("places/e2c.csv", ",", id="e2c"),
        pytest.param("places/epide.csv", ",", id="epide"),
        pytest.param("places/micro_lycees.csv", ",", id="micro-lycees"),
        pytest.param("places/psad.csv", ",", id="psad"),
    ],
)
def test_report_read_matches_csv(import_result, data_dir, read_rows, path, delimiter):
    report = report_for(import_result, path)
    assert report.read == len(read_rows(data_dir / path, delimiter))
    assert report.kept == report.read - report.rejected_total - report.ignored_total


def test_report_every_file_listed(import_result, data_dir):
    paths = {report.path for report in import_result.reports}
    expected = {path.relative_to(data_dir).as_posix() for path in required_files(data_dir)}
    assert paths == expected


def test_communes_table_matches_report(import_result, session):
    assert count_rows(session, Commune) == report_for(import_result, "communes/communes_france_2026.csv").kept


def test_postal_codes_table_matches_report(import_result, session):
    assert count_rows(session, PostalCode) == report_for(import_result, "communes/codes_postaux_2026.csv").kept


def test_trainings_table_matches_report(import_result, session):
    report = report_for(import_result, "onisep/ideo-formations_initiales_en_france.csv")
    assert count_rows(session, Training) == report.kept


def test_places_table_matches_csv_rows(import_result, session, data_dir, read_rows):
    rows = sum(len(read_rows(path)) for path in (data_dir / "places").glob("*.csv"))
    rejected = sum(report.rejected_total for report in import_result.reports if report.path.startswith("places/"))
    assert count_rows(session, Place) == rows - rejected


def test_place_type_from_csv_column(session, data_dir, read_rows):
    types = {row["type"] for path in (data_dir / "places").glob("*.csv") for row in read_rows(path)}
    assert set(place_types(session)) == types


def test_laposte_monaco_rejected(import_result):
    report = report_for(import_result, "communes/laposte_hexasmal_2023.csv")
    assert report.rejected["Monaco or foreign row"] == 1


def test_monaco_not_imported(session):
    assert session.execute(select(PostalCode).where(PostalCode.postal_code == "98000")).first() is None
    assert session.execute(select(CommuneAlias).where(CommuneAlias.insee_code == "99138")).first() is None


def test_insee_code_shared_by_delegated_commune(session):
    types = session.execute(select(Commune.type).where(Commune.insee_code == "93066")).scalars().all()
    assert sorted(types) == ["commune-actuelle", "commune-deleguee"]


def test_associated_commune_parent_coordinates(session):
    associated = session.execute(
        select(Commune).where(Commune.type == "commune-associee").order_by(Commune.insee_code).limit(1)
    ).scalar_one()
    parent = session.execute(
        select(Commune).where(Commune.insee_code == associated.parent_code, Commune.type == "commune-actuelle")
    ).scalar_one()
    assert associated.coord_source == f"parent_commune:{parent.insee_code}"
    assert (associated.latitude, associated.longitude) == (parent.latitude, parent.longitude)


def test_members_without_coordinates_only_when_parent_has_none(session):
    missing = session.execute(
        select(Commune.parent_code)
        .where(Commune.type.in_(("commune-deleguee", "commune-associee")), Commune.latitude.is_(None))
    ).scalars().all()
    for parent_code in missing:
        parent_latitude = session.execute(
            select(Commune.latitude).where(Commune.insee_code == parent_code, Commune.type == "commune-actuelle")
        ).scalar_one()
        assert parent_latitude is None


def test_former_name_alias(session):
    alias = session.execute(
        select(CommuneAlias).where(CommuneAlias.alias_normalized == "courcouronnes")
    ).scalar_one()
    assert alias.insee_code == "91228"
    assert alias.kind == "former_name"


def test_delegated_alias(session):
    alias = session.execute(
        select(CommuneAlias).where(
            CommuneAlias.alias_normalized == "bellegarde sur valserine", CommuneAlias.kind == "delegated"
        )
    ).scalar_one()
    assert alias.insee_code == "01033"


def test_locality_alias(session):
    kinds = session.execute(
        select(CommuneAlias.kind).where(CommuneAlias.alias_normalized == "la plaine saint denis")
    ).scalars().all()
    assert kinds == ["locality"]


def test_former_codes_stored(session):
    former_codes = session.execute(
        select(Commune.former_codes).where(Commune.insee_code == "91228", Commune.type == "commune-actuelle")
    ).scalar_one()
    assert "91182" in former_codes.split("|")


def test_import_run_recorded(import_result, session):
    run = last_successful_run(session)
    assert run.fingerprint == import_result.fingerprint
    assert json.loads(run.summary) == json.loads(json.dumps(import_result.summary(), ensure_ascii=False))
    assert run.finished_at is not None


def test_import_under_a_minute(import_result):
    assert import_result.duration_seconds < 60


def test_import_twice_same_rows(sqlite_url, data_dir, session):
    columns = {
        Commune: ("insee_code", "type", "name", "latitude", "longitude", "coord_source", "population"),
        CommuneAlias: ("alias_normalized", "insee_code", "kind"),
        PostalCode: ("postal_code", "insee_code"),
        Place: ("type", "name", "address", "latitude", "longitude", "phone"),
        Training: ("name", "onisep_url", "level"),
    }
    before = {model: table_digest(session, model, fields) for model, fields in columns.items()}
    session.close()
    run_import(sqlite_url, data_dir, progress=False)
    with Session(get_engine(sqlite_url), future=True) as fresh:
        after = {model: table_digest(fresh, model, fields) for model, fields in columns.items()}
    assert after == before


def test_if_changed_skips(sqlite_url, data_dir):
    result = run_import(sqlite_url, data_dir, if_changed=True, progress=False)
    with Session(get_engine(sqlite_url), future=True) as fresh:
        last = last_successful_run(fresh)
    assert result.skipped is True
    assert result.run_id == last.id


def test_fingerprint_changes_with_content(tmp_path, data_dir):
    copy = linked_data_dir(data_dir, tmp_path / "data")
    before = compute_fingerprint(copy, required_files(copy))
    (copy / "places" / "extra.csv").write_text(PLACE_HEADER, encoding="utf-8")
    after = compute_fingerprint(copy, required_files(copy))
    assert before != after


def test_missing_file_names_path_and_variable(tmp_path, data_dir):
    copy = linked_data_dir(data_dir, tmp_path / "data")
    (copy / "onisep").unlink()
    with pytest.raises(MissingDataFileError) as error:
        run_import(f"sqlite:///{tmp_path / 'kb.sqlite3'}", copy, progress=False)
    assert "fichier de données absent" in str(error.value)
    assert str(copy / "onisep" / "ideo-formations_initiales_en_france.csv") in str(error.value)
    assert "SECONDE_CHANCE_DATA" in str(error.value)


def test_missing_places_directory(tmp_path, data_dir):
    copy = linked_data_dir(data_dir, tmp_path / "data")
    shutil.rmtree(copy / "places")
    with pytest.raises(MissingDataFileError):
        run_import(f"sqlite:///{tmp_path / 'kb.sqlite3'}", copy, progress=False)


@pytest.fixture(scope="module")
def extra_type_import(tmp_path_factory, data_dir):
    """Import the real data plus places/cfa.csv, a type missing from place_types.yml."""
    root = tmp_path_factory.mktemp("extra")
    rows = [
        "cfa,CFA de Villeurbanne,,,Villeurbanne,69266,45.770997,4.889071,commune,,,,test,2024",
        "cfa,CFA en mer,,,Villeurbanne,69266,145.0,4.889071,commune,,,,test,2024",
        "cfa,CFA sans longitude,,,Villeurbanne,69266,45.77,abc,commune,,,,test,2024",
        "cfa,CFA inconnu,,,Nulle part,99999,45.77,4.88,commune,,,,test,2024",
        "cfa,,,,Villeurbanne,69266,45.77,4.88,commune,,,,test,2024",
        "cfa,CFA de Villeurbanne,,,Villeurbanne,69266,45.770997,4.889071,commune,,,,test,2024",
    ]
    copy = linked_data_dir(data_dir, root / "data", {"cfa.csv": PLACE_HEADER + "\n".join(rows) + "\n"})
    url = f"sqlite:///{root / 'kb.sqlite3'}"
    result = run_import(url, copy, progress=False)
    yield url, copy, result
    dispose_engine(url)


def test_extra_type_reject_reasons(extra_type_import):
    _url, _copy, result = extra_type_import
    report = report_for(result, "places/cfa.csv")
    assert report.read == 6
    assert report.kept == 1
    assert dict(report.rejected) == {
        "invalid latitude": 1,
        "invalid longitude": 1,
        "unknown INSEE code": 1,
        "missing name": 1,
        "duplicate": 1,
    }


def test_extra_type_searchable(extra_type_import):
    url, _copy, _result = extra_type_import
    with Session(get_engine(url), future=True) as session:
        hits = nearest_places(session, 45.767, 4.88, place_type="cfa")
        counts = place_types(session)
    assert [hit.name for hit in hits] == ["CFA de Villeurbanne"]
    assert counts["cfa"] == 1


def test_extra_type_label_fallback(extra_type_import, caplog):
    url, _copy, _result = extra_type_import
    with Session(get_engine(url), future=True) as session:
        described = load_place_types(place_types(session))
    assert described["cfa"].label == "cfa"
    assert "cfa" in caplog.text


def test_if_changed_imports_new_files(extra_type_import, data_dir):
    url, _copy, _result = extra_type_import
    result = run_import(url, data_dir, if_changed=True, progress=False)
    with Session(get_engine(url), future=True) as session:
        counts = place_types(session)
    assert result.skipped is False
    assert "cfa" not in counts


def test_missing_column_keeps_previous_data(tmp_path, data_dir, sqlite_url):
    copy = linked_data_dir(data_dir, tmp_path / "data", {"broken.csv": "type,name\ncfa,CFA\n"})
    with Session(get_engine(sqlite_url), future=True) as session:
        places_before = count_rows(session, Place)
    with pytest.raises(DataFormatError):
        run_import(sqlite_url, copy, progress=False)
    with Session(get_engine(sqlite_url), future=True) as session:
        last_run = session.execute(select(ImportRun).order_by(ImportRun.id.desc()).limit(1)).scalar_one()
        places_after = count_rows(session, Place)
    assert last_run.status == "failed"
    assert "broken.csv : colonne(s) manquante(s) address" in last_run.summary
    assert places_after == places_before
