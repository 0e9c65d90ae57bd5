"""Place and location lookups for the actions, on top of ``knowledge``.

The knowledge index is loaded once per action-server process, on first use.
"""

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

import knowledge
from bot.actions.french import with_de
from bot.actions.role import is_adult
from knowledge.regions import Region
from knowledge.resolve import Resolution

logger = logging.getLogger(__name__)

# Place types shown for "qui peut m'aider près de chez moi" when no type is
# named: the two open doors for advice.
ADVICE_TYPES = ("mission_locale", "cio")

# Structures that let a young person resume studies or a training.
REENTRY_TYPES = ("micro_lycee", "e2c", "epide")

# Place types that users ask for but that the open data does not contain,
# with the name to show.
UNAVAILABLE_TYPE_LABELS = {"greta": "GRETA", "cfa": "CFA"}

# Départements codes of the overseas collectivités, for which the data has no
# place at all.
NO_DATA_TERRITORIES = frozenset({"975", "977", "978", "984", "986", "987", "988", "989"})

# Communes of a local page's territory that the bot offers; a page that
# serves more names its département instead.
MAX_TERRITORY_COMMUNES = 10

# How far beyond a type's radius the nearest place is still worth showing.
FAR_RADIUS_FACTOR = 3

# Query of a shared position that matched no commune. It selects the reply
# and is never shown to the user.
POSITION_QUERY = "ta position"

# Words that name a place type, on folded text, for messages where the NLU
# model found no place_type entity.
PLACE_TYPE_KEYWORDS = {
    "mission_locale": ("mission locale", "missions locales", "mission local", "mision locale"),
    "cio": ("cio", "centre d information et d orientation", "centre d orientation"),
    "e2c": ("e2c", "ecole de la deuxieme chance", "ecole de la 2e chance",
            "ecole de la 2eme chance", "ecole de la seconde chance", "ecole 2e chance"),
    "epide": ("epide",),
    "micro_lycee": ("micro lycee", "microlycee", "micro lycees", "nouvelle chance",
                    "retour a l ecole", "structure de retour"),
    "psad": ("psad", "plateforme de suivi", "plate forme de suivi"),
    "cfa": ("cfa", "centre de formation d apprentis", "centre de formation des apprentis"),
    "greta": ("greta",),
}


@dataclass
class SearchPoint:
    """Search point: coordinates and the names used for them in replies.

    ``label`` reads "Villeurbanne (69)"; ``place_de`` reads "de Villeurbanne
    (69)", ready to follow "les plus proches".
    """

    label: Text
    latitude: float
    longitude: float
    insee_code: Optional[Text] = None
    place_de: Text = ""
    departement_code: Optional[Text] = None
    departement_name: Optional[Text] = None

    def __post_init__(self) -> None:
        if not self.place_de:
            self.place_de = with_de(self.label)

    def slot_events(self) -> List[EventType]:
        """Return the slot events that remember this point in the tracker."""
        return [
            SlotSet("commune_insee", self.insee_code),
            SlotSet("commune_name", self.label),
            SlotSet("place_phrase", self.place_de),
            SlotSet("latitude", self.latitude),
            SlotSet("longitude", self.longitude),
        ]


@dataclass
class LocationOutcome:
    """Result of looking for the user's location in a turn."""

    status: Text  # "found", "ambiguous", "region", "not_found" or "missing"
    point: Optional[SearchPoint] = None
    query: Text = ""
    candidates: List[Any] = field(default_factory=list)
    # True when a homonym was set aside because it is much smaller.
    dominant: bool = False
    # True when the location is the default territory of the channel page.
    from_territory: bool = False
    # The région named when the status is "region": too large to search around.
    region: Optional[Region] = None


def get_index() -> Any:
    """Return the process-wide knowledge index."""
    return knowledge.get_index()


def commune_label(commune: Any) -> Text:
    """Return "Name (département code)" for a commune reference."""
    if commune.departement_code:
        return f"{commune.name} ({commune.departement_code})"
    return commune.name


def candidate_title(commune: Any) -> Text:
    """Return a button title that distinguishes communes of the same name."""
    if commune.departement_name and commune.departement_name != commune.name:
        return f"{commune.name} ({commune.departement_name})"
    return commune_label(commune)


def _point_from_resolution(resolution: Resolution) -> SearchPoint:
    commune = resolution.commune
    if resolution.kind == "departement":
        # Distances are measured from the chef-lieu, and the reply says so.
        label = f"{resolution.departement_name} ({resolution.departement_code})"
        place_de = f"{with_de(commune.name)}, chef-lieu du {resolution.departement_code}"
    else:
        label = commune_label(commune)
        place_de = with_de(label)
    return SearchPoint(
        label, resolution.latitude, resolution.longitude, commune.insee_code,
        place_de=place_de,
        departement_code=resolution.departement_code or commune.departement_code,
        departement_name=resolution.departement_name or commune.departement_name,
    )


def _point_from_commune(commune: Any) -> SearchPoint:
    return SearchPoint(
        commune_label(commune), commune.latitude, commune.longitude, commune.insee_code,
        departement_code=commune.departement_code,
        departement_name=commune.departement_name,
    )


def _outcome(resolution: Optional[Resolution], query: Text) -> LocationOutcome:
    if resolution is None or resolution.status == "not_found":
        return LocationOutcome("not_found", query=query)
    if resolution.status == "ambiguous":
        dominant = getattr(resolution, "dominant", None)
        if dominant is not None and dominant.latitude is not None:
            # A homonym a hundred times smaller is almost never meant: search
            # around the large commune and say how to ask for the other one.
            return LocationOutcome(
                "found", point=_point_from_commune(dominant), query=query,
                candidates=list(resolution.candidates), dominant=True,
            )
        return LocationOutcome(
            "ambiguous", query=query, candidates=list(resolution.candidates)
        )
    if resolution.commune is None or resolution.latitude is None:
        logger.warning(
            "Commune %s has no coordinates.", getattr(resolution.commune, "insee_code", None)
        )
        return LocationOutcome("not_found", query=query)
    return LocationOutcome("found", point=_point_from_resolution(resolution), query=query)


def place_in_message(index: Any, text: Text, entity: Optional[Any]) -> Optional[LocationOutcome]:
    """Return the place one message names, from its text and the model's entity.

    bench/summarize_nlu.py measures the location extraction with this
    function, so the figures are those of the bot.

    Args:
        index: The knowledge index.
        text: The message.
        entity: The first ``location`` entity the NLU found in it, if any.

    Returns:
        The outcome, "not_found" when the entity names no known place, or
        None when the message names no place at all.
    """
    in_text = knowledge.find_location_in_text(index, text) if text else None

    # The model often cuts a place short ("Paris" of "cio paris 13", "Évry"
    # of "Évry 91"), while the text search matches the qualifier: a place found
    # in the whole text wins, then the entity, then an ambiguous text match.
    if in_text is not None and in_text.status == "found":
        return _outcome(in_text, text)
    if entity:
        outcome = _outcome(knowledge.resolve_location(index, str(entity)), str(entity))
        if outcome.status != "not_found":
            return outcome
        if in_text is not None and in_text.status != "not_found":
            return _outcome(in_text, str(entity))
        return outcome
    if in_text is not None and in_text.status != "not_found":
        return _outcome(in_text, text)
    return None


def _latest_entity(tracker: Tracker, name: Text) -> Optional[Any]:
    values = list(tracker.get_latest_entity_values(name))
    return values[0] if values else None


def locate(
    tracker: Tracker, use_slots: bool = True, text_as_query: bool = False
) -> LocationOutcome:
    """Find where the user wants to search, from the latest message first.

    Order: a commune chosen with a button, a shared position, a location
    entity, a place named anywhere in the text, then what the slots remember.
    A place named in the latest message and not found is reported as not
    found rather than silently replaced by an older location.

    Args:
        tracker: The conversation.
        use_slots: Whether to fall back on the location already remembered.
        text_as_query: Whether to try the whole message as a place name, as
            is always done for the ``inform_location`` intent.
    """
    index = get_index()

    insee_code = _latest_entity(tracker, "commune_insee")
    if insee_code:
        commune = index.communes.get(str(insee_code))
        if commune is not None and commune.latitude is not None:
            return LocationOutcome("found", point=_point_from_commune(commune))
        logger.info("A button sent an unknown INSEE code.")

    latitude = _latest_entity(tracker, "latitude")
    longitude = _latest_entity(tracker, "longitude")
    if latitude is not None and longitude is not None:
        query = f"{latitude}, {longitude}"
        resolution = knowledge.resolve_location(index, query)
        if resolution.status == "found" and resolution.commune is not None:
            commune = resolution.commune
            position = "votre position" if is_adult(tracker) else "ta position"
            return LocationOutcome(
                "found",
                point=SearchPoint(
                    f"{position}, près {with_de(commune.name)}",
                    float(latitude), float(longitude), commune.insee_code,
                    place_de=f"de {position} (près {with_de(commune.name)})",
                    departement_code=commune.departement_code,
                    departement_name=commune.departement_name,
                ),
            )
        return LocationOutcome("not_found", query=POSITION_QUERY)

    text = _latest_text(tracker)
    named = place_in_message(index, text, _latest_entity(tracker, "location"))
    if named is None or named.status != "found":
        # « en Bretagne »: the two small communes named Bretagne are not meant.
        region = knowledge.find_region(index, text)
        if region is not None:
            return LocationOutcome("region", query=text, region=region)
    if named is not None:
        return named

    is_location_intent = tracker.latest_message.get("intent", {}).get("name") == "inform_location"
    if (is_location_intent or text_as_query) and text:
        # The whole message is meant to be a place: try it as a query so that
        # an unknown name gets a "not found" reply.
        return _outcome(knowledge.resolve_location(index, text), text)

    if use_slots:
        remembered = _remembered_point(tracker)
        if remembered is not None:
            return LocationOutcome("found", point=remembered)
    return LocationOutcome("missing")


def territory_outcome(tracker: Tracker) -> Optional[LocationOutcome]:
    """Return the default location of the channel page the user writes to, if it has one.

    A local Messenger page serves a territory (a département or a few
    communes), which its channel puts in the message metadata as
    ``{"territory": {"departement": "69"}}`` or
    ``{"territory": {"communes": ["69123", ...]}}``. On such a page, "près
    de chez moi" means that territory. Several communes give an ambiguous
    outcome, so the user picks one with a button.

    Returns:
        The outcome, or None when the message comes with no usable territory.
    """
    metadata = tracker.latest_message.get("metadata")
    territory = metadata.get("territory") if isinstance(metadata, dict) else None
    if not isinstance(territory, dict):
        return None
    index = get_index()

    codes = territory.get("communes")
    if isinstance(codes, list):
        communes = [index.communes.get(str(code)) for code in codes[:MAX_TERRITORY_COMMUNES]]
        communes = [c for c in communes if c is not None and c.latitude is not None]
        if len(communes) == 1:
            return LocationOutcome("found", point=_point_from_commune(communes[0]), from_territory=True)
        if communes:
            return LocationOutcome(
                "ambiguous", query=str(territory.get("label") or ""), candidates=communes, from_territory=True
            )

    departement = territory.get("departement")
    if isinstance(departement, (str, int)) and str(departement).strip():
        resolution = knowledge.resolve_location(index, str(departement).strip())
        if resolution.status == "found" and resolution.kind == "departement":
            outcome = _outcome(resolution, str(departement))
            outcome.from_territory = True
            return outcome
    logger.warning("The channel sent a territory that names no known commune or département.")
    return None


def _latest_text(tracker: Tracker) -> Text:
    return tracker.latest_message.get("text") or ""


def _remembered_point(tracker: Tracker) -> Optional[SearchPoint]:
    latitude = tracker.get_slot("latitude")
    longitude = tracker.get_slot("longitude")
    if latitude is None or longitude is None:
        return None
    # NOTE: a position shared before a parent or teacher question keeps its
    # « ta position » label in the slots, so the adult still reads it here.
    label = tracker.get_slot("commune_name") or ("chez vous" if is_adult(tracker) else "chez toi")
    insee_code = tracker.get_slot("commune_insee")
    commune = get_index().communes.get(str(insee_code)) if insee_code else None
    return SearchPoint(
        label, float(latitude), float(longitude), insee_code,
        place_de=tracker.get_slot("place_phrase") or "",
        departement_code=commune.departement_code if commune else None,
        departement_name=commune.departement_name if commune else None,
    )


def place_types_in_text(text: Text) -> List[Text]:
    """Return the place types named in a text, in order of the keyword table."""
    from bot.actions.distress import fold

    folded = f" {fold(text)} "
    found = []
    for place_type, keywords in PLACE_TYPE_KEYWORDS.items():
        if any(f" {keyword} " in folded or f" {keyword}s " in folded for keyword in keywords):
            found.append(place_type)
    return found


def requested_place_types(tracker: Tracker) -> Tuple[List[Text], List[Text]]:
    """Return the place types requested in the latest message.

    Returns:
        The requested types present in the data, and the requested types the
        data does not have (such as "greta"), each possibly empty.
    """
    known = set(knowledge.search.place_types(get_index()))
    named = [str(v) for v in tracker.get_latest_entity_values("place_type")]
    named += place_types_in_text(_latest_text(tracker))
    named = list(dict.fromkeys(named))
    # A value outside both lists is the model's mistake (the whole phrase
    # "mission locale Nouméa"), not a place type to report as missing.
    return (
        [t for t in named if t in known],
        [t for t in named if t not in known and t in UNAVAILABLE_TYPE_LABELS],
    )


def place_card(hit: Any, place_types: Dict[Text, Any]) -> Dict[Text, Any]:
    """Build the channel-neutral card of one place."""
    place_type = place_types.get(hit.type)
    return {
        "name": hit.name,
        "type": hit.type,
        "type_label": place_type.label if place_type else hit.type,
        "address": hit.address or None,
        "postal_code": hit.postal_code or None,
        "commune": hit.commune or None,
        "distance_km": hit.distance_km,
        "phone": hit.phone or None,
        "email": hit.email or None,
        "website": hit.website or None,
        "map_url": hit.map_url,
        "approximate": hit.coord_source != "source",
        # False when the postal code belongs to another commune than the
        # one the row is filed under: the widget asks to check the address.
        "address_checked": getattr(hit, "address_checked", True),
        "source_date": hit.source_date or None,
    }


def nearest(
    point: SearchPoint, place_type: Text, limit: int, radius_km: Optional[float]
) -> List[Any]:
    """Return the nearest places of one type within a radius (None: any distance)."""
    return knowledge.nearest_places(
        get_index(), point.latitude, point.longitude,
        place_type=place_type, limit=limit, max_distance_km=radius_km,
    )


def nearest_beyond(point: SearchPoint, place_type: Text, radius_km: float) -> Optional[Any]:
    """Return the nearest place of a type within a few times the radius, or None.

    Beyond that limit a place is no help (a centre in Marseille for someone in
    Mayotte), so the reply points to the national locator only.
    """
    hits = nearest(point, place_type, 1, radius_km * FAR_RADIUS_FACTOR)
    return hits[0] if hits else None


def format_km(distance_km: float) -> Text:
    """Format a distance the French way: "2,3 km"."""
    if distance_km >= 10:
        return f"{round(distance_km):d} km"
    return f"{distance_km:.1f} km".replace(".", ",")


def types_label_list(labels: Sequence[Text]) -> Text:
    """Join labels as French does: "A, B et C"."""
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " et " + labels[-1]
