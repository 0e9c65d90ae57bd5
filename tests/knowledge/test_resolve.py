"""Tests of knowledge.resolve on the real data imported into SQLite."""

import json
import math

import pytest

from knowledge.resolve import (
    find_location_in_text,
    parse_coordinates,
    resembles_place_name,
    resolve_location,
)
from knowledge.text_location import MAX_TEXT_CHARS


def haversine(lat1, lon1, lat2, lon2):
    """Great-circle distance in km, written here independently of knowledge.geo."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


FOUND_CASES = [
    pytest.param("Villeurbanne", "69266", "commune", id="name-villeurbanne"),
    pytest.param("lyon", "69123", "commune", id="name-lyon-lower-case"),
    pytest.param("69100", "69266", "postal_code", id="postal-code-69100"),
    pytest.param("13008", "13208", "postal_code", id="postal-code-arrondissement-wins"),
    pytest.param("Lyon 3e", "69383", "arrondissement", id="arrondissement-lyon-3e"),
    pytest.param("Lyon 3", "69383", "arrondissement", id="arrondissement-lyon-3"),
    pytest.param("lyon 3eme", "69383", "arrondissement", id="arrondissement-lyon-3eme"),
    pytest.param("Paris 13", "75113", "arrondissement", id="arrondissement-paris-13"),
    pytest.param("Paris 13e", "75113", "arrondissement", id="arrondissement-paris-13e"),
    pytest.param("Marseille 8e", "13208", "arrondissement", id="arrondissement-marseille-8e"),
    pytest.param("Marseille 1er", "13201", "arrondissement", id="arrondissement-marseille-1er"),
    pytest.param("3e arrondissement de Lyon", "69383", "arrondissement", id="arrondissement-reversed"),
    pytest.param("Courcouronnes", "91228", "former_name", id="former-courcouronnes"),
    pytest.param("Bellegarde-sur-Valserine", "01033", "former_name", id="former-bellegarde"),
    pytest.param("Évry 91", "91228", "former_name", id="evry-with-departement"),
    pytest.param("Evry (91)", "91228", "former_name", id="evry-with-departement-in-brackets"),
    pytest.param("Evry 91000", "91228", "former_name", id="evry-with-postal-code"),
    pytest.param("Évry 89", "89162", "commune", id="evry-yonne-with-departement"),
    pytest.param("Saint-Denis 93", "93066", "commune", id="saint-denis-with-departement"),
    pytest.param("Saint-Denis La Réunion", "97411", "commune", id="saint-denis-with-departement-name"),
    pytest.param("Lyon 69003", "69383", "arrondissement", id="city-with-arrondissement-postal-code"),
    pytest.param("saint etienne", "42218", "commune", id="no-accent-no-hyphen"),
    pytest.param("chalons en champagne", "51108", "commune", id="chalons-no-accent"),
    pytest.param("St Etienne", "42218", "commune", id="st-abbreviation"),
    pytest.param("Ste Maxime", "83115", "commune", id="ste-abbreviation"),
    pytest.param("L’Haÿ-les-Roses", "94038", "commune", id="typographic-apostrophe"),
    pytest.param("lhay les roses", "94038", "commune", id="dropped-apostrophe"),
    pytest.param("La Plaine Saint-Denis", "93066", "locality", id="la-poste-locality"),
    pytest.param("Marseile", "13055", "fuzzy", id="typo-marseile"),
    pytest.param("Villeurbane", "69266", "fuzzy", id="typo-villeurbane"),
    pytest.param("Toulouze", "31555", "fuzzy", id="typo-large-city"),
    pytest.param("Paris", "75056", "commune", id="paris-commune-not-departement"),
]


@pytest.mark.parametrize(("query", "code", "kind"), FOUND_CASES)
def test_resolve_found(index, query, code, kind):
    resolution = resolve_location(index, query)
    assert resolution.status == "found"
    assert resolution.commune.insee_code == code
    assert resolution.kind == kind


def test_resolve_former_name_keeps_matched_name(index):
    resolution = resolve_location(index, "Bellegarde-sur-Valserine")
    assert resolution.commune.name == "Valserhône"
    assert resolution.commune.matched_name == "Bellegarde-sur-Valserine"


def test_resolve_reference_point_is_centroid(index, communes_csv):
    resolution = resolve_location(index, "Villeurbanne")
    row = communes_csv[("69266", "commune-actuelle")]
    assert resolution.latitude == pytest.approx(float(row["latitude"]))
    assert resolution.longitude == pytest.approx(float(row["longitude"]))


def test_resolve_shared_postal_code(index, data_dir, communes_csv, read_rows):
    rows = [row for row in read_rows(data_dir / "communes" / "codes_postaux_2026.csv") if row["code_postal"] == "01000"]
    populations = {row["code_insee"]: int(communes_csv[(row["code_insee"], row["type"])]["population"]) for row in rows}
    expected_first = max(populations, key=populations.get)
    resolution = resolve_location(index, "01000")
    assert len(populations) > 1
    assert resolution.status == "found"
    assert resolution.commune.insee_code == expected_first
    assert {candidate.insee_code for candidate in resolution.candidates} == set(populations) - {expected_first}


def test_resolve_postal_code_drops_whole_city(index):
    resolution = resolve_location(index, "13008")
    assert "13055" not in [candidate.insee_code for candidate in resolution.candidates]


@pytest.mark.parametrize(
    "query",
    [pytest.param("45.7670, 4.8800", id="comma-separated"), pytest.param("45.767 4.88", id="space-separated")],
)
def test_resolve_coordinates(index, communes_csv, query):
    resolution = resolve_location(index, query)
    row = communes_csv[("69266", "commune-actuelle")]
    expected_distance = haversine(45.767, 4.88, float(row["latitude"]), float(row["longitude"]))
    assert resolution.status == "found"
    assert resolution.kind == "coordinates"
    assert resolution.commune.insee_code == "69266"
    assert resolution.distance_km == pytest.approx(round(expected_distance, 1))
    assert (resolution.latitude, resolution.longitude) == (45.767, 4.88)


def test_resolve_coordinates_nearest_of_all_centroids(index, communes_csv):
    # Brute force over every commune and arrondissement of the CSV, cities split
    # into arrondissements excepted, independently of the numpy search.
    split_cities = {"75056", "69123", "13055"}
    point = (43.2965, 5.3698)
    best = min(
        (
            haversine(*point, float(row["latitude"]), float(row["longitude"])),
            code,
        )
        for (code, kind), row in communes_csv.items()
        if kind in ("commune-actuelle", "arrondissement-municipal") and row["latitude"] and code not in split_cities
    )
    resolution = resolve_location(index, f"{point[0]}, {point[1]}")
    assert resolution.commune.insee_code == best[1]


def test_resolve_coordinates_far_at_sea(index):
    resolution = resolve_location(index, "46.5, -30.0")
    assert resolution.status == "not_found"
    assert resolution.kind == "coordinates"


def test_resolve_coordinates_custom_limit(index):
    resolution = resolve_location(index, "45.767, 4.88", max_point_distance_km=0.1)
    assert resolution.status == "not_found"


def test_parse_coordinates_decimal_comma():
    assert parse_coordinates("45,767; 4,88") == (45.767, 4.88)


def test_parse_coordinates_out_of_range():
    assert parse_coordinates("95.0, 4.88") is None


DEPARTEMENT_CASES = [
    pytest.param("93", "93", "93008", id="code-93"),
    pytest.param("2A", "2A", "2A004", id="code-2a"),
    pytest.param("974", "974", "97411", id="code-974"),
    pytest.param("Seine-Saint-Denis", "93", "93008", id="name-seine-saint-denis"),
    pytest.param("creuse", "23", "23096", id="name-creuse-lower-case"),
]


@pytest.mark.parametrize(("query", "code", "chef_lieu"), DEPARTEMENT_CASES)
def test_resolve_departement(index, query, code, chef_lieu):
    resolution = resolve_location(index, query)
    assert resolution.status == "found"
    assert resolution.kind == "departement"
    assert resolution.departement_code == code
    assert resolution.commune.insee_code == chef_lieu
    assert resolution.latitude is not None


def test_resolve_departement_name_lists_homonym_commune(index):
    resolution = resolve_location(index, "creuse")
    assert resolution.departement_name == "Creuse"
    assert "80225" in [candidate.insee_code for candidate in resolution.candidates]


AMBIGUOUS_CASES = [
    pytest.param("Évry", ["91228", "89162"], id="evry-current-and-former"),
    pytest.param("Sainte-Geneviève-des-Bois", ["91549", "45278"], id="sainte-genevieve-des-bois"),
]


@pytest.mark.parametrize(("query", "codes"), AMBIGUOUS_CASES)
def test_resolve_ambiguous(index, query, codes):
    resolution = resolve_location(index, query)
    assert resolution.status == "ambiguous"
    assert [candidate.insee_code for candidate in resolution.candidates] == codes
    assert resolution.commune is None


def test_resolve_ambiguous_saint_denis(index):
    resolution = resolve_location(index, "Saint-Denis")
    codes = [candidate.insee_code for candidate in resolution.candidates]
    assert resolution.status == "ambiguous"
    assert codes[:2] == ["97411", "93066"]
    assert len(codes) == len(set(codes))
    assert len(codes) > 2


def test_resolve_ambiguous_ranked_by_population(index):
    candidates = resolve_location(index, "Saint-Denis").candidates
    populations = [candidate.population or 0 for candidate in candidates]
    assert populations == sorted(populations, reverse=True)


def test_resolve_ambiguous_candidates_have_departement(index):
    candidates = resolve_location(index, "Saint-Denis").candidates
    assert all(candidate.departement_name for candidate in candidates)


NOT_FOUND_CASES = [
    pytest.param("Bruxelles", id="foreign-city"),
    pytest.param("Bruxelle", id="foreign-city-typo"),
    pytest.param("98000", id="monaco-postal-code"),
    pytest.param("Genève", id="geneva"),
    pytest.param("zzzz", id="nonsense"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("20", id="former-corsica-code"),
    pytest.param("x" * 10_000, id="ten-thousand-characters"),
]


@pytest.mark.parametrize("query", NOT_FOUND_CASES)
def test_resolve_not_found(index, query):
    resolution = resolve_location(index, query)
    assert resolution.status == "not_found"
    assert resolution.commune is None


def test_resolve_long_query_gives_an_answer(index):
    # Its speed is measured by bench/location_resolution.py.
    assert resolve_location(index, "Saint Denis " * 1000).status in {"found", "ambiguous", "not_found"}


def test_resolve_with_session(session):
    resolution = resolve_location(session, "Villeurbanne")
    assert resolution.commune.insee_code == "69266"


def test_resolution_to_dict_is_json(index):
    data = json.loads(json.dumps(resolve_location(index, "Évry").to_dict(), ensure_ascii=False))
    assert data["status"] == "ambiguous"
    assert data["candidates"][0]["postal_codes"] == ["91000", "91080"]


TEXT_MATCHES = [
    pytest.param("y a une mission locale vers villeurbanne ?", "69266", id="vers-lower-case"),
    pytest.param("je veux reprendre mes études à Lyon", "69123", id="a-capitalised"),
    pytest.param("je vais à Tours la semaine prochaine", "37261", id="common-word-after-preposition"),
    pytest.param("j'habite Saint-Denis (93)", "93066", id="name-with-departement"),
    pytest.param("j'habite evry 91000", "91228", id="name-with-postal-code"),
    pytest.param("je suis à Lyon 3e", "69383", id="arrondissement"),
    pytest.param("mon code postal c'est 69100", "69266", id="postal-code"),
    pytest.param("mes parents habitent près de Grenoble", "38185", id="pres-de"),
    pytest.param("j'habite à l'haÿ-les-roses", "94038", id="elided-article"),
    pytest.param("JE SUIS A MARSEILLE", "13055", id="all-capitals"),
    pytest.param("ma position 45.767, 4.88", "69266", id="coordinates"),
    pytest.param("je vis à Évry, dans l'Essonne", "91228", id="departement-name-elsewhere"),
    pytest.param("j'habite à Évry dans le 89", "89162", id="departement-code-elsewhere"),
]


@pytest.mark.parametrize(("text", "code"), TEXT_MATCHES)
def test_find_in_text_matches(index, text, code):
    resolution = find_location_in_text(index, text)
    assert resolution is not None
    assert resolution.commune.insee_code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("je suis dans le 93", "93", id="dans-le-93"),
        pytest.param("je suis du 13", "13", id="du-13"),
        pytest.param("je vis en Seine-Saint-Denis", "93", id="departement-name"),
        pytest.param("j'habite dans la Creuse", "23", id="departement-with-article"),
        # Not the commune La Réunion (47): the overseas départements take « à ».
        pytest.param("y en a a la reunion ?", "974", id="a-la-reunion"),
    ],
)
def test_find_in_text_departement(index, text, code):
    resolution = find_location_in_text(index, text)
    assert resolution.kind == "departement"
    assert resolution.departement_code == code


def test_find_in_text_ambiguous_name(index):
    resolution = find_location_in_text(index, "j'habite à saint denis")
    assert resolution.status == "ambiguous"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("je suis au bar avec marie", id="bar-marie"),
        pytest.param("j'ai une vue sur la mer", id="vue-mer"),
        pytest.param("sept ans que j'ai arrêté", id="sept"),
        pytest.param("y a quoi comme formation", id="y"),
        pytest.param("je fais des tours de vélo", id="tours-common-word"),
        pytest.param("je vais en cours demain", id="cours-after-en"),
        pytest.param("c'est un plaisir", id="plaisir"),
        pytest.param("je vais à la ville", id="la-ville"),
        pytest.param("c'est trop cher", id="cher"),
        pytest.param("j'ai 17 ans", id="age"),
        pytest.param("le 15 mars j'ai rendez-vous", id="date"),
        pytest.param("je cherche une formation en cuisine", id="training-request"),
        pytest.param("bonjour", id="greeting"),
        pytest.param("", id="empty"),
        pytest.param("mon mail c'est jean.dupont@orange.fr", id="e-mail-domain"),
        pytest.param("regarde sur www.free.fr/aide", id="link-domain"),
        # La Crèche (79), typed without its accent.
        pytest.param("y a des aides pour la creche ?", id="creche-without-accent"),
    ],
)
def test_find_in_text_no_match(index, text):
    assert find_location_in_text(index, text) is None


def test_find_in_text_long_text_finds_nothing(index):
    # Its speed is measured by bench/location_resolution.py.
    assert find_location_in_text(index, "je cherche une formation pas loin " * 500) is None


def test_find_in_text_long_story_end(index):
    story = "jai arrete le lycee en premiere a cause de plein de trucs, " * 30 + "bref je suis a Rennes"
    assert len(story) > 1000
    assert find_location_in_text(index, story).commune.insee_code == "35238"


def test_find_in_text_cut_word(index):
    # Cut in the middle, « arrete » would leave « arre », the commune Arre (30).
    text = "x" * (MAX_TEXT_CHARS - len(" jai arre")) + " jai arrete le lycee"
    assert text[:MAX_TEXT_CHARS].endswith(" arre")
    assert find_location_in_text(index, text) is None


CONTRACTED_CASES = [
    pytest.param("au Mans", "72181", id="au-le-mans"),
    pytest.param("du Mans", "72181", id="du-le-mans"),
    pytest.param("au Havre", "76351", id="au-le-havre"),
    pytest.param("aux Mureaux", "78440", id="aux-les-mureaux"),
    pytest.param("des Mureaux", "78440", id="des-les-mureaux"),
    pytest.param("au mans 72", "72181", id="with-departement"),
    pytest.param("Aux-Aussat", "32020", id="name-starting-with-aux"),
]


@pytest.mark.parametrize(("query", "code"), CONTRACTED_CASES)
def test_resolve_contracted_article(index, query, code):
    resolution = resolve_location(index, query)
    assert resolution.status == "found"
    assert resolution.commune.insee_code == code


def test_resolve_contracted_article_keeps_query(index):
    assert resolve_location(index, "au Mans").query == "au Mans"


@pytest.mark.parametrize("query", [pytest.param("au", id="au"), pytest.param("aux", id="aux"), pytest.param("du", id="du")])
def test_resolve_contraction_alone_not_found(index, query):
    assert resolve_location(index, query).status == "not_found"


CONTRACTED_TEXT_MATCHES = [
    pytest.param("je suis au Mans, qui peut m'aider ?", "72181", id="au-mans"),
    pytest.param("je viens du Mans", "72181", id="du-mans"),
    pytest.param("j'habite au havre", "76351", id="au-havre-lower-case"),
    pytest.param("je vis aux Mureaux", "78440", id="aux-mureaux"),
    pytest.param("je suis des Ulis", "91692", id="des-ulis"),
    pytest.param("j'habite aux sables d'olonne", "85194", id="aux-sables-d-olonne"),
    pytest.param("j'habite au tampon", "97422", id="large-city-named-by-a-common-word"),
]


@pytest.mark.parametrize(("text", "code"), CONTRACTED_TEXT_MATCHES)
def test_find_in_text_contracted_article(index, text, code):
    resolution = find_location_in_text(index, text)
    assert resolution is not None
    assert resolution.commune.insee_code == code


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("je vais au parc", id="au-parc"),
        pytest.param("je suis du quartier", id="du-quartier"),
        pytest.param("au passage j'ai 17 ans", id="au-passage"),
        pytest.param("je vais aux halles", id="aux-halles"),
        pytest.param("je suis au port", id="au-port-blocked"),
        pytest.param("je bosse au temple", id="au-temple"),
        pytest.param("je suis au chômage", id="au-chomage"),
        pytest.param("du coup je sais pas", id="du-coup"),
        pytest.param("des fois je sais pas", id="des-fois"),
        pytest.param("au moins une formation", id="au-moins"),
    ],
)
def test_find_in_text_contracted_common_words(index, text):
    assert find_location_in_text(index, text) is None


def test_find_in_text_contracted_capitalised_common_word(index):
    resolution = find_location_in_text(index, "je suis aux Halles")
    assert resolution.commune.name == "Les Halles"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        pytest.param("La Rochelle", "17300", id="la-rochelle"),
        pytest.param("Évry", "91228", id="evry"),
    ],
)
def test_resolution_dominant_set(index, query, code):
    resolution = resolve_location(index, query)
    assert resolution.status == "ambiguous"
    assert resolution.dominant.insee_code == code
    assert resolution.dominant == resolution.candidates[0]


@pytest.mark.parametrize(
    "query",
    [pytest.param("Saint-Denis", id="saint-denis"), pytest.param("Sainte-Geneviève-des-Bois", id="sainte-genevieve")],
)
def test_resolution_dominant_none(index, query):
    resolution = resolve_location(index, query)
    assert resolution.status == "ambiguous"
    assert resolution.dominant is None


@pytest.mark.parametrize("query", ["Montreuil", "Valence", "Saint-Paul", "La Rochelle", "Saint-Denis"])
def test_resolution_dominant_follows_ratio(index, communes_csv, query):
    resolution = resolve_location(index, query)
    first, second = (int(communes_csv[(c.insee_code, c.type)]["population"] or 0) for c in resolution.candidates[:2])
    assert (resolution.dominant is not None) == (first >= 100 * max(second, 1))


def test_resolution_dominant_none_when_found(index):
    assert resolve_location(index, "Villeurbanne").dominant is None


def test_resolution_dominant_in_dict(index):
    data = json.loads(json.dumps(resolve_location(index, "La Rochelle").to_dict(), ensure_ascii=False))
    assert data["dominant"]["insee_code"] == "17300"
    assert data["status"] == "ambiguous"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        pytest.param("75000", "75056", id="paris"),
        pytest.param("69000", "69123", id="lyon"),
        pytest.param("13000", "13055", id="marseille"),
    ],
)
def test_resolve_city_wide_postal_code(index, query, code):
    resolution = resolve_location(index, query)
    assert resolution.status == "found"
    assert resolution.kind == "postal_code"
    assert resolution.commune.insee_code == code


def test_city_wide_postal_code_not_in_data(data_dir, read_rows):
    codes = {row["code_postal"] for row in read_rows(data_dir / "communes" / "codes_postaux_2026.csv")}
    assert {"75000", "69000", "13000"} & codes == set()


def test_resolve_city_with_city_wide_postal_code(index):
    assert resolve_location(index, "Lyon 69000").commune.insee_code == "69123"


def test_find_in_text_city_wide_postal_code(index):
    assert find_location_in_text(index, "j'habite 75000").commune.insee_code == "75056"


@pytest.mark.parametrize("query", ["bordo", "lyonnn", "99999"])
def test_unknown_query_resembles_place_name(index, query):
    assert resolve_location(index, query).status == "not_found"
    assert resembles_place_name(index, query)


@pytest.mark.parametrize(
    "query", ["c'est loin", "la vue est belle", "je vais au bar", "j'ai sept ans de retard", "chez moi", ""]
)
def test_sentence_does_not_resemble_place_name(index, query):
    assert not resembles_place_name(index, query)
