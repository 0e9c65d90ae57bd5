"""Tests of bot.actions.role: the writer's role, and its return to a young writer."""

import pytest

from bot.actions.role import ADULT_ROLE, YOUNG_ROLE, ActionReadRole, is_adult
from tests.bot.conftest import make_tracker


@pytest.mark.parametrize(
    "text",
    [
        "j'ai 17 ans, je peux aller à l'E2C ?",
        "mais non jai 19 ans moi",
        "je suis en seconde et j'en ai marre",
        "je suis lycéenne",
        "jai 17ans",
        "j'ai dix-sept ans",
    ],
)
def test_young_age_resets_role(run_action, text):
    tracker = make_tracker(text, "find_training", slots={"role": ADULT_ROLE})
    result = run_action(ActionReadRole(), tracker)
    assert result.events == [{"event": "slot", "timestamp": None, "name": "role", "value": YOUNG_ROLE}]


@pytest.mark.parametrize(
    "text, intent",
    [
        # An adult's own words, or about a young person.
        ("j'ai 20 ans d'expérience dans l'éducation", "teacher_question"),
        ("ma fille a 17 ans", "parent_question"),
        ("je suis la mère de Léa, elle a 16 ans", "find_training"),
        ("mon fils est en seconde", "find_training"),
        ("j'ai 17 ans de métier", "out_of_scope"),
        # The adult intents' action sets the role itself.
        ("j'ai 25 ans et mon élève a décroché", "teacher_question"),
    ],
)
def test_adult_keeps_role(run_action, text, intent):
    tracker = make_tracker(text, intent, slots={"role": ADULT_ROLE})
    assert run_action(ActionReadRole(), tracker).events == []


def test_young_role_unchanged(run_action):
    tracker = make_tracker("j'ai 17 ans", "inform_age")
    assert run_action(ActionReadRole(), tracker).events == []
    assert not is_adult(tracker)
