"""The safety response: help numbers adapted to the situation, at once.

Every number comes from the reviewed helplines file of ``knowledge``; the
French texts of the domain name them through variables such as ``{line}``,
so no number is written in a response.
"""

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import distress
from bot.actions.base import CHECK_IN_QUESTION, conversation_ref
from bot.actions.distress import Assessment, assess, is_clear_no, is_plan_with_time, is_unsure_reply
from bot.actions.distress_patterns import CANNOT_CALL, matches_any, normalize
from bot.actions.handoff import paused_events, request_counsellor_blocking
from bot.actions.role import is_adult
from bot.actions.sent_messages import sent_texts
from handoff.store import TranscriptEntry
from knowledge.helplines import Helpline, Helplines, load_helplines

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

# For a message about someone else: the opening response and its {line} by
# situation. Suicidal thoughts, self-harm, despair and a message with no
# situation take _THIRD_PARTY_DEFAULT, because the 3114 also takes calls from relatives.
_THIRD_PARTY_ANSWERS = {
    distress.VIOLENCE_HOME: ("utter_distress_third_party_minor", "119"),
    distress.SEXUAL_VIOLENCE: ("utter_distress_third_party_minor", "119"),
    distress.HOMELESS: ("utter_distress_third_party_minor", "119"),
    distress.HARASSMENT: ("utter_distress_third_party_harassment", "3018"),
    distress.THREATS: ("utter_distress_third_party_harassment", "3018"),
}
_THIRD_PARTY_DEFAULT = ("utter_distress_third_party", "3114")
_THIRD_PARTY_LISTED = {
    "utter_distress_third_party": ("3114", "119", "15"),
    "utter_distress_third_party_minor": ("119", "17"),
    "utter_distress_third_party_harassment": ("3018", "17"),
}

# The listening line for the 12-25 year olds: left out of the replies to an
# adult about their own distress, and the chat of last resort otherwise.
YOUTH_LINE = "fil-sante-jeunes"
# The emergency number that takes SMS.
SMS_LINE = "114"

# Value of the last_question slot after the bot asked whether the user
# thinks of suicide now.
SUICIDE_QUESTION = "suicide_check"

# Maximum number of situations whose helplines are listed: the two most
# urgent ones, because more would bury the numbers. Only the most urgent one
# gets an opening response.
MAX_SITUATIONS = 2

# Responses of a safety answer that gave numbers. After one of them, a
# message saying only « je peux pas appeler » gets the written ways of
# getting help. The check-in question names no number.
_SAFETY_RESPONSE_PREFIXES = ("utter_distress_", "utter_handoff_distress_")
_SAFETY_RESPONSES_WITHOUT_NUMBER = frozenset({"utter_distress_checkin"})


def _number_variables(helplines: Helplines, line_id: Text) -> Dict[Text, Text]:
    return {
        "line": helplines.get(line_id).number,
        "samu": helplines.get("15").number,
        "police": helplines.get("17").number,
        "europe": helplines.get("112").number,
        "sms": helplines.get("114").number,
        "youth_line": helplines.get("fil-sante-jeunes").number,
        "suicide_line": helplines.get("3114").number,
        "child_line": helplines.get("119").number,
    }


def _phone_line(helpline: Helpline) -> Text:
    icon = "✉️" if helpline.sms else "📞"
    line = f"{icon} {helpline.number} – {helpline.short_name} ({helpline.hours})"
    if helpline.url:
        line += f" : {helpline.url}"
    return line


def helplines_text(helplines: Helplines, helpline_ids: List[Text]) -> Text:
    """Format helplines as one line each: number first, then name, hours, site."""
    return "\n".join(_phone_line(helplines.get(helpline_id)) for helpline_id in dict.fromkeys(helpline_ids))


def written_help_text(helplines: Helplines, helpline_ids: List[Text], *, youth_chat: bool) -> Text:
    """Format the ways of getting help without phoning: the SMS emergency number, then chats.

    Args:
        helplines: The reviewed helplines.
        helpline_ids: Helplines whose chats come first, in order; those
            without a chat are skipped.
        youth_chat: Add the chat of the 12-25 listening line when it is
            not among them.

    NOTE: the hours of the chats were not checked, so each line sends the
    user to the site for them.
    """
    chat_ids = [helpline_id for helpline_id in helpline_ids if helplines.get(helpline_id).chat_url]
    if youth_chat:
        chat_ids.append(YOUTH_LINE)
    lines = [_phone_line(helplines.get(SMS_LINE))]
    for helpline_id in dict.fromkeys(chat_ids):
        helpline = helplines.get(helpline_id)
        name = helpline.chat_name or helpline.short_name
        lines.append(f"💬 {name} (horaires sur le site) : {helpline.chat_url}")
    return "\n".join(lines)


def _listed_text(helplines: Helplines, helpline_ids: List[Text], *, cannot_call: bool, youth_chat: bool) -> Text:
    """Format the list sent after the opening response, with the written ways first for a user who cannot phone."""
    if not cannot_call:
        return helplines_text(helplines, helpline_ids)
    phones = [helpline_id for helpline_id in helpline_ids if helpline_id != SMS_LINE]
    written = written_help_text(helplines, helpline_ids, youth_chat=youth_chat)
    if not phones:
        return written
    return written + "\n" + helplines_text(helplines, phones)


def follows_safety_answer(tracker: Tracker) -> bool:
    """Return whether the bot's reply to the previous user message was a safety response with numbers.

    Rasa stores the response name of each bot message as the ``utter_action``
    of its metadata; a message sent as plain text has none.
    """
    user_messages = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            user_messages += 1
            if user_messages == 2:
                return False
            continue
        if user_messages == 0 or event.get("event") != "bot":
            continue
        response = (event.get("metadata") or {}).get("utter_action") or ""
        if response.startswith(_SAFETY_RESPONSE_PREFIXES) and response not in _SAFETY_RESPONSES_WITHOUT_NUMBER:
            return True
    return False


def said_cannot_call(tracker: Tracker) -> bool:
    """Return whether a message of the conversation says that the user cannot phone.

    « jsuis sourde » may come long before the distress message, which must
    then list the written ways first too.
    """
    for event in tracker.events:
        if event.get("event") == "user" and matches_any(CANNOT_CALL, normalize(event.get("text") or "")):
            return True
    return False


def only_cannot_call_after_safety_answer(assessment: Assessment, tracker: Tracker) -> bool:
    """Return whether the message only states that the user cannot phone, right after a safety response."""
    return (
        assessment.cannot_call
        and assessment.level == 0
        and not assessment.hyperbole
        and follows_safety_answer(tracker)
    )


def answer_cannot_call(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Send the written ways of getting help to a user who cannot phone.

    The pending yes/no question stays as it was, because this message does
    not answer it.
    """
    helplines = load_helplines()
    chat_ids = [helpline.id for helpline in helplines.helplines if helpline.chat_url]
    adult = is_adult(tracker)
    if adult:
        chat_ids = [helpline_id for helpline_id in chat_ids if helpline_id != YOUTH_LINE]
    logger.info("Safety response sent in conversation %s: written ways for a user who cannot phone.",
                conversation_ref(tracker.sender_id))
    dispatcher.utter_message(
        response="utter_distress_cannot_call",
        written_lines=written_help_text(helplines, chat_ids, youth_chat=False),
    )
    return []


def _third_party_opening(situations: List[Text]) -> Tuple[Text, Text]:
    for situation in situations:
        if situation in _THIRD_PARTY_ANSWERS:
            return _THIRD_PARTY_ANSWERS[situation]
    return _THIRD_PARTY_DEFAULT


def answer_check_in(dispatcher: CollectingDispatcher, tracker: Tracker, *, affirm: bool) -> List[EventType]:
    """Reply to « est-ce que ça va ? »: send relief when the user is fine, else the distress response.

    Args:
        affirm: Whether the model read the reply as a yes.
    """
    if distress.check_in_reply_is_fine(tracker.latest_message.get("text") or "", affirm):
        dispatcher.utter_message(response="utter_checkin_ok")
        return [SlotSet("last_question", None)]
    # "Non, ça ne va pas": the check-in found real distress.
    return answer_distress(dispatcher, tracker, assess("je me sens mal"), confirmed=True)


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

    The response is at most three messages: an opening that names the line
    for the most urgent situation, the list of numbers with their hours
    (the written ways first when the user cannot phone), then one closing
    message. Between the list and the closing message, the conversation is
    queued as urgent for a counsellor when the chat is open. The closing
    message says that the bot cannot send help and what became of that
    request, without repeating the numbers. A parent or a professional
    (role slot "adult") who writes about a young person gets the answer for
    someone worried about another person, in « vous ».

    Returns:
        Slot events: the pending yes/no question is reset, or set to a
        check-in for hyperbole; and the events that pause the bot when a
        counsellor takes over.
    """
    if assessment is None:
        assessment = assess(tracker.latest_message.get("text") or "")
    helplines = load_helplines()
    adult = is_adult(tracker)

    # Log the level and situations for the team's review, never the text.
    logger.info(
        "Safety response in conversation %s: level %d, situations %s, third party %s, hyperbole %s, "
        "cannot call %s, adult %s.",
        conversation_ref(tracker.sender_id), assessment.level, sorted(assessment.situations),
        assessment.third_party, assessment.hyperbole, assessment.cannot_call, adult,
    )

    if assessment.hyperbole:
        dispatcher.utter_message(response="utter_distress_checkin")
        return [SlotSet("last_question", CHECK_IN_QUESTION)]

    if only_cannot_call_after_safety_answer(assessment, tracker):
        return answer_cannot_call(dispatcher, tracker)

    if not confirmed and assessment.level == 0 and not assessment.situations:
        # Only the NLU model saw distress. On ordinary messages of a labelled
        # set it did so for about one in five, so ask before queueing the
        # conversation as urgent, and give the day-and-night line at once.
        dispatcher.utter_message(
            response="utter_distress_checkin_unsure", **_number_variables(helplines, "3114")
        )
        return [SlotSet("last_question", CHECK_IN_QUESTION)]

    situations = [
        situation for situation, _, _ in _SITUATION_ANSWERS if situation in assessment.situations
    ][:MAX_SITUATIONS]
    # An adult who names a young person speaks of that young person, even
    # when the third-party patterns did not fire.
    third_party = assessment.third_party or (adult and assessment.about_young_person)
    listed: List[Text] = []
    next_question = None
    if third_party and distress.IMMEDIATE_DANGER not in situations:
        response, line_id = _third_party_opening(situations)
        dispatcher.utter_message(response=response, **_number_variables(helplines, line_id))
        for situation in situations or [None]:
            third_party_response, _ = _THIRD_PARTY_ANSWERS.get(situation, _THIRD_PARTY_DEFAULT)
            listed.extend(_THIRD_PARTY_LISTED[third_party_response])
    elif situations:
        openings = {situation: (response, line_id) for situation, response, line_id in _SITUATION_ANSWERS}
        response, line_id = openings[situations[0]]
        dispatcher.utter_message(response=response, **_number_variables(helplines, line_id))
        if situations[0] == distress.SUICIDE:
            # The response asks whether the user thinks of suicide now.
            next_question = SUICIDE_QUESTION
        for situation in situations:
            listed.extend(_LISTED_HELPLINES[situation])
    else:
        # The model recognised distress that no rule names: answer with
        # the general lines rather than nothing.
        dispatcher.utter_message(
            response="utter_distress_generic", **_number_variables(helplines, "3114")
        )
        listed.extend(("3114", YOUTH_LINE))
    if adult:
        # The listening line is for the 12-25 year olds, not for the adult.
        listed = [helpline_id for helpline_id in listed if helpline_id != YOUTH_LINE]

    dispatcher.utter_message(
        text=_listed_text(
            helplines, listed, cannot_call=assessment.cannot_call or said_cannot_call(tracker), youth_chat=not adult
        )
    )
    handoff_events = _escalate_distress(dispatcher, tracker)
    if handoff_events:
        # The counsellor reads the answer to a pending question; the bot
        # must not take the first message after the hand-back for it.
        return [SlotSet("last_question", None)] + handoff_events
    return [SlotSet("last_question", next_question)]


def _escalate_distress(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Queue the conversation as urgent after the numbers were sent, then send the closing message.

    The transcript the counsellor reads ends with every message sent before
    the escalation. The closing message depends on the outcome: a counsellor
    was alerted, the chat reopens at a known time, the chat is closed, or no
    counsellor can answer here (no live chat on this channel, a fault).

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
    if escalation.status == "closed" and escalation.opening_text:
        dispatcher.utter_message(response="utter_handoff_distress_closed", opening=escalation.opening_text)
    elif escalation.status == "closed":
        dispatcher.utter_message(response="utter_handoff_distress_closed_unknown")
    else:
        dispatcher.utter_message(response="utter_handoff_distress_no_counsellor")
    return []


def answer_suicide_followup(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> List[Dict[Text, Any]]:
    """Reply to the message that follows the question "tu penses à te suicider ?".

    Only a plain "no" ends the safety conversation. Any other reply, "oui",
    "je sais pas" or a change of subject alike, gets the numbers again
    (with a softer opening for an unsure reply such as "jsp"),
    with the emergency numbers first when it states a plan with a time, and
    the written ways first when the user cannot phone.
    """
    text = tracker.latest_message.get("text") or ""
    assessment = assess(text)
    helplines = load_helplines()
    variables = _number_variables(helplines, "3114")
    youth_chat = not is_adult(tracker)

    if is_plan_with_time(text) or assessment.level >= 3:
        logger.info("Safety response sent: reply to the suicide question states a plan.")
        dispatcher.utter_message(response="utter_distress_immediate", **variables)
        dispatcher.utter_message(text=_listed_text(
            helplines, ["15", "112", "3114", SMS_LINE],
            cannot_call=assessment.cannot_call or said_cannot_call(tracker), youth_chat=youth_chat,
        ))
        return [SlotSet("last_question", None)]

    if is_clear_no(text):
        dispatcher.utter_message(response="utter_distress_suicide_denied", **variables)
        return [SlotSet("last_question", None)]

    if assessment.cannot_call:
        # The question is still unanswered: the next « oui » answers it.
        logger.info("Safety response sent: reply to the suicide question states that the user cannot phone.")
        answer_cannot_call(dispatcher, tracker)
        return [SlotSet("last_question", SUICIDE_QUESTION)]

    listed = _listed_text(
        helplines, ["3114", "15", "112"], cannot_call=said_cannot_call(tracker), youth_chat=youth_chat
    )
    if is_unsure_reply(text):
        logger.info("Safety response sent: reply to the suicide question is unsure.")
        dispatcher.utter_message(response="utter_distress_suicide_unsure", **variables)
        dispatcher.utter_message(text=listed)
        return [SlotSet("last_question", None)]

    logger.info("Safety response sent: reply to the suicide question is not a no.")
    dispatcher.utter_message(response="utter_distress_suicide_confirmed", **variables)
    dispatcher.utter_message(text=listed)
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
