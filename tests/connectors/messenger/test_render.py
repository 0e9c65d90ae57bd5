"""Tests of connectors.messenger.render, checked against the fake Graph API's validation of Messenger's limits."""

import pytest

from connectors import cards
from connectors.messenger import messages, render
from tests.connectors.messenger.fake_graph_api import message_problem
from tests.connectors.messenger.helpers import PLACE_CARD


def assert_valid(items):
    for item in items:
        assert message_problem(item) is None, item


@pytest.mark.parametrize("text, limit, expected", [
    ("Parler à un conseiller", 20, "Parler à un…"),
    ("Trouver un lieu près de chez moi", 20, "Trouver un lieu…"),
    ("Court", 20, "Court"),
    ("Exactement vingt car", 20, "Exactement vingt car"),
    ("Anticonstitutionnellement", 20, "Anticonstitutionnel…"),
    ("  espaces   multiples  ", 20, "espaces multiples"),
    ("Mission locale, antenne de Lyon", 16, "Mission locale…"),
])
def test_shorten(text, limit, expected):
    assert render.shorten(text, limit) == expected
    assert len(render.shorten(text, limit)) <= limit


def test_short_text_one_message():
    assert render.text_messages("Bonjour\n\nÇa va ?") == [{"text": "Bonjour\n\nÇa va ?"}]


def test_empty_text_no_message():
    assert render.text_messages("  \n\n ") == []
    assert render.text_messages(None) == []


def test_long_text_split_on_paragraphs():
    paragraphs = [f"Paragraphe {index} " + "mot " * 200 for index in range(5)]
    chunks = render.split_text("\n\n".join(paragraphs))
    assert all(len(chunk) <= render.MAX_TEXT_CHARS for chunk in chunks)
    assert len(chunks) == 3
    rejoined = "\n\n".join(chunks)
    assert [part.strip() for part in rejoined.split("\n\n")] == [p.strip() for p in paragraphs]


def test_paragraph_longer_than_limit_split_at_sentence():
    sentence = "Ceci est une phrase assez longue pour remplir le message. "
    text = sentence * 60
    chunks = render.split_text(text)
    assert all(len(chunk) <= render.MAX_TEXT_CHARS for chunk in chunks)
    assert all(chunk.endswith(".") for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


def test_word_without_spaces_cut_hard():
    chunks = render.split_text("x" * 4500)
    assert [len(chunk) for chunk in chunks] == [2000, 2000, 500]


def test_quick_replies_attached_to_last_part():
    items = render.text_with_quick_replies("Premier.\n\nChoisis :", [
        {"title": "Trouver un lieu près de chez moi", "payload": "/find_place"},
        {"title": "Parler à un conseiller", "payload": "/ask_counsellor"},
    ])
    assert items == [{"text": "Premier.\n\nChoisis :", "quick_replies": [
        {"content_type": "text", "title": "Un lieu près de moi", "payload": "/find_place"},
        {"content_type": "text", "title": "Un conseiller", "payload": "/ask_counsellor"},
    ]}]
    assert_valid(items)


def test_every_long_domain_title_has_a_short_form():
    import yaml
    from pathlib import Path

    titles = set()
    for path in (Path(__file__).resolve().parents[3] / "bot" / "domain").glob("*.yml"):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}
        for variations in responses.values():
            for variation in variations:
                titles.update(button["title"] for button in variation.get("buttons") or [])
    too_long = sorted(t for t in titles if len(t) > 20 and t not in messages.SHORT_BUTTON_TITLES)
    assert too_long == []
    assert all(len(short) <= 20 for short in messages.SHORT_BUTTON_TITLES.values())


def test_long_run_time_titles_listed_in_text():
    [item] = render.text_with_quick_replies("Laquelle est la tienne ?", [
        {"title": "Saint-Denis (La Réunion)", "payload": '/inform_location{"commune_insee": "97411"}'},
        {"title": "Saint-Denis (Seine-Saint-Denis)", "payload": '/inform_location{"commune_insee": "93066"}'},
        {"title": "Saint-Denis (Aude)", "payload": '/inform_location{"commune_insee": "11339"}'},
    ])
    assert item["text"] == (
        "Laquelle est la tienne ?\n\n1. Saint-Denis (La Réunion)\n"
        "2. Saint-Denis (Seine-Saint-Denis)\n3. Saint-Denis (Aude)"
    )
    assert [reply["title"] for reply in item["quick_replies"]] == [
        "1. Saint-Denis (La…", "2. Saint-Denis…", "3. Saint-Denis…"
    ]
    assert_valid([item])


def test_at_most_thirteen_quick_replies():
    buttons = [{"title": f"Option {index}", "payload": f"/option_{index}"} for index in range(20)]
    [item] = render.text_with_quick_replies("Choisis :", buttons)
    assert len(item["quick_replies"]) == 13
    assert_valid([item])


def test_unusable_buttons_left_out():
    buttons = [{"title": "", "payload": "/a"}, {"title": "B", "payload": "x" * 1001}, "pas un bouton",
               {"title": "C", "payload": None}, {"title": "D", "payload": "/d"}]
    [item] = render.text_with_quick_replies("Choisis :", buttons)
    assert [reply["title"] for reply in item["quick_replies"]] == ["D"]


def test_buttons_without_text_get_prompt():
    [item] = render.text_with_quick_replies("", [{"title": "Oui", "payload": "/affirm"}])
    assert item["text"] == messages.CHOOSE_PROMPT


@pytest.mark.parametrize("phone, expected", [
    ("04 78 00 00 00", "+33478000000"),
    ("04.78.00.00.00", "+33478000000"),
    ("+33 4 78 00 00 00", "+33478000000"),
    ("0033 4 78 00 00 00", "+33478000000"),
    ("02 62 12 34 56", "+262262123456"),
    ("06 90 12 34 56", "+590690123456"),
    ("05 96 12 34 56", "+596596123456"),
    ("3114", None),
    ("04 78", None),
    (None, None),
    ("appeler le standard", None),
])
def test_phone_e164(phone, expected):
    assert render.phone_e164(phone) == expected


def test_place_element():
    element = render.place_element(PLACE_CARD)
    assert element == {
        "title": "Mission locale de Lyon",
        "subtitle": "Mission locale · à 1,2 km · 8 rue de l'Exemple, 69001 Lyon · contact@exemple.fr",
        "buttons": [
            {"type": "web_url", "url": PLACE_CARD["map_url"], "title": "Voir sur la carte"},
            {"type": "phone_number", "title": "Appeler", "payload": "+33478000000"},
            {"type": "web_url", "url": "https://www.exemple.fr", "title": "Site web"},
        ],
    }


def test_place_element_to_check_and_long():
    card = dict(PLACE_CARD, name="Centre " * 30, address="Bâtiment B, " * 10, approximate=True, phone="3939",
                website=None, map_url=None)
    element = render.place_element(card)
    assert len(element["title"]) <= 80
    assert element["subtitle"].startswith("Mission locale · à 1,2 km · adresse à vérifier · Bâtiment B")
    assert len(element["subtitle"]) <= 80
    assert "buttons" not in element


def test_place_element_phone_in_subtitle_without_button():
    card = {"name": "Point accueil", "type_label": "PAEJ", "phone": "3939"}
    assert render.place_element(card)["subtitle"] == "PAEJ · Tél. 3939"


def test_place_element_without_details():
    assert render.place_element({}) == {"title": "Lieu", "subtitle": messages.PLACE_SUBTITLE_FALLBACK}


def test_place_cards_ten_per_template():
    items = render.custom_messages({"type": "place_cards", "places": [PLACE_CARD] * 12})
    assert [len(item["attachment"]["payload"]["elements"]) for item in items] == [10, 2]
    assert_valid(items)


def test_training_cards():
    [item] = render.custom_messages({"type": "training_cards", "trainings": [
        {"name": "CAP Cuisine", "type_label": "CAP", "level": "niveau 3", "duration": "2 ans",
         "url": "https://www.onisep.fr/cap-cuisine"},
        {"name": "Formation sans lien"},
    ]})
    elements = item["attachment"]["payload"]["elements"]
    assert elements[0] == {"title": "CAP Cuisine", "subtitle": "CAP · niveau 3 · 2 ans", "buttons": [
        {"type": "web_url", "url": "https://www.onisep.fr/cap-cuisine", "title": "Fiche Onisep"}]}
    assert elements[1] == {"title": "Formation sans lien", "subtitle": messages.TRAINING_SUBTITLE_FALLBACK}
    assert_valid([item])


def test_notice_is_text():
    assert render.custom_messages({"type": "notice", "text": "Un conseiller a rejoint la conversation."}) == [
        {"text": "Un conseiller a rejoint la conversation."}]


def test_unknown_custom_left_out(caplog):
    assert render.custom_messages({"type": "carousel"}) == []
    assert "carousel" in caplog.text


def test_image_message():
    assert render.image_message("https://exemple.fr/a.png") == {
        "attachment": {"type": "image", "payload": {"url": "https://exemple.fr/a.png", "is_reusable": True}}}
    assert render.image_message("data:image/png;base64,xx") is None


def test_handoff_counsellor_text_signed():
    message = {"text": "Bonjour", "author": "counsellor", "counsellor_name": "Amina", "message_id": 4}
    items = render.handoff_messages(message)
    assert items == [{"text": cards.handoff_text(message)}]
    assert "Amina" in items[0]["text"]
    assert items[0]["text"].endswith("Bonjour")


def test_handoff_notice():
    items = render.handoff_messages({"custom": {"type": "notice", "text": "Un conseiller a rejoint la conversation.",
                                                "with_counsellor": True}, "author": "system", "message_id": 5})
    assert items == [{"text": "Un conseiller a rejoint la conversation."}]


def test_handoff_counsellor_places_as_template():
    items = render.handoff_messages({"custom": {"type": "place_cards", "places": [PLACE_CARD]},
                                     "author": "counsellor", "counsellor_name": "Amina", "message_id": 6})
    assert items[0] == {"text": cards.handoff_text({"text": "Je t'envoie cette adresse :", "author": "counsellor",
                                                    "counsellor_name": "Amina"})}
    assert "Amina" in items[0]["text"]
    assert items[1]["attachment"]["payload"]["elements"][0]["title"] == "Mission locale de Lyon"
    assert_valid(items)
