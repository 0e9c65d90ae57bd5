"""Tests of connectors.cards, the text of structured messages on the platforms."""

import pytest

from connectors import cards
from connectors.cards import (
    custom_text,
    distance_text,
    handoff_text,
    place_subtitle,
    place_text,
    place_title,
    training_text,
)

PLACE = {
    "name": "Mission locale de Lyon",
    "type": "mission_locale",
    "type_label": "Mission locale",
    "address": "12 rue de la République",
    "postal_code": "69001",
    "commune": "Lyon",
    "distance_km": 2.35,
    "phone": "04 00 00 00 00",
    "email": None,
    "website": "https://example.org/ml-lyon",
    "map_url": "https://www.openstreetmap.org/?mlat=45.76&mlon=4.83",
    "approximate": False,
    "address_checked": True,
}


def test_distance_uses_a_french_decimal_comma():
    assert distance_text({"distance_km": 2.35}) == "à 2,4 km"
    assert distance_text({"distance_km": 12.6}) == "à 13 km"
    assert distance_text({"distance_km": None}) == ""
    assert distance_text({"distance_km": True}) == ""


def test_place_title_and_subtitle():
    assert place_title(PLACE) == "Mission locale de Lyon"
    assert place_subtitle(PLACE) == "Mission locale · à 2,4 km · 12 rue de la République, 69001 Lyon"
    assert place_title({"type_label": "CIO"}) == "CIO"


def test_place_text_lists_the_contact_lines():
    assert place_text(PLACE).splitlines() == [
        "Mission locale de Lyon",
        "Mission locale · à 2,4 km",
        "12 rue de la République, 69001 Lyon",
        "Tél. : 04 00 00 00 00",
        "Site : https://example.org/ml-lyon",
    ]


def test_place_text_warns_when_the_address_is_unsure():
    assert place_text({**PLACE, "address_checked": False}).endswith("Adresse à vérifier avant tout déplacement.")


def test_training_text():
    card = {"name": "CAP Cuisine", "type_label": "CAP", "level": "niveau 3", "duration": "2 ans", "url": None}
    assert training_text(card) == "CAP Cuisine\nCAP · niveau 3 · 2 ans"


def test_custom_text_of_each_type():
    assert custom_text({"type": "notice", "text": "Un conseiller a rejoint la conversation."}) == (
        "Un conseiller a rejoint la conversation."
    )
    two = custom_text({"type": "place_cards", "places": [PLACE, {**PLACE, "name": "CIO de Lyon"}]})
    assert two.split("\n\n")[1].startswith("CIO de Lyon")
    assert custom_text({"type": "training_cards", "trainings": [{"name": "CAP Cuisine"}]}) == "CAP Cuisine"
    assert custom_text({"type": "unknown"}) is None
    assert custom_text({"type": "place_cards", "places": "not a list"}) is None
    assert custom_text("text") is None


def test_handoff_text_signs_counsellor_messages():
    message = {"text": "Bonjour, je suis là.", "author": "counsellor", "counsellor_name": "Camille", "message_id": 4}
    assert handoff_text(message) == "👤 Camille : Bonjour, je suis là."
    assert handoff_text({**message, "counsellor_name": ""}).startswith("👤 Conseiller : ")


def test_handoff_text_of_a_notice_and_of_cards():
    notice = {"custom": {"type": "notice", "text": "Je reprends la discussion."}, "author": "system", "message_id": 5}
    assert handoff_text(notice) == "Je reprends la discussion."
    cards = {"custom": {"type": "place_cards", "places": [PLACE]}, "author": "counsellor", "counsellor_name": "Camille"}
    assert handoff_text(cards).startswith("👤 Camille : Mission locale de Lyon\n")


@pytest.mark.parametrize("url, expected", [
    ("https://www.exemple.fr/page", "https://www.exemple.fr/page"),
    ("  http://exemple.fr/a  ", "http://exemple.fr/a"),
    ("https://www.openstreetmap.org/?mlat=1", "https://www.openstreetmap.org/?mlat=1"),
    ("www.exemple.fr", "https://www.exemple.fr"),
    ("exemple.fr/contact", "https://exemple.fr/contact"),
    ("javascript:alert(1)", None),
    ("mailto:contact@exemple.fr", None),
    ("ftp://exemple.fr", None),
    ("https://", None),
    ("https://exemple.fr/a b", None),
    ("/relative/path", None),
    ("", None),
    (None, None),
    (42, None),
    ("https://exemple.fr/" + "a" * 3000, None),
    ("exemple.fr/" + "a" * 1985, None),
    ("exemple.fr?a=1", "https://exemple.fr?a=1"),
    ("https://exemple.fr:8080/", "https://exemple.fr:8080/"),
    ("https://exemple.fr:99999/", None),
    ("https://-", None),
    ("https://.", None),
    ("https://exemple.fr/\x00", None),
    ("01.23.45.67.89", None),
    ("0.5", None),
])
def test_button_url(url, expected):
    assert cards.button_url(url) == expected
