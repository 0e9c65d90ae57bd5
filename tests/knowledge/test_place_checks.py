"""Tests of the place checks of the importer: invalid websites and e-mails, postal codes.

The expected counts are computed here from the CSV files with checks written
independently of knowledge.loaders.contact and knowledge.loaders.places.
"""

import re
from collections import defaultdict

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from knowledge.db import DatabaseNotReadyError, dispose_engine, get_engine, outdated_tables, require_imported_database
from knowledge.importer import compute_fingerprint, required_files, run_import
from knowledge.loaders.places import load_places
from knowledge.loaders.report import DataFormatError
from knowledge.models import Base, Commune, ImportRun, Place, PostalCode
from knowledge.search import nearest_places
from tests.knowledge.data_dirs import PLACE_HEADER, linked_data_dir

PLACE_FILES = ["cio.csv", "e2c.csv", "epide.csv", "micro_lycees.csv", "missions_locales.csv", "psad.csv"]

# The top-level domains seen in the valid addresses of the place files. When the
# DILA directory lost the "/" after the domain, the host ends with "frorientation",
# "frcid73711" or "html" instead.
DATA_TOP_LEVEL_DOMAINS = {"fr", "com", "org", "net", "eu", "info", "re", "bzh", "alsace", "corsica"}
HOST = re.compile(r"^https?://([^/?#:]+)")
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.([a-z]+)$")


def website_defect(website):
    match = HOST.match(website)
    return bool(website) and (match is None or match.group(1).rsplit(".", 1)[-1] not in DATA_TOP_LEVEL_DOMAINS)


def email_defect(email):
    match = EMAIL_SHAPE.match(email)
    return bool(email) and (match is None or match.group(1) not in DATA_TOP_LEVEL_DOMAINS)


def report_for(result, path):
    return next(report for report in result.reports if report.path == path)


def place_by_name(session, name):
    return session.execute(select(Place).where(Place.name == name)).scalar_one()


@pytest.fixture(scope="module")
def postal_code_communes(data_dir, read_rows):
    """Postal code -> INSEE codes, and district -> city, read from the CSV files."""
    communes = defaultdict(set)
    for row in read_rows(data_dir / "communes" / "codes_postaux_2026.csv"):
        communes[row["code_postal"]].add(row["code_insee"])
    parents = {
        row["code_insee"]: row["commune_parent"]
        for row in read_rows(data_dir / "communes" / "communes_france_2026.csv")
        if row["type"] == "arrondissement-municipal"
    }
    return communes, parents


def mismatched_postal_code(row, communes, parents):
    listed = communes.get(row["postal_code"], set())
    if not listed:
        return False
    return row["code_insee"] not in listed | {parents.get(code) for code in listed}


@pytest.mark.parametrize("name", PLACE_FILES)
def test_dropped_websites_match_csv(import_result, data_dir, read_rows, name):
    rows = read_rows(data_dir / "places" / name)
    expected = sum(1 for row in rows if website_defect(row["website"]))
    report = report_for(import_result, f"places/{name}")
    assert report.corrected["invalid website"] == expected


def test_dropped_websites_total(import_result):
    total = sum(report.corrected["invalid website"] for report in import_result.reports)
    assert total == 54


def test_dropped_websites_cio(import_result):
    assert report_for(import_result, "places/cio.csv").corrected["invalid website"] == 53


def test_dropped_website_stored_null(session, data_dir, read_rows):
    row = next(row for row in read_rows(data_dir / "places" / "cio.csv") if website_defect(row["website"]))
    place = session.execute(select(Place).where(Place.name == row["name"], Place.address == row["address"])).scalar_one()
    assert place.website is None
    assert place.phone == row["phone"]


def test_valid_website_kept(session):
    place = place_by_name(session, "Centre d’information et d’orientation (CIO) - Ambérieu-en-Bugey")
    assert place.website == "http://www2.ac-lyon.fr/orientation/ain/amberieu/"


@pytest.mark.parametrize("name", PLACE_FILES)
def test_dropped_emails_match_csv(import_result, data_dir, read_rows, name):
    rows = read_rows(data_dir / "places" / name)
    expected = sum(1 for row in rows if email_defect(row["email"]))
    report = report_for(import_result, f"places/{name}")
    assert report.corrected["invalid email"] == expected


def test_dropped_email_stored_null(session):
    place = place_by_name(session, "Mission locale - Calvi")
    assert place.email is None
    assert place.website == "http://www.missions-locales-corse.org"


@pytest.mark.parametrize("name", PLACE_FILES)
def test_postal_code_warnings_match_csv(import_result, data_dir, read_rows, postal_code_communes, name):
    communes, parents = postal_code_communes
    rows = read_rows(data_dir / "places" / name)
    expected = sum(1 for row in rows if mismatched_postal_code(row, communes, parents))
    report = report_for(import_result, f"places/{name}")
    assert report.warnings["postal code not of the commune"] == expected


def test_postal_code_warnings_total(import_result):
    total = sum(report.warnings["postal code not of the commune"] for report in import_result.reports)
    assert total == 20


@pytest.mark.parametrize(
    ("name", "checked"),
    [
        pytest.param("Centre d’information et d’orientation (CIO) - Lyon Nord", False, id="lyon-nord-in-rillieux"),
        pytest.param("Mission locale - Antony", False, id="antony-in-chatenay-malabry"),
        pytest.param("Centre d’information et d’orientation (CIO) - Lyon Ouest", False, id="other-lyon-district"),
        pytest.param("Centre d’information et d’orientation (CIO) - Ambérieu-en-Bugey", True, id="cedex"),
        pytest.param("Mission locale - Villeurbanne (Racine)", True, id="regular"),
    ],
)
def test_address_checked_stored(session, name, checked):
    assert place_by_name(session, name).address_checked is checked


def test_address_checked_in_place_hit(index):
    hits = nearest_places(index, 45.779752, 4.819811, place_type="cio", limit=1)
    assert hits[0].name == "Centre d’information et d’orientation (CIO) - Lyon Nord"
    assert hits[0].address_checked is False


def test_address_checked_session_equals_index(index, session):
    from_index = nearest_places(index, 48.75551, 2.306138, place_type="mission_locale", limit=3)
    from_session = nearest_places(session, 48.75551, 2.306138, place_type="mission_locale", limit=3)
    assert [hit.address_checked for hit in from_session] == [hit.address_checked for hit in from_index]
    assert False in [hit.address_checked for hit in from_index]


BAD_ROWS = [
    "cfa,CFA valide,1 rue Racine,69100,Villeurbanne,69266,45.77,4.88,commune,,contact@cfa.fr,https://www.cfa.asso.fr/,test,2024",
    "cfa,CFA slash perdu,,69100,Villeurbanne,69266,45.77,4.88,commune,,,http://www2.ac-lyon.frorientation/rhone,test,2024",
    "cfa,CFA ftp,,69100,Villeurbanne,69266,45.77,4.88,commune,,,ftp://ftp.cfa.fr/,test,2024",
    "cfa,CFA sans schéma,,69100,Villeurbanne,69266,45.77,4.88,commune,,,www.cfa.fr,test,2024",
    "cfa,CFA deux arobases,,69100,Villeurbanne,69266,45.77,4.88,commune,,contact@@cfa.fr,,test,2024",
    "cfa,CFA sans arobase,,69100,Villeurbanne,69266,45.77,4.88,commune,,cfa.villeurbanne,,test,2024",
    "cfa,CFA code postal de Lyon 4e,,69004,Villeurbanne,69266,45.77,4.88,commune,,,,test,2024",
    "cfa,CFA CEDEX,,69611,Villeurbanne,69266,45.77,4.88,commune,,,,test,2024",
    "cfa,CFA Lyon ville,,69003,Lyon,69123,45.76,4.85,commune,,,,test,2024",
    "cfa,CFA Lyon 5e avec le code du 3e,,69003,Lyon 5e,69385,45.76,4.82,commune,,,,test,2024",
    "cfa,CFA inconnu,,99999,Nulle part,99999,45.77,4.88,commune,,,http://www2.ac-lyon.frorientation/x,test,2024",
]


@pytest.fixture(scope="module")
def bad_rows_load(tmp_path_factory, sqlite_url):
    """Load a places file of bad rows with the communes and postal codes of the real import."""
    data_dir = tmp_path_factory.mktemp("bad_rows")
    (data_dir / "places").mkdir()
    (data_dir / "places" / "cfa.csv").write_text(PLACE_HEADER + "\n".join(BAD_ROWS) + "\n", encoding="utf-8")
    with Session(get_engine(sqlite_url), future=True) as session:
        communes = session.execute(
            select(Commune.insee_code, Commune.type, Commune.parent_code).where(
                Commune.type.in_(("commune-actuelle", "arrondissement-municipal"))
            )
        ).all()
        postal_codes = defaultdict(set)
        for postal_code, insee_code in session.execute(select(PostalCode.postal_code, PostalCode.insee_code)):
            postal_codes[postal_code].add(insee_code)
    parents = {code: parent for code, kind, parent in communes if kind == "arrondissement-municipal"}
    rows, reports = load_places(
        data_dir,
        [code for code, _kind, _parent in communes],
        False,
        postal_codes=postal_codes,
        arrondissement_parents=parents,
    )
    return {row["name"]: row for row in rows}, reports[0]


def test_bad_rows_counts(bad_rows_load):
    _rows, report = bad_rows_load
    assert report.read == 11
    assert report.kept == 10
    assert dict(report.rejected) == {"unknown INSEE code": 1}
    assert dict(report.corrected) == {"invalid website": 3, "invalid email": 2}
    assert dict(report.warnings) == {"postal code not of the commune": 2}


def test_bad_rows_balance(bad_rows_load):
    _rows, report = bad_rows_load
    assert report.read == report.kept + report.rejected_total + report.ignored_total


@pytest.mark.parametrize(
    ("name", "column", "value"),
    [
        pytest.param("CFA valide", "website", "https://www.cfa.asso.fr/", id="valid-website"),
        pytest.param("CFA valide", "email", "contact@cfa.fr", id="valid-email"),
        pytest.param("CFA slash perdu", "website", None, id="glued-host"),
        pytest.param("CFA ftp", "website", None, id="ftp"),
        pytest.param("CFA sans schéma", "website", None, id="no-scheme"),
        pytest.param("CFA deux arobases", "email", None, id="two-at-signs"),
        pytest.param("CFA sans arobase", "email", None, id="no-at-sign"),
        pytest.param("CFA slash perdu", "postal_code", "69100", id="row-otherwise-unchanged"),
        pytest.param("CFA valide", "address_checked", True, id="postal-code-of-commune"),
        pytest.param("CFA code postal de Lyon 4e", "address_checked", False, id="postal-code-of-other-commune"),
        pytest.param("CFA CEDEX", "address_checked", True, id="cedex"),
        pytest.param("CFA Lyon ville", "address_checked", True, id="city-with-district-code"),
        pytest.param("CFA Lyon 5e avec le code du 3e", "address_checked", False, id="other-district"),
    ],
)
def test_bad_rows_fields(bad_rows_load, name, column, value):
    rows, _report = bad_rows_load
    assert rows[name][column] == value


def old_places_ddl():
    """The places table as the importer created it before address_checked existed."""
    return """
        CREATE TABLE places (
            id INTEGER NOT NULL PRIMARY KEY, type VARCHAR(40) NOT NULL, name VARCHAR(300) NOT NULL,
            address TEXT, postal_code VARCHAR(10), commune VARCHAR(120), code_insee VARCHAR(5) NOT NULL,
            latitude FLOAT NOT NULL, longitude FLOAT NOT NULL, coord_source VARCHAR(40), phone VARCHAR(40),
            email VARCHAR(200), website TEXT, source TEXT, source_date VARCHAR(10),
            source_file VARCHAR(120) NOT NULL
        )
    """


@pytest.fixture
def old_schema_url(tmp_path, data_dir):
    """A SQLite database with the old places table and a successful run of the current files."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = get_engine(url)
    tables = [table for name, table in Base.metadata.tables.items() if name != "places"]
    Base.metadata.create_all(engine, tables=tables)
    fingerprint = compute_fingerprint(data_dir, required_files(data_dir))
    with engine.begin() as connection:
        connection.execute(text(old_places_ddl()))
        connection.execute(
            text(
                "INSERT INTO import_runs (fingerprint, data_dir, started_at, finished_at, status, summary) "
                "VALUES (:fingerprint, :data_dir, '2025-01-01 00:00:00', '2025-01-01 00:00:05', 'succeeded', '{}')"
            ),
            {"fingerprint": fingerprint, "data_dir": str(data_dir)},
        )
    yield url
    dispose_engine(url)


def test_old_schema_not_ready(old_schema_url):
    with pytest.raises(DatabaseNotReadyError) as error:
        require_imported_database(old_schema_url)
    assert "older version of the importer" in str(error.value)
    assert "places" in str(error.value)


def test_old_schema_reimport(old_schema_url, data_dir, import_result):
    result = run_import(old_schema_url, data_dir, if_changed=True, progress=False)
    with Session(get_engine(old_schema_url), future=True) as session:
        unchecked = session.execute(select(Place).where(Place.address_checked.is_(False))).scalars().all()
        runs = session.execute(select(ImportRun.status)).scalars().all()
    assert result.skipped is False
    assert result.table_counts == import_result.table_counts
    assert len(unchecked) == 20
    assert runs == ["succeeded", "succeeded"]
    assert require_imported_database(old_schema_url) is not None


def test_old_schema_kept_on_format_error(old_schema_url, tmp_path, data_dir):
    copy = linked_data_dir(data_dir, tmp_path / "data", {"broken.csv": "type,name\ncfa,CFA\n"})
    with pytest.raises(DataFormatError):
        run_import(old_schema_url, copy, progress=False)
    assert outdated_tables(get_engine(old_schema_url)) == ["places"]
