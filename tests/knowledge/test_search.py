"""Tests of knowledge.search: nearest places, place types and trainings."""

import math
import re
from collections import Counter

import pytest

from knowledge.resolve import resolve_location
from knowledge.search import (
    UnknownDiplomaError,
    UnknownPlaceTypeError,
    nearest_places,
    place_types,
    search_trainings,
)


def haversine(lat1, lon1, lat2, lon2):
    """Great-circle distance in km, written here independently of knowledge.geo."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def missions_locales(data_dir, read_rows):
    return read_rows(data_dir / "places" / "missions_locales.csv")


def expected_nearest(rows, latitude, longitude):
    return sorted(
        rows, key=lambda row: (haversine(latitude, longitude, float(row["latitude"]), float(row["longitude"])), row["name"])
    )


@pytest.mark.parametrize("query", [pytest.param("Villeurbanne", id="name"), pytest.param("69100", id="postal-code")])
def test_nearest_missions_locales_first_row(index, communes_csv, missions_locales, query):
    centre = communes_csv[("69266", "commune-actuelle")]
    latitude, longitude = float(centre["latitude"]), float(centre["longitude"])
    expected = expected_nearest(missions_locales, latitude, longitude)
    resolution = resolve_location(index, query)
    hits = nearest_places(index, resolution.latitude, resolution.longitude, place_type="mission_locale", limit=3)
    assert hits[0].name == expected[0]["name"]
    assert [hit.name for hit in hits] == [row["name"] for row in expected[:3]]


def test_nearest_distance_rounded(index, missions_locales):
    expected = expected_nearest(missions_locales, 45.767, 4.88)[0]
    hit = nearest_places(index, 45.767, 4.88, place_type="mission_locale", limit=1)[0]
    distance = haversine(45.767, 4.88, float(expected["latitude"]), float(expected["longitude"]))
    assert hit.distance_km == round(distance, 1)


def test_nearest_keeps_every_csv_column(index, missions_locales):
    hit = nearest_places(index, 45.767, 4.88, place_type="mission_locale", limit=1)[0]
    row = next(row for row in missions_locales if row["name"] == hit.name)
    assert hit.address == row["address"]
    assert hit.phone == row["phone"]
    assert hit.source == row["source"]
    assert hit.code_insee == row["code_insee"]
    assert hit.source_file == "missions_locales.csv"


def test_nearest_map_url(index):
    hit = nearest_places(index, 45.767, 4.88, place_type="mission_locale", limit=1)[0]
    pattern = r"https://www\.openstreetmap\.org/\?mlat=(-?[\d.]+)&mlon=(-?[\d.]+)#map=15/(-?[\d.]+)/(-?[\d.]+)"
    match = re.fullmatch(pattern, hit.map_url)
    assert match is not None
    assert float(match.group(1)) == pytest.approx(hit.latitude, abs=1e-5)
    assert float(match.group(2)) == pytest.approx(hit.longitude, abs=1e-5)


def test_nearest_sorted_by_distance(index):
    hits = nearest_places(index, 48.8566, 2.3522, limit=10)
    distances = [hit.distance_km for hit in hits]
    assert distances == sorted(distances)
    assert len(hits) == 10


def test_nearest_all_types_mixed(index):
    hits = nearest_places(index, 48.8566, 2.3522, limit=30)
    assert len({hit.type for hit in hits}) > 1


def test_nearest_max_distance_filters(index):
    hits = nearest_places(index, 45.767, 4.88, place_type="epide", limit=50, max_distance_km=100)
    assert hits
    assert all(hit.distance_km <= 100 for hit in hits)


def test_nearest_nothing_in_mayotte(index):
    resolution = resolve_location(index, "Mamoudzou")
    hits = nearest_places(index, resolution.latitude, resolution.longitude, place_type="mission_locale", max_distance_km=30)
    assert hits == []


def test_nearest_session_equals_index(index, session):
    from_index = nearest_places(index, 43.6, 1.44, place_type="cio", limit=5)
    from_session = nearest_places(session, 43.6, 1.44, place_type="cio", limit=5)
    assert from_index == from_session


def test_nearest_unknown_type(index):
    with pytest.raises(UnknownPlaceTypeError) as error:
        nearest_places(index, 45.767, 4.88, place_type="cfa")
    assert "mission_locale" in error.value.known_types


def test_nearest_invalid_latitude(index):
    with pytest.raises(ValueError):
        nearest_places(index, 95.0, 4.88)


def test_nearest_invalid_limit(index):
    with pytest.raises(ValueError):
        nearest_places(index, 45.767, 4.88, limit=0)


def test_place_types_counts_match_csv(session, data_dir, read_rows):
    expected = Counter()
    for path in sorted((data_dir / "places").glob("*.csv")):
        expected.update(row["type"] for row in read_rows(path))
    assert place_types(session) == dict(expected)


def test_place_types_index_equals_session(index, session):
    assert place_types(index) == place_types(session)


def test_trainings_cuisine_vocational_first(session):
    hits = search_trainings(session, "cuisine")
    assert hits[0].name == "CAP Cuisine"
    assert all(hit.level in (3, 4) for hit in hits)


def test_trainings_inline_diploma_filters(session):
    hits = search_trainings(session, "CAP cuisine")
    assert [hit.name for hit in hits] == ["CAP Cuisine"]


def test_trainings_diploma_argument(session):
    hits = search_trainings(session, "cuisine", diploma="bac pro")
    assert hits
    assert all(hit.type_label == "baccalauréat professionnel" for hit in hits)


def test_trainings_petite_enfance(session):
    hits = search_trainings(session, "petite enfance")
    assert hits[0].name == "CAP Accompagnant éducatif petite enfance"


def test_trainings_coiffure(session):
    hits = search_trainings(session, "coiffure")
    assert {"CAP Métiers de la coiffure", "BP Coiffure"} <= {hit.name for hit in hits}


def test_trainings_mecanique_accents_optional(session):
    assert search_trainings(session, "mecanique") == search_trainings(session, "mécanique")


def test_trainings_mecanique_levels(session):
    hits = search_trainings(session, "mécanique")
    assert hits
    assert all(hit.level in (3, 4) for hit in hits)


def test_trainings_higher_levels_last(session):
    hits = search_trainings(session, "informatique", limit=20)
    ranks = [0 if hit.level in (3, 4) else 1 for hit in hits]
    assert ranks == sorted(ranks)


def test_trainings_fields_returned(session):
    hit = search_trainings(session, "CAP cuisine")[0]
    assert hit.type_label == "Certificat d'aptitude professionnelle"
    assert hit.duration == "2 ans"
    assert hit.rncp_level_label == "niveau 3 (niveau CAP)"
    assert hit.onisep_url.startswith("https://www.onisep.fr/")


def test_trainings_limit(session):
    assert len(search_trainings(session, "commerce", limit=2)) == 2


def test_trainings_unknown_field(session):
    assert search_trainings(session, "zzzzqqq") == []


def test_trainings_unknown_diploma(session):
    with pytest.raises(UnknownDiplomaError):
        search_trainings(session, "cuisine", diploma="XYZ")
