"""Tests of bot.actions.safety: the numbers given for each situation."""

import re

import pytest

from bot.actions.answers import ActionHandleYesNo
from bot.actions.safety import ActionDistressSupport
from knowledge.helplines import load_helplines
from tests.bot.conftest import make_tracker


@pytest.mark.parametrize(
    "text, first_response, number",
    [
        ("je pense a me suicider", "utter_distress_suicide", "3114"),
        ("ce soir j'ai pris des cachets", "utter_distress_immediate", "15"),
        ("mon beau pere me frappe", "utter_distress_violence_home", "119"),
        ("des gens ont mis des photos de moi sur insta", "utter_distress_harassment", "3018"),
        ("je me scarifie depuis 2 mois", "utter_distress_self_harm", "3114"),
        ("je suis a la rue depuis hier soir", "utter_distress_homeless", "119"),
        ("je me sens nul personne m'aime", "utter_distress_despair", "3114"),
        ("ma pote dit qu'elle veut en finir", "utter_distress_third_party", "3114"),
    ],
    ids=["suicide", "immediate", "violence", "harassment", "self-harm", "homeless",
         "despair", "third-party"],
)
def test_distress_answer_per_situation(run_action, text, first_response, number):
    result = run_action(ActionDistressSupport(), make_tracker(text, "distress"))
    assert result.responses[0] == first_response
    assert number in result.texts
    assert result.responses[-1] == "utter_distress_counsellor"


def test_distress_hyperbole_gets_check_in(run_action):
    result = run_action(
        ActionDistressSupport(), make_tracker("mdr je vais mourir si je rate ce cap", "distress")
    )
    assert result.responses == ["utter_distress_checkin"]
    assert result.slot("last_question") == "checkin"


def test_distress_without_rule_checks_in(run_action):
    result = run_action(ActionDistressSupport(), make_tracker("ça va vraiment pas du tout", "distress"))
    assert result.responses == ["utter_distress_checkin_unsure"]
    assert result.messages[0]["line"] == "3114"
    assert {"event": "slot", "name": "last_question", "value": "checkin"} in [
        {key: event.get(key) for key in ("event", "name", "value")} for event in result.events
    ]
    assert "pause" not in [event["event"] for event in result.events]


def test_distress_checkin_no_gets_numbers(run_action):
    tracker = make_tracker("non pas vraiment", "deny", slots={"last_question": "checkin"})
    result = run_action(ActionHandleYesNo(), tracker)
    assert result.responses[0] == "utter_distress_despair"
    assert "3114" in result.texts


def test_numbers_filled_from_helplines(run_action, domain):
    helplines = load_helplines()
    result = run_action(ActionDistressSupport(), make_tracker("je pense a me suicider", "distress"))
    message = result.messages[0]
    template = domain["responses"][message["response"]][0]["text"]
    rendered = template.format(**{k: v for k, v in message.items() if isinstance(v, str)})
    assert helplines.get("3114").number in rendered


def test_responses_name_only_reviewed_numbers(domain):
    # Every phone-like number a response shows must be in the reviewed
    # helplines file; the safety responses take theirs from it directly.
    allowed = {h.number.replace(" ", "") for h in load_helplines().helplines}
    # Long numbers anywhere, short ones where a sentence dials them
    # ("appelle le 15", "au 114"), so that ages like "16-25 ans" do not count.
    phone_like = re.compile(
        r"\b0\d(?:[ .]?\d{2,3}){3,4}\b"
        r"|(?<=\ble )(?:1\d{1,2}|3\d{3})\b"
        r"|(?<=\bau )(?:1\d{1,2}|3\d{3})\b"
    )
    for name, variations in domain["responses"].items():
        for variation in variations:
            text = variation.get("text") or ""
            for number in phone_like.findall(text):
                assert number.replace(" ", "").replace(".", "") in allowed, f"{name}: {number}"


@pytest.mark.parametrize(
    "reply, intent, first_response",
    [
        ("oui", "affirm", "utter_distress_suicide_confirmed"),
        ("je sais pas", "nlu_fallback", "utter_distress_suicide_confirmed"),
        ("c quoi l'epide", "ask_scheme", "utter_distress_suicide_confirmed"),
        ("non", "deny", "utter_distress_suicide_denied"),
        ("non ça va", "deny", "utter_distress_suicide_denied"),
        ("oui je vais le faire ce soir", "affirm", "utter_distress_immediate"),
    ],
    ids=["yes", "unsure", "other-subject", "no", "no-fine", "plan-tonight"],
)
def test_reply_to_suicide_question(run_action, reply, intent, first_response):
    from bot.actions.answers import ActionExplainScheme, ActionHandleFallback, ActionHandleYesNo

    action = {
        "affirm": ActionHandleYesNo(), "deny": ActionHandleYesNo(),
        "nlu_fallback": ActionHandleFallback(), "ask_scheme": ActionExplainScheme(),
    }[intent]
    tracker = make_tracker(reply, intent, slots={"last_question": "suicide_check"})
    result = run_action(action, tracker)
    assert result.responses[0] == first_response
    assert result.slot("last_question") is None
    if first_response != "utter_distress_suicide_denied":
        assert "3114" in result.texts or "15" in result.texts


def test_suicide_answer_asks_the_question(run_action):
    result = run_action(ActionDistressSupport(), make_tracker("je pense a me suicider", "distress"))
    assert result.slot("last_question") == "suicide_check"


def test_helpline_list_shows_numbers(run_action):
    result = run_action(ActionDistressSupport(), make_tracker("je me sens nul personne m'aime", "distress"))
    assert "0800 235 236" in result.texts


def test_counsellor_message_gets_number(run_action):
    result = run_action(ActionDistressSupport(), make_tracker("je pense a me suicider", "distress"))
    counsellor = [m for m in result.messages if m.get("response") == "utter_distress_counsellor"][0]
    assert counsellor["suicide_line"] == "3114"
