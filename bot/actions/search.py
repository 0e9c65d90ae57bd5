"""Actions that search places and trainings near the user."""

import logging
import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import knowledge
from bot.actions import lookup
from bot.actions.base import SafetyFirstAction, conversation_ref
from bot.actions.distress_patterns import fold
from bot.actions.lookup import LocationOutcome, SearchPoint
from bot.actions.role import is_adult
from bot.actions.schemes import MAX_SCHEMES_PER_ANSWER, schemes_asked_about, schemes_in_text

logger = logging.getLogger(__name__)

PENDING_PLACE = "place"
PENDING_TRAINING = "training"

# Places shown per type: more when the user asked for one type only.
PLACES_PER_TYPE_SINGLE = 3
PLACES_PER_TYPE_SEVERAL = 2

# Ages of the re-entry schemes for young people.
MIN_AGE = 16
MAX_AGE = 25
DAEU_MIN_AGE = 20

TRAININGS_SHOWN = 5

# Communes offered when a place name is ambiguous, and when a local page
# serves several communes (all of them, up to the limit of its territory).
MAX_CANDIDATES = 5
MAX_TERRITORY_COMMUNES = lookup.MAX_TERRITORY_COMMUNES

# Radius for a place type that its description file does not cover.
DEFAULT_RADIUS_KM = 30

# Values of the `diploma` entity mapped to the diploma families of the Onisep
# catalogue; "bac", "brevet" and "daeu" name no family there.
DIPLOMA_FAMILIES = {"cap": "CAP", "bac_pro": "bac pro", "bts": "BTS"}

# What a place name typed by a user looks like: letters of any alphabet,
# digits, spaces, apostrophes, hyphens, dots, commas and brackets.
_PLACE_NAME_PATTERN = re.compile(r"^[^\W_][\w\s'’.,()-]{0,59}$")

_AGE_PATTERN = re.compile(r"\b(\d{1,2})\s*(?:ans|an)\b")


def user_age(tracker: Tracker) -> Optional[int]:
    """Return the user's age from the latest entity, the text or the slot."""
    candidates = list(tracker.get_latest_entity_values("age"))
    match = _AGE_PATTERN.search(tracker.latest_message.get("text") or "")
    if match:
        candidates.append(match.group(1))
    candidates.append(tracker.get_slot("age"))
    for value in candidates:
        digits = re.sub(r"\D", "", str(value or ""))
        if digits and 10 <= int(digits) <= 99:
            return int(digits)
    return None


def ask_location(
    dispatcher: CollectingDispatcher, pending: Text, place_type: Optional[Text]
) -> List[EventType]:
    """Ask where to search and remember what the search was for."""
    if pending == PENDING_TRAINING:
        dispatcher.utter_message(response="utter_ask_location_training")
    else:
        dispatcher.utter_message(response="utter_ask_location")
    return [SlotSet("pending_search", pending), SlotSet("place_type", place_type)]


def answer_unresolved(
    dispatcher: CollectingDispatcher, outcome: LocationOutcome
) -> None:
    """Reply to a location that is ambiguous, a whole région, or not found."""
    if outcome.status == "region" and outcome.region is not None:
        departements = lookup.get_index().departements
        buttons = [
            {
                "title": f"{departements[code].name} ({code})",
                "payload": '/inform_location{"location": "%s"}' % code,
            }
            for code in outcome.region.departement_codes
        ]
        dispatcher.utter_message(response="utter_location_region", region=outcome.region.name, buttons=buttons)
        return
    if outcome.status == "ambiguous":
        buttons = [
            {
                "title": lookup.candidate_title(commune),
                "payload": '/inform_location{"commune_insee": "%s"}' % commune.insee_code,
            }
            for commune in outcome.candidates[: MAX_TERRITORY_COMMUNES if outcome.from_territory else MAX_CANDIDATES]
        ]
        # On a local page the user named no place: the communes are the page's.
        response = "utter_territory_choose_commune" if outcome.from_territory else "utter_location_ambiguous"
        dispatcher.utter_message(response=response, buttons=buttons)
        return
    if outcome.query == lookup.POSITION_QUERY:
        dispatcher.utter_message(response="utter_position_not_found")
        return
    query = outcome.query.strip()
    if not _PLACE_NAME_PATTERN.match(query) or not knowledge.resembles_place_name(
        lookup.get_index(), query
    ):
        # Quote back only what looks like a misspelt place name: markup, code
        # or a sentence (« c'est loin ») would read as a strange answer.
        dispatcher.utter_message(response="utter_location_not_understood")
        return
    if query.replace(" ", "").isdigit():
        dispatcher.utter_message(response="utter_postal_code_not_found", query=query)
        return
    dispatcher.utter_message(response="utter_location_not_found", query=query)


def show_places(
    dispatcher: CollectingDispatcher, point: SearchPoint, place_types: List[Text], *, adult: bool
) -> None:
    """Send the nearest places of each type, or say honestly there are none.

    ``adult`` selects the « vous » wording for the texts that are not domain
    responses, which Rasa cannot choose by the role slot.
    """
    if point.departement_code in lookup.NO_DATA_TERRITORIES:
        # The data covers no overseas collectivité: places found would be
        # thousands of kilometres away.
        dispatcher.utter_message(
            response="utter_places_no_data_territory",
            territory=point.departement_name or point.label,
        )
        return

    catalogue = knowledge.load_place_types()
    limit = PLACES_PER_TYPE_SINGLE if len(place_types) == 1 else PLACES_PER_TYPE_SEVERAL

    cards: List[Dict[Text, Any]] = []
    missing: List[Text] = []
    for place_type in place_types:
        info = catalogue.get(place_type)
        radius = info.default_radius_km if info else None
        hits = lookup.nearest(point, place_type, limit, radius)
        if hits:
            cards.extend(lookup.place_card(hit, catalogue) for hit in hits)
        else:
            missing.append(place_type)

    # Nearest first, whatever the type: the user goes to the place they can reach.
    cards.sort(key=lambda card: card.get("distance_km", float("inf")))
    if cards:
        dispatcher.utter_message(response="utter_places_intro", place_de=point.place_de)
        dispatcher.utter_message(json_message={"type": "place_cards", "places": cards})

    for place_type in missing:
        _say_none_near(dispatcher, point, place_type, catalogue, adult=adult)

    if cards:
        dispatcher.utter_message(response="utter_places_data_note")


def _say_none_near(
    dispatcher: CollectingDispatcher,
    point: SearchPoint,
    place_type: Text,
    catalogue: Dict[Text, Any],
    *,
    adult: bool,
) -> None:
    info = catalogue.get(place_type)
    label = info.label if info else place_type
    radius = int(info.default_radius_km) if info and info.default_radius_km else 0
    dispatcher.utter_message(
        response="utter_places_none_near",
        type_label=label, radius=radius, place_de=point.place_de,
    )

    farther = lookup.nearest_beyond(point, place_type, radius or DEFAULT_RADIUS_KM)
    if farther is not None:
        dispatcher.utter_message(
            response="utter_places_nearest_far",
            distance=lookup.format_km(farther.distance_km),
        )
        dispatcher.utter_message(
            json_message={"type": "place_cards", "places": [lookup.place_card(farther, catalogue)]}
        )

    if info and info.locator_url:
        dispatcher.utter_message(response="utter_places_locator", url=info.locator_url)
    elif info and info.locator_hint:
        hint = info.locator_hint_adult if adult and info.locator_hint_adult else info.locator_hint
        dispatcher.utter_message(text=hint)
    else:
        dispatcher.utter_message(response="utter_places_locator_none")


def search_places(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    place_types: List[Text],
    outcome: Optional[LocationOutcome] = None,
) -> List[EventType]:
    """Locate the user, then show places or ask what is missing."""
    outcome = with_territory(tracker, outcome or lookup.locate(tracker))
    requested = place_types[0] if len(place_types) == 1 else None

    if outcome.status == "missing":
        return ask_location(dispatcher, PENDING_PLACE, requested)
    if outcome.status != "found":
        answer_unresolved(dispatcher, outcome)
        return [SlotSet("pending_search", PENDING_PLACE), SlotSet("place_type", requested)]

    assert outcome.point is not None
    say_dominant(dispatcher, outcome)
    show_places(dispatcher, outcome.point, place_types or list(lookup.ADVICE_TYPES), adult=is_adult(tracker))
    if outcome.from_territory:
        dispatcher.utter_message(response="utter_territory_hint")
    # The search is kept, so that a town given next (« et à Marseille ? »)
    # shows the same type of place there.
    return outcome.point.slot_events() + [
        SlotSet("pending_search", None), SlotSet("last_search", PENDING_PLACE), SlotSet("place_type", requested),
    ]


def with_territory(tracker: Tracker, outcome: LocationOutcome) -> LocationOutcome:
    """Replace a missing location with the territory of the user's channel page, if any."""
    if outcome.status != "missing":
        return outcome
    territory = lookup.territory_outcome(tracker)
    return territory if territory is not None else outcome


def say_dominant(dispatcher: CollectingDispatcher, outcome: LocationOutcome) -> None:
    """Tell which commune was chosen when a much smaller homonym was set aside."""
    if outcome.dominant and outcome.point is not None and outcome.candidates:
        dispatcher.utter_message(
            response="utter_location_dominant",
            place=outcome.point.label, name=outcome.candidates[0].name,
        )


def search_trainings(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    outcome: Optional[LocationOutcome] = None,
) -> List[EventType]:
    """Show trainings for a field and the re-entry structures near the user."""
    events: List[EventType] = []
    field = field_in_message(tracker) or tracker.get_slot("field")
    diploma = next(iter(tracker.get_latest_entity_values("diploma")), None) or tracker.get_slot("diploma")
    age = user_age(tracker)
    if age is not None:
        events.append(SlotSet("age", str(age)))

    if age is not None and age < MIN_AGE:
        dispatcher.utter_message(response="utter_training_under_16")
        return events
    if diploma == "daeu" and age is not None and age < DAEU_MIN_AGE:
        dispatcher.utter_message(response="utter_daeu_too_young")
    if age is not None and age > MAX_AGE:
        dispatcher.utter_message(response="utter_training_over_25")

    if field:
        _show_trainings(dispatcher, str(field), diploma)
        events += [SlotSet("field", field), SlotSet("diploma", diploma)]

    outcome = with_territory(tracker, outcome or lookup.locate(tracker))
    if outcome.status == "missing":
        if field:
            dispatcher.utter_message(response="utter_ask_location_reentry")
            return events + [SlotSet("pending_search", PENDING_TRAINING)]
        return events + ask_location(dispatcher, PENDING_TRAINING, None)
    if outcome.status != "found":
        answer_unresolved(dispatcher, outcome)
        return events + [SlotSet("pending_search", PENDING_TRAINING)]

    assert outcome.point is not None
    say_dominant(dispatcher, outcome)
    show_reentry(dispatcher, outcome.point, age, adult=is_adult(tracker))
    if outcome.from_territory:
        dispatcher.utter_message(response="utter_territory_hint")
    return events + outcome.point.slot_events() + [
        SlotSet("pending_search", None), SlotSet("last_search", PENDING_TRAINING),
    ]


def field_in_message(tracker: Tracker) -> Optional[Text]:
    """Return the training field of the latest message: the model's entity, else a field named in the text."""
    entity = next(iter(tracker.get_latest_entity_values("field")), None)
    if entity:
        return entity
    field_for_text = getattr(knowledge.trainings, "field_for_text", None)
    return field_for_text(tracker.latest_message.get("text") or "") if field_for_text else None


def _show_trainings(
    dispatcher: CollectingDispatcher, field: Text, diploma: Optional[Text]
) -> None:
    catalogue_diploma = DIPLOMA_FAMILIES.get(str(diploma)) if diploma else None
    with knowledge.session_scope() as session:
        hits = knowledge.search_trainings(
            session, field, diploma=catalogue_diploma, limit=TRAININGS_SHOWN
        )
    if not hits:
        dispatcher.utter_message(response="utter_trainings_none", field=field)
        return
    dispatcher.utter_message(response="utter_trainings_intro", field=field)
    dispatcher.utter_message(
        json_message={
            "type": "training_cards",
            "trainings": [
                {
                    "name": hit.name,
                    "type_label": hit.type_label or None,
                    "duration": hit.duration or None,
                    "level": hit.rncp_level_label or None,
                    "url": hit.onisep_url or None,
                }
                for hit in hits
            ],
        }
    )
    dispatcher.utter_message(response="utter_trainings_where")


def show_reentry(
    dispatcher: CollectingDispatcher, point: SearchPoint, age: Optional[int], *, adult: bool
) -> None:
    """Send the re-entry structures near a point, one block per type."""
    types = list(lookup.REENTRY_TYPES)
    if age is not None and age < 17:
        # EPIDE takes young people from 17.
        types.remove("epide")
    dispatcher.utter_message(response="utter_reentry_intro", place_de=point.place_de)
    show_places(dispatcher, point, types, adult=adult)


# « et on est payé ? », « on touche combien ? » on folded text.
_MONEY_QUESTION = re.compile(
    r"\b(on est|on serait|on sera|je suis|je serai|je serais|est on|c est|etre) (paye|payee|payes|remunere|remuneree)\b"
    r"|\b(combien on (touche|gagne)|on (touche|gagne) combien)\b"
)


def answer_side_questions(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
) -> None:
    """Answer the other questions of a search request before its results.

    « c koi une e2c et ya une mission locale a lille ? et on est payé ? »
    gets the explanation of the E2C and the money reply, then the places.
    """
    text = tracker.latest_message.get("text") or ""
    responses = domain.get("responses", {})
    asked = [scheme for scheme in schemes_asked_about(text) if f"utter_scheme_{scheme}" in responses]
    for scheme in asked[:MAX_SCHEMES_PER_ANSWER]:
        dispatcher.utter_message(response=f"utter_scheme_{scheme}")
    if _MONEY_QUESTION.search(fold(text)):
        dispatcher.utter_message(response="utter_money")


class ActionFindPlaces(SafetyFirstAction):
    """Show the nearest advice places or places of the requested type."""

    def name(self) -> Text:
        return "action_find_places"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Search places for the latest message, or repeat the last search in another town."""
        answer_side_questions(dispatcher, tracker, domain)
        requested = lookup.requested_place_types(tracker)
        referred = referred_scheme_place(tracker) if not any(requested) else None
        if referred:
            requested = ([referred], [])
        if not any(requested) and tracker.get_slot("last_search") and is_follow_up(tracker):
            # « et à Marseille ? » after CIO cards: the model may read it as
            # find_place with no type, which would show the advice places.
            outcome = lookup.locate(tracker, use_slots=False)
            if outcome.status == "found":
                return continue_with_location(dispatcher, tracker, outcome)
        return search_requested_places(dispatcher, tracker, requested)


# « et à Marseille ? », « pareil à Lille », « sur Lyon »: the same search elsewhere.
_FOLLOW_UP = re.compile(
    r"^\W*(et|pareil|idem|meme chose|aussi)\b|^\W*(a|sur|vers|pres de|dans|du cote de)\s+[^?]{1,40}\??\s*$"
)


# « y en a un près de Bordeaux ? », « c'est où le plus proche ? »: a place
# that the previous bot message explained, named by no word of this message.
_BACK_REFERENCE = re.compile(
    r"\b(y ?en a|en a t il|en avez|en trouver|en trouve|le plus proche|la plus proche"
    r"|c est ou|c ou|ca se trouve ou|il est ou|elle est ou|(il y a|y a|ya) (ca|sa|cela|un|une|1))\b"
)


def _previous_action(tracker: Tracker) -> Optional[Text]:
    """Return the last action the bot ran before the latest message, or None when no action followed the message before."""
    latest_seen = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if latest_seen:
                return None
            latest_seen = True
        elif latest_seen and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def referred_scheme_place(tracker: Tracker) -> Optional[Text]:
    """Return the place type of the scheme the bot just explained, when the message refers back to it.

    After the EPIDE was explained, « y en a un près de Bordeaux ? » and
    « et à Lyon ? » request the EPIDE near that town, not the advice places.
    """
    scheme = tracker.get_slot("scheme")
    if not scheme or _previous_action(tracker) != "action_explain_scheme":
        return None
    if not _BACK_REFERENCE.search(fold(tracker.latest_message.get("text") or "")) and not is_follow_up(tracker):
        return None
    return scheme if scheme in knowledge.search.place_types(lookup.get_index()) else None


def is_follow_up(tracker: Tracker) -> bool:
    """Return whether the latest message requests the last search somewhere else."""
    return _FOLLOW_UP.match(fold(tracker.latest_message.get("text") or "")) is not None


def search_requested_places(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    requested: Tuple[List[Text], List[Text]],
    outcome: Optional[LocationOutcome] = None,
) -> List[EventType]:
    """Search the place types named in the latest message, or the advice places.

    Args:
        requested: What `lookup.requested_place_types` returned for the
            latest message, which the caller has already read.
    """
    known, unknown = requested
    for place_type in unknown:
        # NOTE: only the types of the places files can be searched; GRETA
        # and CFA lists are not in the open data the service imports.
        logger.info("Conversation %s asked for place type %s, absent from the data.",
                    conversation_ref(tracker.sender_id), place_type)
        dispatcher.utter_message(
            response="utter_places_type_unavailable",
            type_label=lookup.UNAVAILABLE_TYPE_LABELS[place_type],
        )
    return search_places(dispatcher, tracker, known, outcome)


class ActionFindTrainings(SafetyFirstAction):
    """Show trainings for a field and the re-entry structures nearby."""

    def name(self) -> Text:
        return "action_find_trainings"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Search trainings for the latest message, or the advice places it names."""
        answer_side_questions(dispatcher, tracker, domain)
        requested = lookup.requested_place_types(tracker)
        referred = referred_scheme_place(tracker) if not any(requested) else None
        if referred and not field_in_message(tracker):
            # « y en a une près de Lyon ? » after the E2C was explained.
            return search_places(dispatcher, tracker, [referred])
        known, _ = requested
        text = fold(tracker.latest_message.get("text") or "")
        if set(known) & set(lookup.ADVICE_TYPES) and _SEARCH_VERB.search(text) and not field_in_message(tracker):
            # « ma mère veut que je trouve une mission locale à Lyon », read as
            # a training search: the user looks for the place. Not « la
            # mission locale m'a dit de faire une formation ».
            return search_requested_places(dispatcher, tracker, requested)
        return search_trainings(dispatcher, tracker)


# Verbs of looking for a place, before its type.
_SEARCH_VERB = re.compile(
    r"\b(trouve|trouver|cherche|chercher|aller (a|au|voir)|adresse|ou est|ou se trouve|c ou|contacter|y a)\b"
)


def continue_with_location(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    outcome: LocationOutcome,
    *,
    repeat_last_search: bool = True,
) -> List[EventType]:
    """Use a location the user just gave: resume the pending search, if any.

    With ``repeat_last_search``, a town given after results (« et à
    Marseille ? ») gets the last search there. The fallback turns it on for
    a follow-up only, because a short word it reads as a town (« nice »,
    « mouais ») may be no town at all.
    """
    pending = tracker.get_slot("pending_search")
    last_search = tracker.get_slot("last_search") if repeat_last_search else None
    if pending is None and last_search == PENDING_PLACE:
        # « je cherche un CIO », « Bordeaux », then « Marseille »: the CIO of Marseille.
        pending = PENDING_PLACE
    if pending is None and last_search == PENDING_TRAINING and outcome.status == "found":
        # The trainings are the same everywhere: only the re-entry places change.
        assert outcome.point is not None
        say_dominant(dispatcher, outcome)
        show_reentry(dispatcher, outcome.point, user_age(tracker), adult=is_adult(tracker))
        return outcome.point.slot_events()
    if outcome.status not in ("found",):
        answer_unresolved(dispatcher, outcome)
        return []

    assert outcome.point is not None
    if pending == PENDING_PLACE:
        place_type = tracker.get_slot("place_type")
        return search_places(dispatcher, tracker, [place_type] if place_type else [], outcome)
    if pending == PENDING_TRAINING:
        return search_trainings(dispatcher, tracker, outcome)

    say_dominant(dispatcher, outcome)
    dispatcher.utter_message(response="utter_location_saved", place=outcome.point.label)
    return outcome.point.slot_events()


class ActionHandleLocation(SafetyFirstAction):
    """Take a location the user gave or shared."""

    def name(self) -> Text:
        return "action_handle_location"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Resolve the location, then continue the pending search."""
        outcome = lookup.locate(tracker, use_slots=False)
        requested = lookup.requested_place_types(tracker)
        if any(requested):
            # "mission locale 13008" is a place search, even when the model
            # reads it as a bare location.
            return search_requested_places(dispatcher, tracker, requested, outcome)
        referred = referred_scheme_place(tracker)
        if referred and outcome.status != "missing":
            # « et vers Grenoble ? » after the E2C was explained.
            return search_places(dispatcher, tracker, [referred], outcome)
        if outcome.status in ("missing", "not_found") and _names_a_scheme(tracker):
            # "DAEU j'ai 20 ans" is a question about a scheme, not a place.
            return await _explain_scheme(dispatcher, tracker, domain)
        if outcome.status == "missing":
            dispatcher.utter_message(response="utter_location_not_understood")
            return []
        return continue_with_location(dispatcher, tracker, outcome)


def _names_a_scheme(tracker: Tracker) -> bool:
    return bool(schemes_in_text(tracker.latest_message.get("text") or ""))


async def _explain_scheme(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
) -> List[EventType]:
    from bot.actions.answers import ActionExplainScheme

    return await ActionExplainScheme().answer(dispatcher, tracker, domain)
