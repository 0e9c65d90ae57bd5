"""Tests of bot.actions.basic_needs and of its reply sent before the actions' own replies."""

import pytest

from bot.actions.answers import ActionHandleFallback
from bot.actions.basic_needs import lacks_food
from bot.actions.replies import ActionReply
from bot.actions.search import ActionFindPlaces
from tests.bot.conftest import make_tracker


@pytest.mark.parametrize(
    "text",
    [
        "jai pas dargent pour manger",
        "j'ai rien à manger depuis 2 jours",
        "j ai plus de thunes pour manger ce soir",
        "G pa de koi manger",
        "j'ai pas mangé depuis hier",
        "jsaute des repas pour payer le bus",
        "mon frigo est vide",
        "j'arrive plus à manger à ma faim",
    ],
)
def test_lacks_food_found(text):
    assert lacks_food(text)


@pytest.mark.parametrize(
    "text",
    [
        "j'ai faim",
        "on mange où à midi",
        "la cantine c est pas bon",
        "j'ai pas d'argent pour le permis",
        "je peux pas manger avec toi demain",
        "je cherche un CAP cuisine pour apprendre à faire à manger",
    ],
)
def test_lacks_food_not_found(text):
    assert not lacks_food(text)


def test_money_question_gets_food_reply_first(run_action):
    result = run_action(ActionReply(), make_tracker("jai pas dargent pour manger", "ask_money"))
    assert result.responses == ["utter_basic_needs_food", "utter_money"]


def test_fallback_gets_food_reply_only(run_action):
    result = run_action(ActionHandleFallback(), make_tracker("jai pas dargent pour manger", "nlu_fallback"))
    assert result.responses == ["utter_basic_needs_food"]


def test_search_follows_food_reply(run_action):
    tracker = make_tracker("j'ai rien à manger, il est où le cio à bordeaux", "find_place")
    result = run_action(ActionFindPlaces(), tracker)
    assert result.responses[0] == "utter_basic_needs_food"
    assert {card["type"] for card in result.cards} == {"cio"}


def test_distress_wins_over_food_reply(run_action):
    result = run_action(ActionHandleFallback(), make_tracker("j'ai rien à manger et je veux mourir", "nlu_fallback"))
    assert "utter_basic_needs_food" not in result.responses
    assert "3114" in result.texts


def test_food_reply_in_both_forms(domain):
    variations = domain["responses"]["utter_basic_needs_food"]
    assert "tu as bien fait" in variations[-1]["text"]
    assert "vous avez bien fait" in variations[0]["text"]
    assert [button["title"] for button in variations[-1]["buttons"]] == ["Trouver une Mission locale", "Parler à un conseiller"]
