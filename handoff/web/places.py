"""Place search of « Envoyer un lieu », on the knowledge base the bot uses.

The knowledge index (communes and places held in memory, about a second to
load) is loaded once per process, in a thread, on the first search. Cards
are built by `bot.actions.lookup.place_card`, so a place sent by a
counsellor looks exactly like one sent by the bot.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import asdict
from typing import Any, Optional

import knowledge
from knowledge.geo import haversine_km, openstreetmap_url
from knowledge.search import PlaceHit

__all__ = ["PlaceSearch", "PlaceSearchError", "PLACE_RESULTS"]

logger = logging.getLogger(__name__)

PLACE_RESULTS = 5
# Places are shown up to this many times the type's usual radius, as the bot does.
RADIUS_FACTOR = 3
MAX_QUERY_LENGTH = 200


class PlaceSearchError(Exception):
    """A search that cannot run; the message is French, for the counsellor."""


class PlaceSearch:
    """Resolves a commune or postal code and lists the nearest places of a type."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: Any = None
        self._place_types: Optional[dict[str, Any]] = None

    def _load(self) -> tuple[Any, dict[str, Any]]:
        with self._lock:
            if self._index is None:
                index = knowledge.get_index()
                present = knowledge.search.place_types(index)
                self._place_types = knowledge.load_place_types(present)
                self._index = index
                logger.info("Knowledge index loaded for the place search (%d place types)", len(present))
            return self._index, self._place_types

    def type_choices(self) -> list[tuple[str, str]]:
        """Return (code, French label) of the place types described in knowledge/place_types.yml."""
        return [(code, place_type.label) for code, place_type in knowledge.load_place_types().items()]

    async def search(self, query: str, place_type: str, insee_code: Optional[str] = None) -> dict[str, Any]:
        """Search the nearest places of a type around a commune, a postal code or an INSEE code.

        Returns:
            `{"status": "found", "location": label, "insee": code, "radius_km": km, "places": [...]}`,
            `{"status": "ambiguous", "candidates": [{"insee", "label"}]}` or
            `{"status": "not_found"}`. Each place has an `id` and its `card`.

        Raises:
            PlaceSearchError: the knowledge base is missing, or the query or the type is invalid.
        """
        return await asyncio.to_thread(self._search, query, place_type, insee_code)

    def _search(self, query: str, place_type: str, insee_code: Optional[str]) -> dict[str, Any]:
        try:
            index, place_types = self._load()
        except knowledge.DatabaseNotReadyError:
            logger.error("Place search unavailable: the knowledge database is missing or not imported")
            raise PlaceSearchError("La base des lieux n'est pas disponible sur ce serveur.") from None
        if place_type not in place_types:
            raise PlaceSearchError("Type de lieu inconnu.")

        if insee_code:
            commune = index.communes.get(insee_code)
            if commune is None or commune.latitude is None:
                raise PlaceSearchError("Commune inconnue.")
            label = _commune_label(commune)
            latitude, longitude = commune.latitude, commune.longitude
        else:
            query = (query or "").strip()
            if not query:
                raise PlaceSearchError("Indiquez une ville ou un code postal.")
            if len(query) > MAX_QUERY_LENGTH:
                raise PlaceSearchError("Recherche trop longue : indiquez une ville ou un code postal.")
            resolution = knowledge.resolve_location(index, query)
            if resolution.ambiguous:
                return {
                    "status": "ambiguous",
                    "candidates": [
                        {"insee": candidate.insee_code, "label": _candidate_label(candidate)}
                        for candidate in resolution.candidates[:10]
                    ],
                }
            if not resolution.found or resolution.latitude is None:
                return {"status": "not_found"}
            commune = resolution.commune
            label = _commune_label(commune)
            latitude, longitude = resolution.latitude, resolution.longitude

        radius = place_types[place_type].default_radius_km * RADIUS_FACTOR
        hits = knowledge.nearest_places(
            index, latitude, longitude, place_type=place_type, limit=PLACE_RESULTS, max_distance_km=radius
        )
        return {
            "status": "found",
            "location": label,
            "insee": commune.insee_code,
            "radius_km": radius,
            "places": [{"id": hit.id, "card": _card(hit, place_types)} for hit in hits],
        }

    async def card(self, place_id: int, insee_code: Optional[str] = None) -> Optional[dict[str, Any]]:
        """Return the card of a place, with its distance from a commune when `insee_code` is given, or None."""
        return await asyncio.to_thread(self._card_for, place_id, insee_code)

    def _card_for(self, place_id: int, insee_code: Optional[str]) -> Optional[dict[str, Any]]:
        try:
            index, place_types = self._load()
        except knowledge.DatabaseNotReadyError:
            raise PlaceSearchError("La base des lieux n'est pas disponible sur ce serveur.") from None
        record = next((place for place in index.places if place.id == place_id), None)
        if record is None:
            return None
        commune = index.communes.get(insee_code) if insee_code else None
        distance = None
        if commune is not None and commune.latitude is not None:
            distance = round(haversine_km(commune.latitude, commune.longitude, record.latitude, record.longitude), 1)
        hit = PlaceHit(
            **asdict(record),
            distance_km=distance,
            map_url=openstreetmap_url(record.latitude, record.longitude),
        )
        return _card(hit, place_types)


# The bot's lookup module is imported on first use: it pulls in rasa_sdk,
# which the console needs only once a counsellor searches for a place. Its
# functions give the same cards and commune names as the bot's replies.


def _card(hit: PlaceHit, place_types: dict[str, Any]) -> dict[str, Any]:
    from bot.actions.lookup import place_card

    return place_card(hit, place_types)


def _commune_label(commune: Any) -> str:
    from bot.actions.lookup import commune_label

    return commune_label(commune)


def _candidate_label(commune: Any) -> str:
    from bot.actions.lookup import candidate_title

    return candidate_title(commune)
