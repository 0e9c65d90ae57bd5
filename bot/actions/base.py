"""Base class of the assistant's actions, which handle distress first.

Whatever intent the model predicted, a message in which the rule layer finds
a risk (level 2 or more, not hyperbole) gets the safety response instead of
the action's own response, so that "je cherche un CAP mais je veux plus vivre" is
never answered with a list of trainings. A message that only says the user
cannot phone, right after a safety response, gets the written ways of
getting help. A joke about dying (« mdr je vais mourir si je rate ce cap »)
gets the action's response, then a gentle check-in.
"""

import abc
import hashlib
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.basic_needs import lacks_food
from bot.actions.distress import Assessment, assess, is_check_in_reply

logger = logging.getLogger(__name__)

# Value of the last_question slot while « est-ce que ça va ? » waits for a reply.
CHECK_IN_QUESTION = "checkin"


def conversation_ref(sender_id: Text) -> Text:
    """Return a short reference to a conversation for the logs, in place of its sender id.

    On Messenger and Telegram the sender id is the user's platform id, which
    is personal data; its SHA-256 prefix still lets an operator follow one
    conversation through the logs (hash the id the same way to find it).
    """
    return "c-" + hashlib.sha256(str(sender_id).encode("utf-8")).hexdigest()[:12]


def answer_safety_first(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    action_name: Text,
    assessment: Optional[Assessment] = None,
) -> Optional[List[Dict[Text, Any]]]:
    """Send the safety response that the latest message needs, if any.

    Whatever the intent: the reply to « tu penses à te suicider ? », a
    message at risk, « je peux pas appeler » right after the numbers, and a
    short reply to « est-ce que ça va ? ».

    Args:
        dispatcher: The dispatcher of the running action.
        tracker: The conversation's tracker.
        action_name: The action that gives way, for the log.
        assessment: The distress rules' reading of the latest message, when
            the caller already has it.

    Returns:
        The events of the safety response, or None when the message needs none.
    """
    from bot.actions.safety import (
        SUICIDE_QUESTION,
        answer_cannot_call,
        answer_check_in,
        answer_distress,
        answer_suicide_followup,
        only_cannot_call_after_safety_answer,
    )

    if tracker.get_slot("last_question") == SUICIDE_QUESTION:
        return answer_suicide_followup(dispatcher, tracker)

    text = tracker.latest_message.get("text") or ""
    if assessment is None:
        assessment = assess(text)
    if only_cannot_call_after_safety_answer(assessment, tracker):
        # « je suis sourde, je peux pas appeler » right after the numbers:
        # whatever the intent, the user needs the written ways.
        return answer_cannot_call(dispatcher, tracker)
    if assessment.level >= 2 and not assessment.hyperbole:
        logger.info(
            "Safety rules took over action %s in conversation %s (level %d).",
            action_name, conversation_ref(tracker.sender_id), assessment.level,
        )
        return answer_distress(dispatcher, tracker, assessment)
    if tracker.get_slot("last_question") == CHECK_IN_QUESTION and is_check_in_reply(text):
        # « tkt » or « c'était pour rire » after « est-ce que ça va ? »,
        # whatever intent the model read.
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return answer_check_in(dispatcher, tracker, affirm=intent == "affirm")
    return None


class SafetyFirstAction(Action, abc.ABC):
    """An action that hands distress messages to the safety response.

    It is abstract, so rasa-sdk does not register it as an action itself.
    A message stating that the user has nothing to eat gets that reply first
    (`bot.actions.basic_needs`), then the action's own answer unless
    ``answers_after_basic_needs`` is False.
    """

    # False for an action whose own reply would only request a rephrasing.
    answers_after_basic_needs = True

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[Dict[Text, Any]]:
        """Send the safety response for a message at risk, else run the action itself."""
        text = tracker.latest_message.get("text") or ""
        assessment = assess(text)
        safety_events = answer_safety_first(dispatcher, tracker, self.name(), assessment)
        if safety_events is not None:
            return safety_events

        if lacks_food(text):
            logger.info("Reply to a lack of food sent in conversation %s.", conversation_ref(tracker.sender_id))
            dispatcher.utter_message(response="utter_basic_needs_food")
            if not self.answers_after_basic_needs:
                return []

        events = await self.answer(dispatcher, tracker, domain)
        if assessment.joke_about_death and may_check_in(tracker, events):
            events = check_in_after_joke(dispatcher, tracker, events)
        return events

    @abc.abstractmethod
    async def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[Dict[Text, Any]]:
        """Answer a message that carries no distress."""


# Events after which a check-in would be misplaced: the bot is paused for a
# counsellor, or a form (the e-mail address) starts.
_NO_CHECK_IN_AFTER = {"pause", "followup", "active_loop"}


def may_check_in(tracker: Tracker, events: List[Dict[Text, Any]]) -> bool:
    """Return whether a check-in may follow the reply to a joke about dying.

    Not when the user was replying to a check-in (« oui mdr ce prof il me
    tue »). Not when the reply asked a yes/no question of its own, whose
    answer would otherwise go to the wrong question, or already checked in.
    Not after a pause or a form.
    """
    if tracker.get_slot("last_question") == CHECK_IN_QUESTION:
        return False
    for event in events:
        if event.get("event") in _NO_CHECK_IN_AFTER:
            return False
        if event.get("event") == "slot" and event.get("name") == "last_question" and event.get("value"):
            return False
    return True


def check_in_after_joke(
    dispatcher: CollectingDispatcher, tracker: Tracker, events: List[Dict[Text, Any]]
) -> List[Dict[Text, Any]]:
    """Add a gentle check-in after the reply to a joke about dying.

    The check-in is « est-ce que ça va ? » with yes/no buttons, and becomes
    the pending yes/no question.
    """
    logger.info("Check-in after a joke about dying in conversation %s.", conversation_ref(tracker.sender_id))
    dispatcher.utter_message(response="utter_distress_checkin")
    return list(events) + [SlotSet("last_question", CHECK_IN_QUESTION)]
