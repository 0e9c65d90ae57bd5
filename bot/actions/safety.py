"""The safety response: help numbers adapted to the situation, at once.

Every number comes from the reviewed helplines file of ``knowledge``; the
French texts of the domain name them through variables such as ``{line}``,
so no number is written in a response.
"""

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import distress
from bot.actions.base import conversation_ref
from bot.actions.distress import Assessment, assess, is_clear_no, is_plan_with_time
from bot.actions.handoff import paused_events, request_counsellor_blocking
from bot.actions.sent_messages import sent_texts
from handoff.store import TranscriptEntry
from knowledge.helplines import Helplines, load_helplines

logger = logging.getLogger(__name__)

# For each situation: the response that opens the safety response and the
# helpline named in it as {line}. Earlier entries are more urgent.
_SITUATION_ANSWERS = (
    (distress.IMMEDIATE_DANGER, "utter_distress_immediate", "15"),
    (distress.SUICIDE, "utter_distress_suicide", "3114"),
    (distress.SELF_HARM, "utter_distress_self_harm", "3114"),
    (distress.VIOLENCE_HOME, "utter_distress_violence_home", "119"),
    (distress.SEXUAL_VIOLENCE, "utter_distress_sexual_violence", "119"),
    (distress.HARASSMENT, "utter_distress_harassment", "3018"),
    (distress.THREATS, "utter_distress_threats", "3018"),
    (distress.HOMELESS, "utter_distress_homeless", "119"),
    (distress.DESPAIR, "utter_distress_despair", "3114"),
)

# Helplines listed after the opening response, by situation, in order.
_LISTED_HELPLINES = {
    distress.IMMEDIATE_DANGER: ("15", "112", "17", "114"),
    distress.SUICIDE: ("3114",),
    distress.SELF_HARM: ("3114", "fil-sante-jeunes"),
    distress.VIOLENCE_HOME: ("119", "17"),
    distress.SEXUAL_VIOLENCE: ("119", "17"),
    distress.HARASSMENT: ("3018",),
    distress.THREATS: ("3018", "17"),
    distress.HOMELESS: ("119", "112"),
    distress.DESPAIR: ("fil-sante-jeunes", "3114"),
}

# Value of the last_question slot after the bot asked whether the user
# thinks of suicide now.
SUICIDE_QUESTION = "suicide_check"

# Maximum number of situations in one response: the two most urgent ones,
# because more would bury the numbers.
MAX_SITUATIONS = 2


def _number_variables(helplines: Helplines, line_id: Text) -> Dict[Text, Text]:
    return {
        "line": helplines.get(line_id).number,
        "samu": helplines.get("15").number,
        "police": helplines.get("17").number,
        "europe": helplines.get("112").number,
        "sms": helplines.get("114").number,
        "youth_line": helplines.get("fil-sante-jeunes").number,
        "suicide_line": helplines.get("3114").number,
    }


def helplines_text(helplines: Helplines, helpline_ids: List[Text]) -> Text:
    """Format helplines as one line each: number first, then name, hours, site."""
    lines = []
    for helpline_id in dict.fromkeys(helpline_ids):
        helpline = helplines.get(helpline_id)
        icon = "✉️" if helpline.sms else "📞"
        line = f"{icon} {helpline.number} – {helpline.short_name} ({helpline.hours})"
        if helpline.url:
            line += f" : {helpline.url}"
        lines.append(line)
    return "\n".join(lines)


def answer_distress(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    assessment: Optional[Assessment] = None,
    *,
    confirmed: bool = False,
) -> List[Dict[Text, Any]]:
    """Send the safety response for the latest message.

    Args:
        dispatcher: Where the messages go.
        tracker: The conversation.
        assessment: The rule layer's grading; computed from the latest text
            when missing.
        confirmed: The user said that things are not going well, so the
            answer does not ask again.

    After the numbers, the conversation is queued as urgent for a
    counsellor when the chat is open. Otherwise the reply states when the
    chat reopens.

    Returns:
        Slot events: the pending yes/no question is reset, or set to a
        check-in for hyperbole; and the events that pause the bot when a
        counsellor takes over.
    """
    if assessment is None:
        assessment = assess(tracker.latest_message.get("text") or "")
    helplines = load_helplines()

    # Log the level and situations for the team's review, never the text.
    logger.info(
        "Safety response in conversation %s: level %d, situations %s, third party %s, hyperbole %s.",
        conversation_ref(tracker.sender_id), assessment.level, sorted(assessment.situations),
        assessment.third_party, assessment.hyperbole,
    )

    if assessment.hyperbole:
        dispatcher.utter_message(response="utter_distress_checkin")
        return [SlotSet("last_question", "checkin")]

    if not confirmed and assessment.level == 0 and not assessment.situations:
        # Only the NLU model saw distress. On ordinary messages of a labelled
        # set it did so for about one in five, so ask before queueing the
        # conversation as urgent, and give the day-and-night line at once.
        dispatcher.utter_message(
            response="utter_distress_checkin_unsure", **_number_variables(helplines, "3114")
        )
        return [SlotSet("last_question", "checkin")]

    listed: List[Text] = []
    next_question = None
    if assessment.third_party and distress.IMMEDIATE_DANGER not in assessment.situations:
        dispatcher.utter_message(
            response="utter_distress_third_party", **_number_variables(helplines, "3114")
        )
        listed.extend(("3114", "119", "15"))
    else:
        answered = 0
        for situation, response, line_id in _SITUATION_ANSWERS:
            if situation not in assessment.situations:
                continue
            dispatcher.utter_message(
                response=response, **_number_variables(helplines, line_id)
            )
            listed.extend(_LISTED_HELPLINES[situation])
            if situation == distress.SUICIDE:
                # The response asks whether the user thinks of suicide now.
                next_question = SUICIDE_QUESTION
            answered += 1
            if answered == MAX_SITUATIONS:
                break
        if answered == 0:
            # The model recognised distress that no rule names: answer with
            # the general lines rather than nothing.
            dispatcher.utter_message(
                response="utter_distress_generic", **_number_variables(helplines, "3114")
            )
            listed.extend(("3114", "fil-sante-jeunes"))

    numbers = helplines_text(helplines, listed)
    dispatcher.utter_message(text=numbers)
    dispatcher.utter_message(
        response="utter_distress_counsellor", **_number_variables(helplines, "3114")
    )
    handoff_events = _escalate_distress(dispatcher, tracker, helplines)
    if handoff_events:
        # The counsellor reads the answer to a pending question; the bot
        # must not take the first message after the hand-back for it.
        return [SlotSet("last_question", None)] + handoff_events
    return [SlotSet("last_question", next_question)]


def _escalate_distress(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    helplines: Helplines,
) -> List[EventType]:
    """Queue the conversation as urgent after the numbers were sent, or state when the chat reopens.

    The transcript the counsellor reads ends with every message of this turn.

    Returns:
        The events that pause the bot when the conversation was queued, else
        no event.
    """
    escalation = request_counsellor_blocking(
        tracker,
        "distress",
        urgent=True,
        extra_transcript=[TranscriptEntry("bot", text) for text in sent_texts(dispatcher.messages, tracker)],
    )
    if escalation.queued:
        dispatcher.utter_message(response="utter_handoff_distress_queued")
        return paused_events()
    if escalation.status == "closed":
        variables = _number_variables(helplines, "3114")
        if escalation.opening_text:
            dispatcher.utter_message(
                response="utter_handoff_distress_closed", opening=escalation.opening_text, **variables
            )
        else:
            dispatcher.utter_message(response="utter_handoff_distress_closed_unknown", **variables)
    # Other outcomes (no live chat on this channel, a fault) add nothing:
    # utter_distress_counsellor already names the lines that answer day and night.
    return []


def answer_suicide_followup(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> List[Dict[Text, Any]]:
    """Reply to the message that follows the question "tu penses à te suicider ?".

    Only a plain "no" ends the safety conversation. Any other reply, "oui",
    "je sais pas" or a change of subject alike, gets the numbers again,
    with the emergency numbers first when it states a plan with a time.
    """
    text = tracker.latest_message.get("text") or ""
    helplines = load_helplines()
    variables = _number_variables(helplines, "3114")

    if is_plan_with_time(text) or assess(text).level >= 3:
        logger.info("Safety response sent: reply to the suicide question states a plan.")
        dispatcher.utter_message(response="utter_distress_immediate", **variables)
        dispatcher.utter_message(text=helplines_text(helplines, ["15", "112", "3114", "114"]))
        return [SlotSet("last_question", None)]

    if is_clear_no(text):
        dispatcher.utter_message(response="utter_distress_suicide_denied", **variables)
        return [SlotSet("last_question", None)]

    logger.info("Safety response sent: reply to the suicide question is not a no.")
    dispatcher.utter_message(response="utter_distress_suicide_confirmed", **variables)
    dispatcher.utter_message(text=helplines_text(helplines, ["3114", "15", "112"]))
    return [SlotSet("last_question", None)]


class ActionDistressSupport(Action):
    """Answer a message of distress with the right numbers."""

    def name(self) -> Text:
        return "action_distress_support"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[Dict[Text, Any]]:
        """Send the safety response."""
        if tracker.get_slot("last_question") == SUICIDE_QUESTION:
            return answer_suicide_followup(dispatcher, tracker)
        return answer_distress(dispatcher, tracker)
