"""Knowledge base of the "seconde chance" chatbot.

Communes, postal codes, départements, places for young people (missions locales,
CIO, E2C, EPIDE, micro-lycées, PSAD) and the Onisep training catalogue, imported
from open data into SQLite or PostgreSQL, with location resolution and searches.
`field_for_text` finds a field of training ("mécanique", "petite enfance") named
in a user message.

Typical use from the bot's actions:

    from knowledge import get_index, resolve_location, nearest_places, load_place_types

    index = get_index()
    resolution = resolve_location(index, "Villeurbanne")
    if resolution.status == "found":
        radius = load_place_types()["mission_locale"].default_radius_km
        places = nearest_places(index, resolution.latitude, resolution.longitude,
                                place_type="mission_locale", limit=3, max_distance_km=radius)

`knowledge.search.place_types(index_or_session)` (the types present in the data)
is not re-exported here, because `knowledge.place_types` is the module of
`load_place_types`.
"""

from .config import Settings, load_settings
from .db import DatabaseNotReadyError, get_engine, session_scope
from .index import CommuneRef, LocationIndex, clear_index_cache, get_index
from .place_types import PlaceType, load_place_types
from .regions import Region, find_region
from .resolve import Resolution, find_location_in_text, resembles_place_name, resolve_location
from .search import (
    PlaceHit,
    TrainingHit,
    UnknownDiplomaError,
    UnknownPlaceTypeError,
    field_for_text,
    nearest_places,
    search_trainings,
)

__all__ = [
    "CommuneRef",
    "DatabaseNotReadyError",
    "LocationIndex",
    "PlaceHit",
    "PlaceType",
    "Region",
    "Resolution",
    "Settings",
    "TrainingHit",
    "UnknownDiplomaError",
    "UnknownPlaceTypeError",
    "clear_index_cache",
    "field_for_text",
    "find_location_in_text",
    "find_region",
    "get_engine",
    "get_index",
    "load_place_types",
    "load_settings",
    "nearest_places",
    "resembles_place_name",
    "resolve_location",
    "search_trainings",
    "session_scope",
]
