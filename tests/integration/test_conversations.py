"""Conversations through the widget channel with the real Rasa and action servers.

The expected places are read from the open data files by these tests
themselves, so they check the service against the data, not against the
service's own search code.
"""

import csv
import json
import math
import os
import re
import urllib.request
from pathlib import Path
from typing import List

import pytest

from knowledge.helplines import load_helplines
from tests.integration.stack import Stack
from tests.integration.widget_client import WidgetUser, buttons, place_cards, texts

DATA_DIR = Path(os.environ.get("SECONDE_CHANCE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    radius = 6371.0088
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


def nearest_names_in_csv(file_name: str, latitude: float, longitude: float, count: int) -> List[str]:
    """Names of the nearest rows of a places file, computed from the CSV."""
    with open(DATA_DIR / "places" / file_name, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["latitude"] and r["longitude"]]
    rows.sort(key=lambda r: _haversine_km(latitude, longitude, float(r["latitude"]), float(r["longitude"])))
    return [r["name"] for r in rows[:count]]


def commune_centre(insee_code: str):
    with open(DATA_DIR / "communes" / "communes_france_2026.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["code_insee"] == insee_code and row["type"] != "commune-deleguee":
                return float(row["latitude"]), float(row["longitude"])
    raise LookupError(insee_code)


def test_greeting_offers_buttons(widget_user: WidgetUser):
    reply = widget_user.say("bonjour")
    payloads = [b["payload"] for b in buttons(reply)]
    assert "/find_place" in payloads
    assert "/find_training" in payloads


def test_place_search_by_city(widget_user: WidgetUser):
    reply = widget_user.say("y a une mission locale vers Villeurbanne ?")
    cards = place_cards(reply)
    expected = nearest_names_in_csv("missions_locales.csv", *commune_centre("69266"), 1)
    assert cards, texts(reply)
    assert cards[0]["name"] == expected[0]
    assert all(card["type"] == "mission_locale" for card in cards)
    assert cards[0]["distance_km"] < 10


def test_place_search_by_postal_code(widget_user: WidgetUser):
    reply = widget_user.say("y a une mission locale vers 69100 ?")
    cards = place_cards(reply)
    expected = nearest_names_in_csv("missions_locales.csv", *commune_centre("69266"), 1)
    assert cards, texts(reply)
    assert cards[0]["name"] == expected[0]


def test_place_search_by_coordinates(widget_user: WidgetUser):
    widget_user.say("je cherche un CIO")
    widget_user.send(
        {"message": "Ma position", "session_id": widget_user.session_id,
         "location": {"latitude": 45.7670, "longitude": 4.8800}}
    )
    reply = widget_user.collect()
    cards = place_cards(reply)
    expected = nearest_names_in_csv("cio.csv", 45.767, 4.88, 1)
    assert cards, texts(reply)
    assert cards[0]["name"] == expected[0]
    assert cards[0]["type"] == "cio"


def test_place_search_asks_for_location(widget_user: WidgetUser):
    reply = widget_user.say("je cherche une mission locale")
    assert "ville" in texts(reply)
    assert place_cards(reply) == []

    reply = widget_user.say("Roubaix")
    cards = place_cards(reply)
    expected = nearest_names_in_csv("missions_locales.csv", *commune_centre("59512"), 1)
    assert cards, texts(reply)
    assert cards[0]["name"] == expected[0]


def test_ambiguous_commune_offers_buttons(widget_user: WidgetUser):
    reply = widget_user.say("une mission locale à Saint-Denis")
    offered = buttons(reply)
    payloads = [b["payload"] for b in offered]
    assert any('"97411"' in p for p in payloads), payloads
    assert any('"93066"' in p for p in payloads), payloads
    assert any("Seine-Saint-Denis" in b["title"] for b in offered)

    choice = next(p for p in payloads if '"93066"' in p)
    reply = widget_user.say(choice)
    cards = place_cards(reply)
    expected = nearest_names_in_csv("missions_locales.csv", *commune_centre("93066"), 1)
    assert cards, texts(reply)
    assert cards[0]["name"] == expected[0]


def test_unknown_place_reported(widget_user: WidgetUser):
    reply = widget_user.say("une mission locale à Bruxelles")
    assert place_cards(reply) == []
    assert "Je ne trouve pas" in texts(reply)


def test_training_search_by_field(widget_user: WidgetUser):
    reply = widget_user.say("je veux faire un CAP cuisine à Lyon")
    trainings = [
        t for m in reply if (m.get("custom") or {}).get("type") == "training_cards"
        for t in m["custom"]["trainings"]
    ]
    assert trainings, texts(reply)
    assert any("cuisine" in t["name"].lower() for t in trainings)
    assert all((t.get("url") or "").startswith("http") for t in trainings)
    assert place_cards(reply), "re-entry structures near Lyon expected"


def test_training_search_resume_studies(widget_user: WidgetUser):
    reply = widget_user.say("je veux reprendre mes études à Lyon")
    cards = place_cards(reply)
    types = {card["type"] for card in cards}
    assert types & {"micro_lycee", "e2c", "epide"}, texts(reply)


def test_distress_gets_numbers_at_once(widget_user: WidgetUser):
    reply = widget_user.say("je pense a me suicider")
    content = texts(reply)
    assert "3114" in content
    assert place_cards(reply) == []


def test_distress_wins_over_search(widget_user: WidgetUser):
    reply = widget_user.say("je cherche un CAP mais franchement je veux plus vivre")
    assert "3114" in texts(reply)


def test_violence_gets_119(widget_user: WidgetUser):
    reply = widget_user.say("mon beau pere me frappe quand ma mere est pas la")
    assert "119" in texts(reply)


def test_numbers_come_from_helplines_file(widget_user: WidgetUser):
    allowed = {h.number.replace(" ", "") for h in load_helplines().helplines}
    reply = widget_user.say("ce soir j'ai pris des cachets")
    content = texts(reply)
    assert "15" in content or "112" in content
    # Every phone-like number shown must be a reviewed helpline.
    for number in re.findall(r"(?<![\d/])(?:0\d(?: ?\d{2,3}){3,4}|\b1\d{1,2}\b|\b3\d{3}\b)", content):
        assert number.replace(" ", "") in allowed, number


def test_parent_distress_answered_in_vous(widget_user: WidgetUser):
    reply = widget_user.say("mon fils dit qu'il veut mourir, je ne sais plus quoi faire")
    content = texts(reply)
    assert "3114" in content
    assert "Vous avez bien fait" in content
    assert not re.search(r"\b(tu|te|toi|ton|ta|tes)\b|\bt'", content)


@pytest.mark.parametrize("text", ["Bonjour, je suis la mère de Léa", "je suis sa grand-mère"])
def test_parent_greeting_answered_in_vous(widget_user: WidgetUser, text: str):
    reply = widget_user.say(text)
    content = texts(reply)
    assert "vous" in content
    assert not re.search(r"\b(tu|te|toi|ton|ta|tes)\b|\bt'", content)


def test_young_age_brings_back_tu(widget_user: WidgetUser):
    # A young person first taken for a parent is addressed with « tu » as soon as they give their age.
    widget_user.say("Bonjour, je suis la mère de Léa")
    reply = widget_user.say("non en fait c'est moi Léa, j'ai 17 ans, c'est quoi l'EPIDE ?")
    content = texts(reply)
    assert "EPIDE" in content
    assert re.search(r"\b(tu|te|toi|ton|ta|tes)\b|\bt'", content)
    assert not re.search(r"\bvous\b", content)


def test_explained_scheme_found_nearby(widget_user: WidgetUser):
    widget_user.say("c koi l'epide")
    reply = widget_user.say("y en a un pres de bordeaux ?")
    cards = place_cards(reply)
    assert cards
    assert {card["type"] for card in cards} == {"epide"}


@pytest.mark.parametrize("text", ["mdr je vais mourir si je rate ce cap", "jvais crever de honte si jrate mon bac"])
def test_joke_about_dying_gets_check_in(widget_user: WidgetUser, text: str):
    # Whatever intent the model predicts, the reply ends with « est-ce que ça va ? », without the numbers.
    reply = widget_user.say(text)
    content = texts(reply)
    assert "est-ce que ça va de ton côté ?" in content
    assert "3114" not in content


@pytest.mark.parametrize(
    "text, expected",
    [
        ("slt c koi l'epide", "EPIDE"),
        ("coucou je veux parler à un conseiller", "conseill"),
    ],
)
def test_greeting_with_request_answered(widget_user: WidgetUser, text: str, expected: str):
    reply = widget_user.say(text)
    assert expected in texts(reply)


def test_departement_in_sms_spelling(widget_user: WidgetUser):
    reply = widget_user.say("y a un truc pr reprendre vers 93 ?")
    cards = place_cards(reply)
    assert cards
    assert all(card["distance_km"] < 30 for card in cards)


def test_region_offers_departements(widget_user: WidgetUser):
    reply = widget_user.say("je cherche une mission locale en Bretagne")
    payloads = {b["payload"] for b in buttons(reply)}
    assert '/inform_location{"location": "35"}' in payloads
    assert place_cards(reply) == []

    reply = widget_user.say('/inform_location{"location": "35"}')
    assert place_cards(reply)


@pytest.mark.parametrize("text", ["i wanna die", "quiero morir"])
def test_short_foreign_distress_gets_112(widget_user: WidgetUser, text: str):
    assert "112" in texts(widget_user.say(text))


def test_foreign_message_told_french_only(widget_user: WidgetUser):
    reply = widget_user.say("hello can you help me find a school")
    content = texts(reply)
    assert "I can only answer in French" in content
    assert "112" in content


@pytest.mark.parametrize(
    "text",
    ["/restart", '/ask_counsellor{"x":1}', "/find_place", '/inform_location{"commune_insee": "75056"}'],
)
def test_typed_commands_are_text(widget_user: WidgetUser, text: str):
    widget_user.say("bonjour")
    reply = widget_user.say(text)
    assert reply, "a reply is expected"
    # A typed payload never reaches its intent: no place card for the
    # injected Paris location, no restart that would greet again silently.
    assert place_cards(reply) == []
    assert all(m.get("text") or m.get("custom") for m in reply)


def tracker_of(stack: Stack, session_id: str) -> dict:
    """Return the session's tracker, read through Rasa's HTTP API."""
    url = f"{stack.rasa_url}/conversations/{session_id}/tracker?token={stack.env['RASA_TOKEN']}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.mark.parametrize(
    "text, injected_slots",
    [
        ('/inform_location{"commune_insee": "75056"}', {"commune_insee": "75056"}),
        (
            '/find_place{"place_type": "type_injecte", "latitude": 45.0, "longitude": 4.0}',
            {"place_type": "type_injecte", "latitude": 45.0, "longitude": 4.0},
        ),
        ('/distress{"role": "adult"}', {"role": "adult"}),
        ('/distress{"writer": "adult"}', {"role": "adult"}),
        ('find_training{"field": "champ_injecte"}', {"field": "champ_injecte"}),
    ],
)
def test_typed_command_sets_nothing(live_stack: Stack, widget_user: WidgetUser, text: str, injected_slots: dict):
    widget_user.say("bonjour")
    widget_user.say(text)
    tracker = tracker_of(live_stack, widget_user.session_id)
    user_events = [event for event in tracker["events"] if event.get("event") == "user"]
    parse_data = user_events[-1]["parse_data"]

    # Rasa parses a "/intent{...}" message itself, with a one-intent ranking
    # and entities that no extractor found; NLU must have run instead.
    assert len(parse_data["intent_ranking"]) > 1
    assert all("extractor" in entity for entity in parse_data["entities"])
    for slot, value in injected_slots.items():
        assert tracker["slots"].get(slot) != value, slot
    assert tracker["paused"] is False


def test_empty_message_answered(widget_user: WidgetUser):
    reply = widget_user.say("   ")
    assert "vide" in texts(reply)


def test_very_long_message_answered(widget_user: WidgetUser):
    reply = widget_user.say("je cherche une formation " * 400)
    assert "très long" in texts(reply)
    assert len(reply) >= 2


def test_emoji_only_message_answered(widget_user: WidgetUser):
    reply = widget_user.say("😀😀🔥")
    assert texts(reply).strip()


def test_html_message_answered_as_text(widget_user: WidgetUser):
    reply = widget_user.say("<script>alert(1)</script>")
    assert texts(reply).strip()
    assert "<script>" not in texts(reply)
