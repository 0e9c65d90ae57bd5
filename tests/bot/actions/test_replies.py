"""Tests of bot.actions.replies: fixed responses sent after the safety check."""

import asyncio
import copy
import logging
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.answers import ActionHandleFallback, ActionHandleYesNo
from bot.actions.base import may_check_in
from bot.actions.replies import RESPONSES_BY_INTENT, UNKNOWN_INTENT_RESPONSE, ActionReply
from tests.bot.conftest import ROOT, load_domain, make_tracker

RULES_PATH = ROOT / "bot" / "data" / "rules.yml"
STORIES_PATH = ROOT / "tests" / "stories" / "test_stories.yml"

SUICIDE_CHECK = {"last_question": "suicide_check"}


def load_rules() -> List[Dict[str, Any]]:
    return yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))["rules"]


def action_after_intent(steps: List[Dict[str, Any]]) -> Dict[str, str]:
    """Map each intent of the steps to the action that follows it."""
    actions = {}
    for step, following in zip(steps, steps[1:]):
        if "intent" in step and "action" in following:
            actions[step["intent"]] = following["action"]
    return actions


# ---------- Without distress ----------


@pytest.mark.parametrize("intent, response", sorted(RESPONSES_BY_INTENT.items()))
def test_reply_sends_intent_response(run_action, intent, response):
    result = run_action(ActionReply(), make_tracker("texte ordinaire", intent))
    assert result.responses == [response]
    assert result.events == []


def test_thank_without_pending_question(run_action):
    result = run_action(ActionReply(), make_tracker("merci", "thank"))
    assert result.responses == ["utter_thank"]


@pytest.mark.parametrize(
    "text, intent",
    [("jvais crever de honte si jrate mon bac", "ask_privacy"), ("mdr je vais mourir si je rate ce cap", "greet")],
)
def test_joke_about_dying_gets_check_in_after_reply(run_action, text, intent):
    result = run_action(ActionReply(), make_tracker(text, intent))
    assert result.responses == [RESPONSES_BY_INTENT[intent], "utter_distress_checkin"]
    assert result.slot("last_question") == "checkin"


def test_fallback_joke_gets_one_check_in(run_action):
    result = run_action(ActionHandleFallback(), make_tracker("mdr je vais mourir si je rate ce cap", "nlu_fallback"))
    assert result.responses == ["utter_distress_checkin"]
    assert result.slot("last_question") == "checkin"


def test_check_in_reply_not_checked_in_again(run_action):
    tracker = make_tracker("oui mdr ce prof il me tue", "affirm", slots={"last_question": "checkin"})
    result = run_action(ActionHandleYesNo(), tracker)
    assert "utter_distress_checkin" not in result.responses


@pytest.mark.parametrize(
    "events",
    [
        [{"event": "pause"}],
        [{"event": "followup", "name": "followup_form"}],
        [{"event": "slot", "name": "last_question", "value": "followup_offer"}],
    ],
)
def test_no_check_in_after_pause(events):
    assert not may_check_in(make_tracker("ce prof il me tue", "ask_counsellor"), events)


def test_check_in_after_plain_reply():
    events = [{"event": "slot", "name": "last_question", "value": None}]
    assert may_check_in(make_tracker("ce prof il me tue", "ask_scheme"), events)


def test_plain_joke_gets_no_check_in(run_action):
    result = run_action(ActionReply(), make_tracker("mdr merci", "thank"))
    assert result.responses == ["utter_thank"]
    assert result.events == []


def test_thank_keeps_other_pending_question(run_action):
    # A pending question other than the suicide question leaves thanks answered as usual.
    result = run_action(ActionReply(), make_tracker("merci", "thank", slots={"last_question": "checkin"}))
    assert result.responses == ["utter_thank"]
    assert result.events == []


def test_reply_to_unknown_intent(run_action, caplog):
    with caplog.at_level(logging.ERROR):
        result = run_action(ActionReply(), make_tracker("c quoi l'epide", "ask_scheme"))
    assert result.responses == [UNKNOWN_INTENT_RESPONSE]
    assert "ask_scheme" in caplog.text


# ---------- Reply to the suicide question ----------


@pytest.mark.parametrize(
    "text, intent, first_response",
    [
        ("jsp", "thank", "utter_distress_suicide_unsure"),
        ("merci", "thank", "utter_distress_suicide_confirmed"),
        ("oui", "thank", "utter_distress_suicide_confirmed"),
        ("oui", "greet", "utter_distress_suicide_confirmed"),
        ("bof", "goodbye", "utter_distress_suicide_unsure"),
        ("t'es un robot ?", "bot_challenge", "utter_distress_suicide_confirmed"),
        ("ça coûte combien d'appeler ?", "ask_money", "utter_distress_suicide_confirmed"),
        ("tu vas le dire à quelqu'un ?", "ask_privacy", "utter_distress_suicide_confirmed"),
    ],
)
def test_suicide_reply_gets_safety_response(run_action, text, intent, first_response):
    result = run_action(ActionReply(), make_tracker(text, intent, slots=SUICIDE_CHECK))
    assert result.responses[0] == first_response
    assert RESPONSES_BY_INTENT[intent] not in result.responses
    assert "3114" in result.texts
    assert result.slot("last_question") is None


def test_suicide_reply_no_read_as_goodbye(run_action):
    result = run_action(ActionReply(), make_tracker("non", "goodbye", slots=SUICIDE_CHECK))
    assert result.responses == ["utter_distress_suicide_denied"]
    assert result.slot("last_question") is None


@pytest.mark.parametrize("text, intent", [("non c t pour rire", "deny"), ("nn mdr c une blague", "out_of_scope")])
def test_suicide_reply_was_a_joke(run_action, text, intent):
    result = run_action(ActionReply(), make_tracker(text, intent, slots=SUICIDE_CHECK))
    assert result.responses == ["utter_distress_suicide_denied"]


def test_suicide_reply_plan_read_as_thank(run_action):
    result = run_action(ActionReply(), make_tracker("oui je vais le faire ce soir", "thank", slots=SUICIDE_CHECK))
    assert result.responses[0] == "utter_distress_immediate"
    assert "utter_thank" not in result.responses


@pytest.mark.parametrize(
    "text, intent, first_response",
    [
        ("oui", "affirm", "utter_distress_suicide_confirmed"),
        ("ouais", "affirm", "utter_distress_suicide_confirmed"),
        ("non", "deny", "utter_distress_suicide_denied"),
    ],
)
def test_yes_no_after_suicide_question(run_action, text, intent, first_response):
    result = run_action(ActionHandleYesNo(), make_tracker(text, intent, slots=SUICIDE_CHECK))
    assert result.responses[0] == first_response
    assert "utter_affirm_generic" not in result.responses
    assert "utter_deny_generic" not in result.responses
    assert result.slot("last_question") is None


# ---------- Distress read as another intent ----------


@pytest.mark.parametrize(
    "text, intent",
    [
        ("combien on touche avec le cej de toute facon je veux plus vivre", "ask_money"),
        ("merci mais je veux mourir", "thank"),
        ("bonjour je pense a me suicider", "greet"),
    ],
)
def test_distress_read_as_small_talk(run_action, text, intent):
    result = run_action(ActionReply(), make_tracker(text, intent))
    assert result.responses[0] == "utter_distress_suicide"
    assert RESPONSES_BY_INTENT[intent] not in result.responses
    assert "3114" in result.texts
    assert result.slot("last_question") == "suicide_check"


# ---------- Rules and stories ----------


def test_rules_route_small_talk_to_reply():
    actions = {}
    for rule in load_rules():
        if "condition" not in rule:
            actions.update(action_after_intent(rule["steps"]))
    for intent in RESPONSES_BY_INTENT:
        assert actions.get(intent) == "action_reply", intent


def test_rules_name_only_known_reply_intents():
    for rule in load_rules():
        for intent, action in action_after_intent(rule["steps"]).items():
            if action == "action_reply":
                assert intent in RESPONSES_BY_INTENT, rule["rule"]


def test_no_rule_answers_intent_with_response():
    # A response run by a rule skips the safety check of the custom actions.
    for rule in load_rules():
        for intent, action in action_after_intent(rule["steps"]).items():
            assert not action.startswith("utter_"), f"{rule['rule']}: {intent} -> {action}"


def test_stories_expect_reply_action():
    stories = yaml.safe_load(STORIES_PATH.read_text(encoding="utf-8"))["stories"]
    for story in stories:
        steps = story["steps"]
        for step, following in zip(steps, steps[1:]):
            if step.get("intent") in RESPONSES_BY_INTENT:
                assert following.get("action") == "action_reply", story["story"]


# ---------- Domain ----------


def test_reply_action_declared(domain):
    declared = yaml.safe_load((ROOT / "bot" / "domain" / "domain.yml").read_text(encoding="utf-8"))["actions"]
    assert "action_reply" in declared
    for response in list(RESPONSES_BY_INTENT.values()) + [UNKNOWN_INTENT_RESPONSE]:
        assert response in domain["responses"], response


# ---------- Variants chosen by Rasa ----------


class TelegramOutputChannel(CollectingOutputChannel):
    """A collecting output channel that Rasa takes for Telegram when it picks variants."""

    @classmethod
    def name(cls) -> str:
        return "telegram"


RASA_DOMAIN = Domain.load(str(ROOT / "bot" / "domain"))


def rendered_by_rasa(
    intent: str, slots: Optional[Dict[str, Any]] = None, channel: Optional[CollectingOutputChannel] = None
) -> List[Dict[str, Any]]:
    """Run action_reply, then turn its messages into bot messages the way Rasa 3.6 does.

    RemoteAction._utter_responses is what Rasa runs on the messages that an
    action server returns: it picks a variant of each response for the
    tracker's slots and the output channel.
    """
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionReply().run(dispatcher, make_tracker("texte ordinaire", intent, slots=slots), load_domain()))

    tracker = DialogueStateTracker("test-conversation", RASA_DOMAIN.slots)
    for name, value in (slots or {}).items():
        tracker.update(SlotSet(name, value))
    nlg = TemplatedNaturalLanguageGenerator(RASA_DOMAIN.responses)
    events = asyncio.run(
        RemoteAction._utter_responses(
            copy.deepcopy(dispatcher.messages), channel or CollectingOutputChannel(), nlg, tracker
        )
    )
    return [{"text": event.text, **event.data, "metadata": event.metadata} for event in events]


def test_rasa_keeps_greeting_buttons():
    [message] = rendered_by_rasa("greet")
    assert message["metadata"]["utter_action"] == "utter_greet"
    assert [button["payload"] for button in message["buttons"]] == ["/find_place", "/find_training", "/ask_counsellor"]


def test_rasa_picks_adult_variant():
    adult_texts = {variant["text"] for variant in RASA_DOMAIN.responses["utter_thank"] if variant.get("condition")}
    for _ in range(10):
        [message] = rendered_by_rasa("thank", slots={"role": "adult"})
        assert message["text"] in adult_texts


def test_rasa_picks_random_variant():
    texts = {rendered_by_rasa("goodbye")[0]["text"] for _ in range(40)}
    # Three young variants: 40 draws all alike happen with probability 3 × (1/3)^40.
    assert len(texts) > 1


def test_rasa_picks_channel_variant():
    [message] = rendered_by_rasa("ask_privacy", channel=TelegramOutputChannel())
    assert "Telegram" in message["text"]
    assert "tu" in message["text"].split()
    [message] = rendered_by_rasa("ask_privacy")
    assert "Telegram" not in message["text"]
    assert "Messenger" not in message["text"]
