"""Actions that answer questions: schemes, rights, adults, yes/no, fallback."""

import logging
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import lookup
from bot.actions.base import CHECK_IN_QUESTION, SafetyFirstAction, conversation_ref
from bot.actions.distress import assess, fold
from bot.actions.handoff import (
    FOLLOWUP_FORM,
    FOLLOWUP_QUESTION,
    SHOW_PLACES_QUESTION,
    answer_escalation,
    request_counsellor,
)
from bot.actions.language import FRENCH_ONLY_TRANSLATIONS, LANGUAGE_ENTITY
from bot.actions.role import ADULT_ROLE, is_adult
from bot.actions.safety import answer_check_in, answer_distress, helplines_text
from bot.actions.schemes import MAX_SCHEMES_PER_ANSWER, schemes_in_text
from bot.actions.search import (
    DAEU_MIN_AGE,
    continue_with_location,
    field_in_message,
    is_follow_up,
    referred_scheme_place,
    search_places,
    search_requested_places,
    search_trainings,
    user_age,
)
from bot.nlu.adult_writer import introduces_professional
from knowledge.helplines import load_helplines

logger = logging.getLogger(__name__)

# Words that tell which right a question is about, on folded text.
_OBLIGATION = re.compile(
    r"oblig|\b1[67] ?ans\b|convoqu|convocation|\bmineur|sanction|amende|juste bosser|travailler a 1[67]"
)
_RETURN_RIGHT = re.compile(
    r"retour|reprendre|retourner|25 ?ans|reprise|veut pas me reprendre|droit de (re)?commencer"
)


# The young person an adult writes about: « il veut arrêter », « que
# peut-elle faire ? », « vers qui l'orienter ? ».
_ABOUT_SOMEONE = re.compile(
    r"\b(il|elle|ils|elles|lui|le jeune|la jeune|cet eleve|cette eleve)\b"
    r"|\bl (orienter|aider|accompagner|inscrire|envoyer|conseiller|motiver)\b"
)

# "et un cio ?", "et une e2c à côté ?": a follow-up asking for another type.
_FOLLOW_UP_PLACE = re.compile(r"^\s*et (un|une|le|la|l|les)?\s*\w")

# « combien ? », « c'est combien par mois ? », « cb en euros » on folded
# text: a short question about an amount.
_AMOUNT_QUESTION = re.compile(r"\b(combien|cb|cmb|montant|montants|euros?|thunes?)\b")
# Maximum number of words of a bare question about an amount.
MAX_WORDS_OF_AMOUNT_QUESTION = 6

# Longest message read as a bare place name when the model understood nothing
# ("Saint-Rémy-de-Provence" counts as one word).
MAX_WORDS_OF_PLACE_NAME = 4

_WORD_CHARACTER = re.compile(r"[^\W_]")

# Emoji that say the user is sad, for which a check-in suits better than
# "please use words".
_SAD_EMOJI = ("😭", "😢", "😞", "😔", "💔", "😿", "☹", "🙁", "😩", "😫", "🥺", "😥", "😪")
# Emoji of a means of harm: a knife, pills, blood, a coffin, a rope. « 💀 »
# is left out, as young people use it for laughing.
_HARM_EMOJI = ("🔪", "💊", "🩸", "⚰", "🪦", "🪢", "🔫")


def _daeu_age_note(
    dispatcher: CollectingDispatcher, tracker: Tracker, schemes: List[Text]
) -> List[EventType]:
    """Say the DAEU is out of reach when the user is too young for it."""
    age = user_age(tracker)
    if "daeu" in schemes and age is not None and age < DAEU_MIN_AGE:
        dispatcher.utter_message(response="utter_daeu_too_young")
        return [SlotSet("age", str(age))]
    return []


class ActionExplainScheme(SafetyFirstAction):
    """Explain one or two schemes named in the question."""

    def name(self) -> Text:
        return "action_explain_scheme"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Send the response of each scheme found, or ask which one."""
        text = tracker.latest_message.get("text") or ""
        if _FOLLOW_UP_PLACE.match(fold(text)) and tracker.get_slot("latitude") is not None:
            # "et un cio ?" right after a search asks for that place nearby.
            known_types, _ = lookup.requested_place_types(tracker)
            if known_types:
                return search_places(dispatcher, tracker, known_types)

        responses = domain.get("responses", {})
        schemes = [str(s) for s in tracker.get_latest_entity_values("scheme")]
        schemes += schemes_in_text(text)
        known = [s for s in dict.fromkeys(schemes) if f"utter_scheme_{s}" in responses]

        if not known:
            dispatcher.utter_message(response="utter_scheme_unknown")
            return []
        for scheme in known[:MAX_SCHEMES_PER_ANSWER]:
            dispatcher.utter_message(response=f"utter_scheme_{scheme}")
        events: List[EventType] = [SlotSet("scheme", known[0])]
        events += _daeu_age_note(dispatcher, tracker, known)
        return events


class ActionAnswerRights(SafetyFirstAction):
    """Explain the training obligation (16-18) or the right to return (16-25)."""

    def name(self) -> Text:
        return "action_answer_rights"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Send the answer for the right the question is about."""
        text = tracker.latest_message.get("text") or ""
        schemes = schemes_in_text(text)
        if "daeu" in schemes:
            # "je veux passer le DAEU, j'ai 17 ans" is about the DAEU's
            # conditions, not the training obligation.
            dispatcher.utter_message(response="utter_scheme_daeu")
            return _daeu_age_note(dispatcher, tracker, schemes)

        folded = fold(text)
        obligation = bool(_OBLIGATION.search(folded))
        return_right = bool(_RETURN_RIGHT.search(folded))

        if obligation and not return_right:
            dispatcher.utter_message(response="utter_rights_obligation_formation")
        elif return_right and not obligation:
            dispatcher.utter_message(response="utter_rights_droit_retour")
        else:
            dispatcher.utter_message(response="utter_rights_general")
        return []


class ActionAnswerAdult(SafetyFirstAction):
    """Reply to a parent or a teacher, with the help numbers their message calls for."""

    def name(self) -> Text:
        return "action_answer_adult"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Send the parent or teacher response, then the numbers that apply."""
        intent = tracker.latest_message.get("intent", {}).get("name")
        return answer_adult(dispatcher, tracker, teacher=intent == "teacher_question")


def answer_adult(dispatcher: CollectingDispatcher, tracker: Tracker, *, teacher: bool) -> List[EventType]:
    """Send the teacher or parent response, then the help numbers the latest message calls for."""
    dispatcher.utter_message(response="utter_teacher" if teacher else "utter_parent")
    events: List[EventType] = [SlotSet("role", ADULT_ROLE)]

    # An adult reporting harassment or violence about a young person gets
    # the matching line even though the message is not their own distress.
    text = tracker.latest_message.get("text") or ""
    assessment = assess(text)
    ids: List[Text] = []
    # A teacher preparing a lesson on harassment is not reporting one, so
    # the rules find no situation, but 3018 is still the line to give.
    if assessment.situations & {"harassment", "threats"} or "harcel" in fold(text):
        ids.append("3018")
    if assessment.situations & {"violence_home", "sexual_violence"}:
        ids.append("119")
    if assessment.situations & {"suicide", "self_harm", "despair"}:
        ids.append("3114")
    if ids:
        dispatcher.utter_message(response="utter_adult_helplines_intro")
        dispatcher.utter_message(text=helplines_text(load_helplines(), ids))
    return events


class ActionHandleYesNo(SafetyFirstAction):
    """Understand "oui" and "non" from the question the bot asked last."""

    def name(self) -> Text:
        return "action_handle_yes_no"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Answer according to the pending question."""
        question = tracker.get_slot("last_question")
        affirm = tracker.latest_message.get("intent", {}).get("name") == "affirm"

        if question == CHECK_IN_QUESTION:
            return answer_check_in(dispatcher, tracker, affirm=affirm)

        if question == FOLLOWUP_QUESTION:
            if affirm:
                # "oui" to the e-mail follow-up offer: the form asks for the address.
                return [SlotSet("last_question", None), FollowupAction(FOLLOWUP_FORM)]
            dispatcher.utter_message(response="utter_followup_declined")
            return [SlotSet("last_question", None)]

        if question == SHOW_PLACES_QUESTION:
            if affirm:
                events = search_places(dispatcher, tracker, list(lookup.ADVICE_TYPES))
                return events + [SlotSet("last_question", None)]
            dispatcher.utter_message(response="utter_deny_generic")
            return [SlotSet("last_question", None)]

        dispatcher.utter_message(
            response="utter_affirm_generic" if affirm else "utter_deny_generic"
        )
        return [SlotSet("last_question", None)]


class ActionHandleFallback(SafetyFirstAction):
    """Reply to a message the model did not understand or found out of scope.

    In order: the rule layer checks for distress and hyperbole, a message in
    another language gets the reply that the bot speaks French only, a
    pending search takes a place name, then the user is asked to rephrase.
    After two failures in a row, the bot offers a counsellor instead.
    """

    answers_after_basic_needs = False

    def name(self) -> Text:
        return "action_handle_fallback"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Send the best answer for a message that no intent fits."""
        text = tracker.latest_message.get("text") or ""

        assessment = assess(text)
        # A bare « mdr » is no reason to ask whether things are fine.
        if assessment.joke_about_death or assessment.level >= 1:
            return answer_distress(dispatcher, tracker, assessment)

        if not _WORD_CHARACTER.search(text):
            # Emoji or punctuation only: a sad face gets a check-in.
            if any(emoji in text for emoji in _SAD_EMOJI + _HARM_EMOJI):
                dispatcher.utter_message(response="utter_distress_checkin")
                return [SlotSet("last_question", CHECK_IN_QUESTION)]
            dispatcher.utter_message(response="utter_ask_rephrase_emoji")
            return []

        # bot.nlu.safety_rules found the language: the detector does not run here.
        language = next(tracker.get_latest_entity_values(LANGUAGE_ENTITY), None)
        if language in FRENCH_ONLY_TRANSLATIONS:
            logger.info("Message in language %s in conversation %s.", language, conversation_ref(tracker.sender_id))
            dispatcher.utter_message(
                response="utter_french_only", translation=FRENCH_ONLY_TRANSLATIONS[language]
            )
            return []

        # A place the model did not recognise ("Villeurbane" alone) is still
        # a place: continue the pending search or remember it.
        short_message = len(text.split()) <= MAX_WORDS_OF_PLACE_NAME
        outcome = lookup.locate(tracker, use_slots=False, text_as_query=short_message)
        if outcome.status in ("found", "ambiguous", "region"):
            requested = lookup.requested_place_types(tracker)
            if requested[0]:
                return search_requested_places(dispatcher, tracker, requested, outcome)
            referred = referred_scheme_place(tracker)
            if referred:
                # « y en a une vers Lille ? » after the E2C was explained.
                return search_places(dispatcher, tracker, [referred], outcome)
            return continue_with_location(dispatcher, tracker, outcome, repeat_last_search=is_follow_up(tracker))

        # A field alone ("mecanique" after the bot asked for a trade) is a
        # training search that the model did not recognise.
        if short_message and field_in_message(tracker):
            return search_trainings(dispatcher, tracker)

        if is_adult(tracker) and _ABOUT_SOMEONE.search(fold(text)):
            # « il veut arrêter l'école » after « je suis sa mère »: the rule
            # layer dropped the parent intent, as this message names no adult.
            return answer_adult(dispatcher, tracker, teacher=_professional_wrote(tracker))

        if _asks_amount_after_money_answer(tracker, text):
            # « combien ? » right after the reply about money.
            dispatcher.utter_message(response="utter_money_amount")
            return []

        intent = tracker.latest_message.get("intent", {}).get("name")
        if intent == "out_of_scope":
            dispatcher.utter_message(response="utter_out_of_scope")
            return []

        if _consecutive_failures(tracker) >= 2:
            logger.info("Two failures in a row in conversation %s.", conversation_ref(tracker.sender_id))
            return await _hand_over_after_failures(dispatcher, tracker)
        dispatcher.utter_message(response="utter_ask_rephrase")
        return []


def _asks_amount_after_money_answer(tracker: Tracker, text: Text) -> bool:
    """Return whether the message is a short question about an amount and the previous one asked about money."""
    if len(text.split()) > MAX_WORDS_OF_AMOUNT_QUESTION or not _AMOUNT_QUESTION.search(fold(text)):
        return False
    user_events = [event for event in tracker.events if event.get("event") == "user"]
    if len(user_events) < 2:
        return False
    previous = ((user_events[-2].get("parse_data") or {}).get("intent") or {}).get("name")
    return previous == "ask_money"


def _professional_wrote(tracker: Tracker) -> bool:
    """Return whether an earlier message of the conversation came from a teacher or another professional."""
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == "teacher_question" or introduces_professional(event.get("text") or ""):
            return True
    return False


async def _hand_over_after_failures(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> List[EventType]:
    """Queue the conversation for a counsellor after two failures, or offer the follow-up."""
    escalation = await request_counsellor(tracker, "fallback")
    if escalation.status == "unavailable":
        dispatcher.utter_message(response="utter_counsellor_after_failures")
        return []
    dispatcher.utter_message(response="utter_handoff_failures_intro")
    return answer_escalation(dispatcher, escalation)


def _consecutive_failures(tracker: Tracker) -> int:
    """Count the latest user messages in a row that the model did not understand."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count
