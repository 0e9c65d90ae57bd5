"""Tests of the training fields (training_fields.yml) and of the field search on the real catalogue."""

import re
import unicodedata

import pytest
from sqlalchemy import func, select

from knowledge import field_for_text as exported_field_for_text
from knowledge.models import Training
from knowledge.search import search_trainings
from knowledge.training_fields import TrainingFieldsError, field_for_text, load_training_fields

CATALOGUE = "onisep/ideo-formations_initiales_en_france.csv"


def plain(text):
    """Lower case without accents, apostrophes and hyphens as spaces, written here independently."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(letters.replace("'", " ").replace("-", " ").replace("(", " ").replace(")", " ").split())


def names_one_of(name, words):
    """Tell whether a training name contains one of the words at the start of a word ("boulang" in "boulanger")."""
    return any(re.search(rf"\b{re.escape(word)}", plain(name)) for word in words)


@pytest.fixture(scope="module")
def catalogue_rows(data_dir, read_rows):
    return read_rows(data_dir / CATALOGUE, ";")


@pytest.fixture(scope="module")
def catalogue_names(catalogue_rows):
    return {row["libellé formation principal"] for row in catalogue_rows}


def audience_rows(rows):
    """Rows at RNCP level 3 (CAP) or 4 (bac), the levels the search puts first."""
    return [row for row in rows if row["libellé niveau RNCP"].startswith(("niveau 3", "niveau 4"))]


REQUIRED_FIELDS = {
    "mécanique", "cuisine", "restauration", "boulangerie-pâtisserie", "coiffure", "esthétique", "petite enfance",
    "aide à la personne", "vente", "logistique", "électricité", "plomberie", "bâtiment", "menuiserie", "peinture",
    "informatique", "sécurité", "agriculture et espaces verts", "animaux", "transport", "sport et animation",
    "hôtellerie", "couture et mode", "art et artisanat",
}


def test_fields_file_covers_required_fields():
    names = {training_field.name for training_field in load_training_fields()}
    assert REQUIRED_FIELDS <= names


def test_fields_file_terms_all_match(session):
    from knowledge.trainings import _catalogue_for

    catalogue = _catalogue_for(session)
    unmatched = [
        (training_field.name, " ".join(term))
        for training_field in load_training_fields()
        for term in training_field.terms
        if not catalogue.rows_containing(term)
    ]
    assert unmatched == []


# Field -> (typical query, words of which each of the first 3 names must contain one).
FIELD_QUERIES = {
    "mécanique": ("mécanique", ["maintenance des vehicules", "maintenance des materiels", "mecanicien", "carrosserie"]),
    "cuisine": ("cuisine", ["cuisine", "cuisinier"]),
    "restauration": ("serveur", ["restauration", "restaurant", "service"]),
    "boulangerie-pâtisserie": ("boulangerie", ["boulang", "patiss"]),
    "coiffure": ("coiffure", ["coiffure"]),
    "esthétique": ("esthétique", ["esthetique"]),
    "petite enfance": ("travailler avec les enfants", ["petite enfance", "puericulture", "enfance"]),
    "aide à la personne": ("aide à la personne", ["aide soignant", "accompagnant educatif et social", "a la personne", "aide a domicile"]),
    "vente": ("vente", ["vente", "commerce", "vendeur", "commercial"]),
    "logistique": ("logistique", ["logistique", "magasinier", "cariste"]),
    "électricité": ("électricité", ["electricien", "electricite"]),
    "plomberie": ("plombier", ["sanitaire", "thermique"]),
    "bâtiment": ("maçonnerie", ["macon", "maconnerie"]),
    "menuiserie": ("menuiserie", ["menuisier", "menuiserie"]),
    "peinture": ("peintre", ["peintre", "peinture"]),
    "informatique": ("informatique", ["numerique", "informatique"]),
    "sécurité": ("agent de sécurité", ["securite", "surete"]),
    "agriculture et espaces verts": ("paysagiste", ["paysag", "agricult"]),
    "animaux": ("animaux", ["soigneur", "toiletteur", "animalier", "canin", "elevage"]),
    "transport": ("chauffeur routier", ["conducteur", "conduite"]),
    "sport et animation": ("sport", ["educateur sportif", "animateur", "sportif"]),
    "hôtellerie": ("hôtellerie", ["hotellerie", "reception", "etage", "gouvernant"]),
    "couture et mode": ("couture", ["couture", "mode", "vetement"]),
    "art et artisanat": ("métiers d'art", ["art", "artisanat", "bijouterie", "ceramique", "verre", "reliure"]),
}


@pytest.mark.parametrize("field_name", sorted(FIELD_QUERIES))
def test_field_first_three_relevant(session, catalogue_names, field_name):
    query, words = FIELD_QUERIES[field_name]
    names = [hit.name for hit in search_trainings(session, query)[:3]]
    assert len(names) == 3
    assert set(names) <= catalogue_names
    assert [name for name in names if not names_one_of(name, words)] == []


@pytest.mark.parametrize("field_name", sorted(FIELD_QUERIES))
def test_field_first_three_audience_levels(session, catalogue_rows, field_name):
    query, _words = FIELD_QUERIES[field_name]
    audience_names = {row["libellé formation principal"] for row in audience_rows(catalogue_rows)}
    names = [hit.name for hit in search_trainings(session, query)[:3]]
    assert [name for name in names if name not in audience_names] == []


@pytest.mark.parametrize("field_name", sorted(FIELD_QUERIES))
def test_field_catalogue_has_matching_rows(catalogue_rows, field_name):
    _query, words = FIELD_QUERIES[field_name]
    matching = [row for row in audience_rows(catalogue_rows) if names_one_of(row["libellé formation principal"], words)]
    assert len(matching) >= 3


def test_mecanique_vehicle_maintenance_first(session):
    names = [hit.name for hit in search_trainings(session, "mécanique")[:3]]
    assert all(name.startswith("CAP Maintenance des véhicules") for name in names)


@pytest.mark.parametrize("word", ["fraiseur", "câbles", "Polynésie", "Nouvelle-Calédonie"])
def test_mecanique_irrelevant_rows_gone(session, word):
    names = [hit.name for hit in search_trainings(session, "mécanique", limit=20)]
    assert [name for name in names if word in name] == []


@pytest.mark.parametrize("query", ["méca", "meca", "mecanique auto", "garage", "CAP méca"])
def test_mecanique_synonyms(session, query):
    names = [hit.name for hit in search_trainings(session, query)[:3]]
    assert all("Maintenance des véhicules" in name for name in names)


def test_aide_soignant_first(session):
    assert search_trainings(session, "aide-soignant")[0].name == "Diplôme d'Etat d'aide-soignant"


def test_patisserie_before_boulangerie(session):
    assert search_trainings(session, "pâtisserie")[0].name == "CAP Pâtissier"


def test_field_search_keeps_diploma_filter(session):
    hits = search_trainings(session, "méca", diploma="bac pro")
    assert hits
    assert {hit.type_label for hit in hits} == {"baccalauréat professionnel"}


def test_field_search_accent_free_equal(session):
    assert search_trainings(session, "electricite") == search_trainings(session, "électricité")


def test_field_in_sentence_query(session):
    assert search_trainings(session, "jaime la meca")[0].name.startswith("CAP Maintenance des véhicules")


def test_overseas_rows_demoted(session):
    names = [hit.name for hit in search_trainings(session, "entretien mécanique", limit=10)]
    overseas = ["Polynésie" in name for name in names]
    assert True in overseas
    assert overseas == sorted(overseas)


def test_overseas_rows_when_asked(session):
    assert "Polynésie française" in search_trainings(session, "développement polynésie")[0].name


def test_onisep_urls_https(session):
    http = session.execute(select(func.count()).select_from(Training).where(Training.onisep_url.like("http:%"))).scalar_one()
    https = session.execute(select(func.count()).select_from(Training).where(Training.onisep_url.like("https://www.onisep.fr/%"))).scalar_one()
    assert http == 0
    assert https > 6000


def test_hit_onisep_url_https(session):
    assert all(hit.onisep_url.startswith("https://www.onisep.fr/") for hit in search_trainings(session, "mécanique"))


TEXT_FIELDS = [
    pytest.param("je voudrais travailler avec les enfants", "petite enfance", id="enfants"),
    pytest.param("jaime la meca", "mécanique", id="sms-meca"),
    pytest.param("J'AIME LA MÉCA", "mécanique", id="capitals"),
    pytest.param("je veux bosser dans un garage", "mécanique", id="garage"),
    pytest.param("je veux faire aide-soignante", "aide à la personne", id="aide-soignante"),
    pytest.param("je voudrais être coiffeuse", "coiffure", id="coiffeuse"),
    pytest.param("je veux travailler dans le bâtiment", "bâtiment", id="batiment"),
    pytest.param("je bosse sur un chantier", "bâtiment", id="sur-un-chantier"),
    pytest.param("j'aime les chevaux", "animaux", id="chevaux"),
    pytest.param("je fais des arts martiaux", "sport et animation", id="longest-phrase"),
    pytest.param("je voudrais bosser en crèche", "petite enfance", id="creche"),
    pytest.param("sécurité", "sécurité", id="alone-word-as-whole-message"),
    pytest.param("cap cuisine", "cuisine", id="with-diploma"),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_FIELDS)
def test_field_for_text_found(text, expected):
    assert field_for_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("je cherche une mission locale", id="mission-locale"),
        pytest.param("je me sens pas en sécurité", id="securite-in-sentence"),
        pytest.param("j'ai pas de transport", id="transport-in-sentence"),
        pytest.param("c'est le chantier dans ma tête", id="chantier-in-sentence"),
        pytest.param("j'ai deux chats", id="chats"),
        pytest.param("la crise sanitaire", id="sanitaire"),
        pytest.param("bonjour", id="greeting"),
        pytest.param("", id="empty"),
    ],
)
def test_field_for_text_none(text):
    assert field_for_text(text) is None


def test_field_for_text_exported():
    assert exported_field_for_text("jaime la meca") == "mécanique"


def write_fields(tmp_path, content):
    path = tmp_path / "fields.yml"
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("fields: []\n", "non-empty 'fields' list", id="no-field"),
        pytest.param("fields:\n  - name: cuisine\n    words: [cuisine]\n", "'terms' must be", id="no-terms"),
        pytest.param(
            "fields:\n  - name: cuisine\n    words: [cuisine, Cuisines]\n    terms: [cuisine]\n",
            "twice",
            id="duplicate-word",
        ),
        pytest.param(
            "fields:\n  - name: cuisine\n    words: [chef]\n    terms: [cuisine]\n"
            "  - name: restauration\n    words: [chef]\n    terms: [restauration]\n",
            "word of both",
            id="word-in-two-fields",
        ),
        pytest.param(
            "fields:\n  - name: cuisine\n    words: [de la]\n    terms: [cuisine]\n",
            "only stop words",
            id="stop-words-only",
        ),
    ],
)
def test_fields_file_invalid(tmp_path, content, message):
    with pytest.raises(TrainingFieldsError) as error:
        load_training_fields(write_fields(tmp_path, content))
    assert message in str(error.value)


def test_fields_file_other_path(tmp_path):
    path = write_fields(tmp_path, "fields:\n  - name: cuisine\n    words: [popote]\n    terms: [cuisine]\n")
    assert field_for_text("j'aime la popote", path=path) == "cuisine"
