"""Tests of bot.actions.search with real trackers and the imported knowledge base.

The knowledge database is the one the test command imports (KNOWLEDGE_DATABASE_URL).
"""

import pytest

from bot.actions.answers import ActionHandleFallback
from bot.actions.search import ActionFindPlaces, ActionFindTrainings, ActionHandleLocation
from tests.bot.conftest import entity, make_tracker


def test_find_places_by_city(run_action):
    tracker = make_tracker(
        "y a une mission locale vers villeurbanne ?", "find_place",
        [entity("place_type", "mission_locale"), entity("location", "villeurbanne")],
    )
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses[0] == "utter_places_intro"
    assert len(result.cards) == 3
    assert all(card["type"] == "mission_locale" for card in result.cards)
    assert result.cards[0]["distance_km"] <= result.cards[-1]["distance_km"]
    assert result.slot("commune_insee") == "69266"


def test_find_places_answers_side_questions_first(run_action):
    tracker = make_tracker("c koi une e2c et ya une mission locale a lille ? et on est payé ?", "find_place")
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses[:3] == ["utter_scheme_e2c", "utter_money", "utter_places_intro"]
    assert "mission_locale" in {card["type"] for card in result.cards}


def test_find_trainings_explains_asked_scheme(run_action):
    tracker = make_tracker("c'est quoi l'apprentissage ? je cherche un cap cuisine à Lyon", "find_training",
                           [entity("field", "cuisine"), entity("location", "Lyon")])
    result = run_action(ActionFindTrainings(), tracker)
    assert result.responses[0] == "utter_scheme_apprentissage"
    assert "utter_money" not in result.responses


def test_find_places_without_side_question_searches_only(run_action):
    tracker = make_tracker("il est ou le cio a bordeaux", "find_place")
    result = run_action(ActionFindPlaces(), tracker)
    assert not any(response.startswith("utter_scheme_") for response in result.responses)
    assert "utter_money" not in result.responses


def test_find_places_without_type_shows_advice_places(run_action):
    tracker = make_tracker("qui peut m'aider près de chez moi à Nantes", "find_place")
    result = run_action(ActionFindPlaces(), tracker)
    types = {card["type"] for card in result.cards}
    assert types == {"mission_locale", "cio"}


def test_places_of_several_types_sorted_by_distance(run_action):
    tracker = make_tracker("qui peut m'aider près de chez moi à Nantes", "find_place")
    result = run_action(ActionFindPlaces(), tracker)
    distances = [card["distance_km"] for card in result.cards]
    assert distances == sorted(distances)


def test_find_places_type_from_text(run_action):
    tracker = make_tracker("il est ou le cio a bordeaux", "find_place")
    result = run_action(ActionFindPlaces(), tracker)
    assert result.cards
    assert {card["type"] for card in result.cards} == {"cio"}


def test_find_places_asks_location(run_action):
    tracker = make_tracker("je cherche une mission locale", "find_place",
                           [entity("place_type", "mission_locale")])
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses == ["utter_ask_location"]
    assert result.slot("pending_search") == "place"
    assert result.slot("place_type") == "mission_locale"
    assert result.cards == []


def test_find_places_ambiguous_offers_buttons(run_action):
    tracker = make_tracker("une mission locale à Saint-Denis", "find_place",
                           [entity("location", "Saint-Denis")])
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses == ["utter_location_ambiguous"]
    payloads = [b["payload"] for b in result.messages[0]["buttons"]]
    assert payloads[0] == '/inform_location{"commune_insee": "97411"}'
    assert '/inform_location{"commune_insee": "93066"}' in payloads


def test_find_places_unknown_location(run_action):
    tracker = make_tracker("une mission locale à Bruxelles", "find_place",
                           [entity("location", "Bruxelles")])
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses == ["utter_location_not_found"]
    assert result.messages[0]["query"] == "Bruxelles"


def test_misspelt_town_is_quoted_back(run_action):
    tracker = make_tracker("bordo", "inform_location", slots={"pending_search": "place"})
    result = run_action(ActionHandleLocation(), tracker)
    assert result.responses == ["utter_location_not_found"]
    assert result.messages[0]["query"] == "bordo"


def test_unknown_postal_code_asks_for_town(run_action):
    tracker = make_tracker("mission locale 99999", "find_place",
                           [entity("place_type", "mission_locale"), entity("location", "99999")])
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses == ["utter_postal_code_not_found"]
    assert result.messages[0]["query"] == "99999"


def test_sentence_read_as_place_is_not_quoted(run_action):
    # The model took these answers to « dans quelle ville ? » for a place.
    for text in ("c'est loin", "la vue est belle", "ma soeur s'appelle Laure"):
        tracker = make_tracker(text, "inform_location", slots={"pending_search": "place"})
        result = run_action(ActionHandleLocation(), tracker)
        assert result.responses == ["utter_location_not_understood"], text


def test_region_offers_its_departements(run_action):
    tracker = make_tracker("en Bretagne", "inform_location", [entity("location", "Bretagne")],
                           slots={"pending_search": "place"})
    result = run_action(ActionHandleLocation(), tracker)
    assert result.responses == ["utter_location_region"]
    assert result.messages[0]["region"] == "Bretagne"
    payloads = [button["payload"] for button in result.messages[0]["buttons"]]
    assert payloads == ['/inform_location{"location": "%s"}' % code for code in ("22", "29", "35", "56")]
    assert result.cards == []


def test_departement_button_resumes_search(run_action):
    tracker = make_tracker('/inform_location{"location": "2A"}', "inform_location", [entity("location", "2A")],
                           slots={"pending_search": "place", "place_type": "mission_locale"})
    result = run_action(ActionHandleLocation(), tracker)
    assert result.cards
    assert result.slot("pending_search") is None


def test_commune_named_after_region_wins(run_action):
    tracker = make_tracker("une mission locale à Aix-en-Provence", "find_place",
                           [entity("location", "Aix-en-Provence")])
    result = run_action(ActionFindPlaces(), tracker)
    assert result.cards
    assert result.slot("commune_insee") == "13001"


def test_find_places_none_near_points_to_locator(run_action):
    # Mayotte has no Mission locale row in the data.
    tracker = make_tracker("mission locale à Mamoudzou", "find_place",
                           [entity("place_type", "mission_locale"), entity("location", "Mamoudzou")])
    result = run_action(ActionFindPlaces(), tracker)
    assert "utter_places_none_near" in result.responses
    assert "utter_places_locator" in result.responses
    assert result.cards == []


def test_button_choice_resumes_search(run_action):
    tracker = make_tracker(
        '/inform_location{"commune_insee": "93066"}', "inform_location",
        [entity("commune_insee", "93066")],
        slots={"pending_search": "place", "place_type": "mission_locale"},
    )
    result = run_action(ActionHandleLocation(), tracker)
    assert result.cards
    assert result.cards[0]["type"] == "mission_locale"
    assert result.slot("commune_insee") == "93066"
    assert result.slot("pending_search") is None


def test_shared_position_resumes_search(run_action):
    tracker = make_tracker(
        '/share_location{"latitude": 45.767, "longitude": 4.88}', "share_location",
        [entity("latitude", 45.767), entity("longitude", 4.88)],
        slots={"pending_search": "place", "place_type": "cio"},
    )
    result = run_action(ActionHandleLocation(), tracker)
    assert result.cards
    assert {card["type"] for card in result.cards} == {"cio"}
    assert result.slot("latitude") == 45.767


def test_shared_position_named_for_adult(run_action):
    tracker = make_tracker(
        '/share_location{"latitude": 45.767, "longitude": 4.88}', "share_location",
        [entity("latitude", 45.767), entity("longitude", 4.88)],
        slots={"pending_search": "place", "place_type": "cio", "role": "adult"},
    )
    result = run_action(ActionHandleLocation(), tracker)
    intro = result.messages[result.responses.index("utter_places_intro")]
    assert intro["place_de"] == "de votre position (près de Villeurbanne)"
    assert result.slot("commune_name") == "votre position, près de Villeurbanne"


def test_shared_position_named_for_young(run_action):
    tracker = make_tracker(
        '/share_location{"latitude": 45.767, "longitude": 4.88}', "share_location",
        [entity("latitude", 45.767), entity("longitude", 4.88)],
        slots={"pending_search": "place", "place_type": "cio"},
    )
    result = run_action(ActionHandleLocation(), tracker)
    intro = result.messages[result.responses.index("utter_places_intro")]
    assert intro["place_de"] == "de ta position (près de Villeurbanne)"


def test_psad_hint_in_vous_for_adult(run_action):
    # No national list of PSAD exists, so the reply is the locator hint text.
    tracker = make_tracker("une psad à Lyon", "find_place",
                           [entity("place_type", "psad"), entity("location", "Lyon")],
                           slots={"role": "adult"})
    result = run_action(ActionFindPlaces(), tracker)
    assert "vous mettra en contact" in result.texts
    assert "te mettra" not in result.texts


def test_psad_hint_in_tu_for_young(run_action):
    tracker = make_tracker("une psad à Lyon", "find_place",
                           [entity("place_type", "psad"), entity("location", "Lyon")])
    result = run_action(ActionFindPlaces(), tracker)
    assert "te mettra en contact" in result.texts


def test_position_abroad_not_found(run_action):
    tracker = make_tracker(
        '/share_location{"latitude": 40.4, "longitude": -3.7}', "share_location",
        [entity("latitude", 40.4), entity("longitude", -3.7)],
    )
    result = run_action(ActionHandleLocation(), tracker)
    assert result.responses == ["utter_position_not_found"]


def test_location_without_pending_search_asks_what(run_action):
    tracker = make_tracker("69100", "inform_location", [entity("location", "69100")])
    result = run_action(ActionHandleLocation(), tracker)
    assert result.responses == ["utter_location_saved"]
    assert result.slot("commune_insee") == "69266"


def test_place_search_kept_for_next_town(run_action):
    tracker = make_tracker("je cherche un cio a bordeaux", "find_place",
                           [entity("place_type", "cio"), entity("location", "bordeaux")])
    first = run_action(ActionFindPlaces(), tracker)
    assert first.slot("last_search") == "place"
    assert first.slot("place_type") == "cio"

    tracker = make_tracker("marseille", "inform_location", [entity("location", "marseille")],
                           slots={"last_search": "place", "place_type": "cio"})
    result = run_action(ActionHandleLocation(), tracker)
    assert result.cards
    assert {card["type"] for card in result.cards} == {"cio"}
    assert result.slot("commune_insee") == "13055"


def test_training_search_kept_for_next_town(run_action):
    tracker = make_tracker("marseille", "inform_location", [entity("location", "marseille")],
                           slots={"last_search": "training", "place_type": "cio", "field": "cuisine"})
    result = run_action(ActionHandleLocation(), tracker)
    assert "utter_reentry_intro" in result.responses
    assert "utter_trainings_intro" not in result.responses
    assert "cio" not in {card["type"] for card in result.cards}


@pytest.mark.parametrize("text, intent", [("et à Marseille ?", "find_place"), ("et a marseille", "nlu_fallback")])
def test_follow_up_town_repeats_place_search(run_action, text, intent):
    tracker = make_tracker(text, intent, [entity("location", "Marseille")] if intent == "find_place" else [],
                           slots={"last_search": "place", "place_type": "cio"})
    action = ActionFindPlaces() if intent == "find_place" else ActionHandleFallback()
    result = run_action(action, tracker)
    assert result.cards
    assert {card["type"] for card in result.cards} == {"cio"}


def test_fallback_word_read_as_town_repeats_no_search(run_action):
    tracker = make_tracker("mouais", "nlu_fallback", slots={"last_search": "place", "place_type": "cio"})
    result = run_action(ActionHandleFallback(), tracker)
    assert result.cards == []


def test_training_search_naming_advice_place_finds_places(run_action):
    tracker = make_tracker("salut jai 17 ans ma mere veut que je trouve une mission locale a lyon", "find_training",
                           [entity("age", "17"), entity("location", "lyon")])
    result = run_action(ActionFindTrainings(), tracker)
    assert result.cards
    assert {card["type"] for card in result.cards} == {"mission_locale"}


def test_training_search_citing_advice_place_stays_training(run_action):
    tracker = make_tracker("la mission locale m'a dit de reprendre une formation a lyon", "find_training",
                           [entity("location", "lyon")])
    result = run_action(ActionFindTrainings(), tracker)
    assert "utter_reentry_intro" in result.responses


def test_find_trainings_by_field_and_city(run_action):
    tracker = make_tracker(
        "je veux faire un CAP cuisine à Lyon", "find_training",
        [entity("field", "cuisine"), entity("diploma", "cap"), entity("location", "Lyon")],
    )
    result = run_action(ActionFindTrainings(), tracker)
    assert result.trainings
    assert all("cuisine" in t["name"].lower() for t in result.trainings)
    assert {card["type"] for card in result.cards} <= {"micro_lycee", "e2c", "epide"}
    assert result.cards


def test_find_trainings_without_location_asks(run_action):
    tracker = make_tracker("je veux reprendre mes études", "find_training")
    result = run_action(ActionFindTrainings(), tracker)
    assert result.responses == ["utter_ask_location_training"]
    assert result.slot("pending_search") == "training"


def test_find_trainings_field_without_location(run_action):
    tracker = make_tracker("jaime la meca je fais quoi", "find_training",
                           [entity("field", "mécanique")])
    result = run_action(ActionFindTrainings(), tracker)
    assert result.trainings
    assert result.responses[-1] == "utter_ask_location_reentry"


def test_find_trainings_under_16(run_action):
    tracker = make_tracker("j'ai 14 ans je veux arrêter le collège", "find_training",
                           [entity("age", "14")])
    result = run_action(ActionFindTrainings(), tracker)
    assert result.responses == ["utter_training_under_16"]


def test_find_trainings_daeu_too_young(run_action):
    tracker = make_tracker("j'ai 18 ans je veux faire le daeu à Lille", "find_training",
                           [entity("diploma", "daeu"), entity("age", "18")])
    result = run_action(ActionFindTrainings(), tracker)
    assert "utter_daeu_too_young" in result.responses


def test_find_trainings_16_year_old_gets_no_epide(run_action):
    tracker = make_tracker("j'ai 16 ans je veux reprendre à Lyon", "find_training",
                           [entity("age", "16"), entity("location", "Lyon")])
    result = run_action(ActionFindTrainings(), tracker)
    assert result.cards
    assert "epide" not in {card["type"] for card in result.cards}


def test_distress_takes_over_search(run_action):
    tracker = make_tracker("je cherche un CAP mais franchement je veux plus vivre", "find_training")
    result = run_action(ActionFindTrainings(), tracker)
    assert "utter_distress_suicide" in result.responses
    assert result.trainings == []


def test_find_places_type_absent_from_data(run_action):
    tracker = make_tracker("adresse du greta a strasbourg", "find_place",
                           [entity("place_type", "greta"), entity("location", "strasbourg")])
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses[0] == "utter_places_type_unavailable"
    assert {card["type"] for card in result.cards} == {"mission_locale", "cio"}


def test_location_with_place_type_searches(run_action):
    tracker = make_tracker("mission locale 13008", "inform_location", [entity("location", "13008")])
    result = run_action(ActionHandleLocation(), tracker)
    assert result.cards
    assert {card["type"] for card in result.cards} == {"mission_locale"}


def test_text_qualifier_beats_short_entity(run_action):
    tracker = make_tracker("je cherche un cio paris 13", "find_place",
                           [entity("place_type", "cio"), entity("location", "paris")])
    result = run_action(ActionFindPlaces(), tracker)
    assert result.slot("commune_insee") == "75113"


def test_overseas_collectivity_has_no_data(run_action):
    tracker = make_tracker("mission locale Nouméa", "find_place",
                           [entity("place_type", "mission locale Nouméa"), entity("location", "Nouméa")])
    result = run_action(ActionFindPlaces(), tracker)
    assert "utter_places_type_unavailable" not in result.responses
    assert "utter_places_no_data_territory" in result.responses
    assert result.cards == []


def test_ambiguous_reply_does_not_echo(run_action):
    tracker = make_tracker("cio à Montpelier", "find_place", [entity("location", "Montpelier")])
    result = run_action(ActionFindPlaces(), tracker)
    for message in result.messages:
        assert "query" not in message or message["response"] != "utter_location_ambiguous"


def test_departement_search_names_chef_lieu(run_action):
    tracker = make_tracker("une mission locale dans le 93", "find_place",
                           [entity("place_type", "mission_locale"), entity("location", "93")])
    result = run_action(ActionFindPlaces(), tracker)
    intro = [m for m in result.messages if m.get("response") == "utter_places_intro"][0]
    assert intro["place_de"] == "de Bobigny, chef-lieu du 93"


def test_scheme_named_with_age_is_not_a_place(run_action):
    tracker = make_tracker("DAEU j'ai 20 ans", "inform_location", [entity("age", "20")])
    result = run_action(ActionHandleLocation(), tracker)
    assert result.responses[0] == "utter_scheme_daeu"


# A local Messenger page passes its territory in the message metadata.


def test_local_page_searches_its_commune(run_action):
    tracker = make_tracker(
        "une mission locale près de chez moi", "find_place", [entity("place_type", "mission_locale")],
        metadata={"page_id": "111", "territory": {"communes": ["69123"], "label": "Lyon"}},
    )
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses[0] == "utter_places_intro"
    assert result.responses[-1] == "utter_territory_hint"
    assert result.slot("commune_insee") == "69123"
    assert all(card["type"] == "mission_locale" for card in result.cards)
    assert result.cards[0]["distance_km"] < 10


def test_departement_page_searches_chef_lieu(run_action):
    tracker = make_tracker(
        "qui peut m'aider près de chez moi", "find_place", metadata={"territory": {"departement": "35"}}
    )
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses[-1] == "utter_territory_hint"
    assert result.slot("commune_insee") == "35238"
    assert {card["type"] for card in result.cards} == {"mission_locale", "cio"}


def test_multi_commune_page_offers_communes(run_action):
    tracker = make_tracker(
        "une mission locale", "find_place", [entity("place_type", "mission_locale")],
        metadata={"territory": {"communes": ["69123", "69266", "00000"]}},
    )
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses == ["utter_territory_choose_commune"]
    payloads = [b["payload"] for b in result.messages[0]["buttons"]]
    assert payloads == [
        '/inform_location{"commune_insee": "69123"}',
        '/inform_location{"commune_insee": "69266"}',
    ]


def test_named_place_beats_page_territory(run_action):
    tracker = make_tracker(
        "une mission locale à Rennes", "find_place",
        [entity("place_type", "mission_locale"), entity("location", "Rennes")],
        metadata={"territory": {"communes": ["69123"]}},
    )
    result = run_action(ActionFindPlaces(), tracker)
    assert "utter_territory_hint" not in result.responses
    assert result.slot("commune_insee") == "35238"


def test_unknown_territory_asks_location(run_action):
    tracker = make_tracker(
        "une mission locale", "find_place", [entity("place_type", "mission_locale")],
        metadata={"territory": {"departement": "zz", "communes": "69123"}},
    )
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses == ["utter_ask_location"]


def test_local_page_trainings_use_territory(run_action):
    tracker = make_tracker(
        "je veux reprendre une formation", "find_training", metadata={"territory": {"communes": ["69123"]}}
    )
    result = run_action(ActionFindTrainings(), tracker)
    assert "utter_reentry_intro" in result.responses
    assert result.responses[-1] == "utter_territory_hint"
    assert result.slot("commune_insee") == "69123"


def _after_scheme_answer(scheme: str) -> list:
    """The events of a turn in which the bot explained a scheme."""
    return [
        {"event": "user", "text": f"c'est quoi {scheme}", "parse_data": {"intent": {"name": "ask_scheme"}}},
        {"event": "action", "name": "action_explain_scheme"},
        {"event": "bot", "text": "explanation"},
        {"event": "action", "name": "action_listen"},
    ]


@pytest.mark.parametrize(
    "text, intent, action",
    [
        ("y en a un pres de bordeaux ?", "find_place", ActionFindPlaces),
        ("c'est où le plus proche de Bordeaux ?", "find_place", ActionFindPlaces),
        ("y en a un vers bordeaux", "find_training", ActionFindTrainings),
        ("y en a un vers bordeaux ?", "nlu_fallback", ActionHandleFallback),
        ("yen a un vers bordeaux", "find_place", ActionFindPlaces),
        ("ya ca a bordeaux ?", "find_place", ActionFindPlaces),
        ("et à Bordeaux ?", "find_place", ActionFindPlaces),
        ("et a bordeaux", "nlu_fallback", ActionHandleFallback),
        ("et vers bordeaux ?", "inform_location", ActionHandleLocation),
        ("ya sa a bordeaux ?", "find_place", ActionFindPlaces),
    ],
)
def test_place_of_explained_scheme_found(run_action, text, intent, action):
    tracker = make_tracker(text, intent, [entity("location", "bordeaux")],
                           slots={"scheme": "epide"}, events=_after_scheme_answer("l'epide"))
    result = run_action(action(), tracker)
    assert result.cards
    assert {card["type"] for card in result.cards} == {"epide"}


def test_explained_scheme_forgotten_after_another_turn(run_action):
    events = _after_scheme_answer("l'epide") + [
        {"event": "user", "text": "merci", "parse_data": {"intent": {"name": "thank"}}},
        {"event": "action", "name": "utter_thank"},
        {"event": "action", "name": "action_listen"},
    ]
    tracker = make_tracker("y en a un pres de bordeaux ?", "find_place", [entity("location", "bordeaux")],
                           slots={"scheme": "epide"}, events=events)
    result = run_action(ActionFindPlaces(), tracker)
    assert {card["type"] for card in result.cards} == {"mission_locale", "cio"}


def test_scheme_without_places_gives_advice_places(run_action):
    # The DAEU is a diploma, with no places in the data.
    tracker = make_tracker("y en a un pres de bordeaux ?", "find_place", [entity("location", "bordeaux")],
                           slots={"scheme": "daeu"}, events=_after_scheme_answer("le daeu"))
    result = run_action(ActionFindPlaces(), tracker)
    assert {card["type"] for card in result.cards} == {"mission_locale", "cio"}
