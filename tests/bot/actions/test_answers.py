"""Tests of bot.actions.answers with real trackers and the knowledge base."""

import pytest

from bot.actions.answers import (
    ActionAnswerAdult,
    ActionAnswerRights,
    ActionExplainScheme,
    ActionHandleFallback,
    ActionHandleYesNo,
)
from tests.bot.conftest import entity, make_tracker

LYON = {"latitude": 45.75888, "longitude": 4.84139, "commune_insee": "69123",
        "commune_name": "Lyon (69)", "place_phrase": "de Lyon (69)"}


def test_explain_two_schemes(run_action):
    result = run_action(ActionExplainScheme(), make_tracker("difference entre e2c et epide", "ask_scheme"))
    assert result.responses == ["utter_scheme_e2c", "utter_scheme_epide"]


def test_explain_unknown_scheme(run_action):
    result = run_action(ActionExplainScheme(), make_tracker("c quoi ce truc", "ask_scheme"))
    assert result.responses == ["utter_scheme_unknown"]


def test_follow_up_place_type_searches(run_action):
    tracker = make_tracker("et un cio ?", "ask_scheme", [entity("scheme", "cio")], slots=LYON)
    result = run_action(ActionExplainScheme(), tracker)
    assert result.cards
    assert {card["type"] for card in result.cards} == {"cio"}


def test_daeu_too_young_in_rights(run_action):
    tracker = make_tracker("je veux passer le DAEU, j'ai 17 ans", "ask_rights", [entity("age", "17")])
    result = run_action(ActionAnswerRights(), tracker)
    assert result.responses == ["utter_scheme_daeu", "utter_daeu_too_young"]


def test_rights_obligation(run_action):
    result = run_action(ActionAnswerRights(), make_tracker("jai 16 ans je suis obligé d'aller a l'ecole ?", "ask_rights"))
    assert result.responses == ["utter_rights_obligation_formation"]


def test_rights_return(run_action):
    result = run_action(ActionAnswerRights(), make_tracker("c vrai qu on a le droit de retourner en formation jusqu a 25 ans ?", "ask_rights"))
    assert result.responses == ["utter_rights_droit_retour"]


def test_adult_sets_role(run_action):
    result = run_action(ActionAnswerAdult(), make_tracker("mon fils de 16 ans ne va plus au lycée", "parent_question"))
    assert result.responses[0] == "utter_parent"
    assert result.slot("role") == "adult"


def test_adult_harassment_adds_3018(run_action):
    result = run_action(ActionAnswerAdult(), make_tracker("ma fille est harcelée au collège", "parent_question"))
    assert "3018" in result.texts


def test_teacher_harassment_lesson_adds_3018(run_action):
    text = "je cherche des ressources sur le harcèlement pour ma classe de 4e"
    result = run_action(ActionAnswerAdult(), make_tracker(text, "teacher_question"))
    assert "3018" in result.texts
    assert "119" not in result.texts


def test_yes_to_places_offer_searches(run_action):
    reply = run_action(ActionHandleYesNo(), make_tracker("oui", "affirm", slots={"last_question": "show_places"}))
    assert reply.responses == ["utter_ask_location"]
    assert reply.slot("pending_search") == "place"


@pytest.mark.parametrize(
    "text, intent",
    [
        ("oui ça va", "affirm"),
        ("/affirm", "affirm"),
        # « non ça va » means « no need to worry ».
        ("non ça va", "deny"),
        ("nan tkt", "deny"),
        ("non mdr c'était pour rire", "deny"),
        ("tranquille", "nlu_fallback"),
        # Other intents, read by the check in SafetyFirstAction.
        ("tkt", "nlu_fallback"),
        ("c'était pour rire", "out_of_scope"),
        ("ca va ca va c bon", "nlu_fallback"),
    ],
)
def test_check_in_reply_fine(run_action, text, intent):
    action = ActionHandleYesNo() if intent in ("affirm", "deny") else ActionHandleFallback()
    result = run_action(action, make_tracker(text, intent, slots={"last_question": "checkin"}))
    assert result.responses == ["utter_checkin_ok"]
    assert result.slot("last_question") is None


@pytest.mark.parametrize(
    "text, intent",
    [
        ("non", "deny"),
        ("/deny", "deny"),
        ("non pas vraiment", "deny"),
        ("ouais bof", "affirm"),
        ("oui enfin ça va pas trop", "affirm"),
        ("non ça va pas du tout", "deny"),
        ("nn c une blague mais en vrai c dur", "deny"),
        ("ouais mais en vrai c dur", "affirm"),
        ("mouais", "affirm"),
        ("jsp", "thank"),
    ],
)
def test_check_in_reply_not_fine(run_action, text, intent):
    action = ActionHandleYesNo() if intent in ("affirm", "deny") else ActionHandleFallback()
    result = run_action(action, make_tracker(text, intent, slots={"last_question": "checkin"}))
    assert "utter_checkin_ok" not in result.responses
    assert any(response.startswith("utter_distress") for response in result.responses)


def test_question_after_check_in_answered(run_action):
    tracker = make_tracker("oui ça va merci, c'est quoi une E2C ?", "ask_scheme",
                           [entity("scheme", "e2c")], slots={"last_question": "checkin"})
    assert run_action(ActionExplainScheme(), tracker).responses == ["utter_scheme_e2c"]


@pytest.mark.parametrize(
    "text",
    ["elle a 17 ans et elle a quitté le lycée, que peut-elle faire ?", "il veut arreter l ecole",
     "Vers qui puis-je l'orienter ?"],
)
def test_fallback_parent_follow_up(run_action, text):
    events = [{"event": "user", "text": "je suis sa mère", "parse_data": {"intent": {"name": "greet"}}}]
    tracker = make_tracker(text, "nlu_fallback", slots={"role": "adult"}, events=events)
    assert run_action(ActionHandleFallback(), tracker).responses == ["utter_parent"]


def test_fallback_teacher_follow_up(run_action):
    events = [{"event": "user", "text": "Bonjour, je suis CPE dans un lycée", "parse_data": {"intent": {"name": "greet"}}}]
    tracker = make_tracker("il ne vient plus depuis 3 semaines", "nlu_fallback", slots={"role": "adult"}, events=events)
    assert run_action(ActionHandleFallback(), tracker).responses == ["utter_teacher"]


def money_question(intent: str = "ask_money"):
    return [{"event": "user", "text": "on est payé pendant la formation ?", "parse_data": {"intent": {"name": intent}}}]


@pytest.mark.parametrize("text", ["combien ?", "c combien par mois", "ça fait cb en euros", "et le montant ?"])
@pytest.mark.parametrize("intent", ["out_of_scope", "nlu_fallback"])
def test_fallback_amount_after_money_answer(run_action, text, intent):
    tracker = make_tracker(text, intent, events=money_question())
    assert run_action(ActionHandleFallback(), tracker).responses == ["utter_money_amount"]


def test_fallback_amount_needs_money_answer(run_action):
    tracker = make_tracker("combien ?", "out_of_scope", events=money_question("greet"))
    assert run_action(ActionHandleFallback(), tracker).responses == ["utter_out_of_scope"]


def test_fallback_long_amount_question_out_of_scope(run_action):
    tracker = make_tracker("combien de temps faut cuire des pâtes à la carbonara", "out_of_scope", events=money_question())
    assert run_action(ActionHandleFallback(), tracker).responses == ["utter_out_of_scope"]


def test_money_amount_reply_in_both_forms(domain):
    young, adult = domain["responses"]["utter_money_amount"][-1], domain["responses"]["utter_money_amount"][0]
    assert "ta situation" in young["text"]
    assert "sa situation" in adult["text"]
    assert adult["condition"] == [{"type": "slot", "name": "role", "value": "adult"}]


def test_fallback_young_writer_rephrase(run_action):
    tracker = make_tracker("il veut arreter l ecole", "nlu_fallback")
    assert run_action(ActionHandleFallback(), tracker).responses == ["utter_ask_rephrase"]


def test_fallback_emoji_only(run_action):
    result = run_action(ActionHandleFallback(), make_tracker("🔥🔥", "nlu_fallback"))
    assert result.responses == ["utter_ask_rephrase_emoji"]


@pytest.mark.parametrize("text", ["😭😭😭", "🔪", "💊💊"])
def test_fallback_sad_emoji_checks_in(run_action, text):
    result = run_action(ActionHandleFallback(), make_tracker(text, "nlu_fallback"))
    assert result.responses == ["utter_distress_checkin"]
    assert result.slot("last_question") == "checkin"


def test_fallback_place_name_resumes_search(run_action):
    tracker = make_tracker("Villeurbane", "nlu_fallback", slots={"pending_search": "place", "place_type": "cio"})
    result = run_action(ActionHandleFallback(), tracker)
    assert {card["type"] for card in result.cards} == {"cio"}


def test_fallback_field_alone_searches_trainings(run_action):
    tracker = make_tracker("mecanique", "nlu_fallback", slots=LYON)
    result = run_action(ActionHandleFallback(), tracker)
    assert "utter_trainings_intro" in result.responses
    assert result.slot("field") == "mécanique"


def test_fallback_once_asks_rephrase(run_action):
    result = run_action(ActionHandleFallback(), make_tracker("ghhhh bbbbv", "nlu_fallback"))
    assert result.responses == ["utter_ask_rephrase"]


def test_fallback_foreign_message_french_only(run_action):
    tracker = make_tracker("hola necesito ayuda para estudiar", "nlu_fallback", [entity("language", "es")])
    result = run_action(ActionHandleFallback(), tracker)
    assert result.responses == ["utter_french_only"]
    assert "112" in result.messages[0]["translation"]
    assert "francés" in result.messages[0]["translation"]
