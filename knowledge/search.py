"""Searches for callers: nearest places of a type, place types present, trainings and their fields."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Iterable, Optional, Union

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .geo import haversine_km, openstreetmap_url
from .index import LocationIndex, PlaceRecord
from .models import Place
from .trainings import TrainingHit, UnknownDiplomaError, field_for_text, known_diplomas, search_trainings

__all__ = [
    "PlaceHit",
    "TrainingHit",
    "UnknownDiplomaError",
    "UnknownPlaceTypeError",
    "field_for_text",
    "known_diplomas",
    "nearest_places",
    "place_types",
    "search_trainings",
]

logger = logging.getLogger(__name__)

IndexOrSession = Union[LocationIndex, Session]


class UnknownPlaceTypeError(ValueError):
    """The requested place type is not present in the data.

    Attributes:
        place_type: the requested type.
        known_types: the types present in the data.
    """

    def __init__(self, place_type: str, known_types: Iterable[str]):
        self.place_type = place_type
        self.known_types = sorted(known_types)
        super().__init__(f"Unknown place type {place_type!r}. Known types: {', '.join(self.known_types)}.")


@dataclass(frozen=True)
class PlaceHit:
    """A place with its distance from the search point.

    The fields are every column of places/*.csv (type, name, address,
    postal_code, commune, code_insee, latitude, longitude, coord_source, phone,
    email, website, source, source_date), the row id and the source file name.
    `website` and `email` are None when the file's value was invalid.
    `distance_km` is the great-circle distance rounded to 0.1 km, and `map_url`
    an OpenStreetMap link with a marker on the place.

    `address_checked` is False when the postal code is a regular postal code
    that does not belong to the place's commune (for instance "CIO Lyon Nord,
    100 rue Hénon, 69004" filed under Rillieux-la-Pape): the address or the
    commune is wrong, so show the address with care. It is True otherwise,
    including for CEDEX codes, which cannot be checked.
    """

    id: int
    type: str
    name: str
    address: Optional[str]
    postal_code: Optional[str]
    commune: Optional[str]
    code_insee: str
    latitude: float
    longitude: float
    coord_source: Optional[str]
    phone: Optional[str]
    email: Optional[str]
    website: Optional[str]
    source: Optional[str]
    source_date: Optional[str]
    source_file: str
    distance_km: float
    map_url: str
    address_checked: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def place_types(index_or_session: IndexOrSession) -> dict[str, int]:
    """Return the place types present in the data with their number of places, sorted by type."""
    if isinstance(index_or_session, LocationIndex):
        return index_or_session.place_type_counts()
    statement = select(Place.type, func.count()).group_by(Place.type).order_by(Place.type)
    return {place_type: count for place_type, count in index_or_session.execute(statement)}


def _records(index_or_session: IndexOrSession, place_type: Optional[str]) -> list[PlaceRecord]:
    if isinstance(index_or_session, LocationIndex):
        return [
            place for place in index_or_session.places if place_type is None or place.type == place_type
        ]
    statement = select(Place).order_by(Place.id)
    if place_type is not None:
        statement = statement.where(Place.type == place_type)
    fields = PlaceRecord.__dataclass_fields__
    return [
        PlaceRecord(**{column: getattr(place, column) for column in fields})
        for place in index_or_session.execute(statement).scalars()
    ]


def nearest_places(
    index_or_session: IndexOrSession,
    latitude: float,
    longitude: float,
    place_type: Optional[str] = None,
    limit: int = 3,
    max_distance_km: Optional[float] = None,
) -> list[PlaceHit]:
    """Return the places nearest to a point, nearest first.

    Args:
        index_or_session: a LocationIndex (places held in memory) or a Session.
        latitude, longitude: WGS84 point in degrees, for instance
            `Resolution.latitude`/`Resolution.longitude`.
        place_type: a type of the data (mission_locale, cio, e2c, epide,
            micro_lycee, psad...); None searches every type.
        limit: maximum number of places.
        max_distance_km: drop places farther than this; None keeps every distance.
            `load_place_types()[type].default_radius_km` gives the usual radius.

    Returns:
        Up to `limit` PlaceHit objects; an empty list when none is within reach.
        Distances are measured to the stored point, which for many places is the
        centre of their commune (`coord_source == "commune"`).

    Raises:
        ValueError: the point is outside the valid ranges or `limit` is below 1.
        UnknownPlaceTypeError: `place_type` is not present in the data.
    """
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        raise ValueError(f"Invalid point ({latitude}, {longitude}): expected latitude in [-90, 90] and longitude in [-180, 180].")
    if limit < 1:
        raise ValueError(f"Invalid limit {limit}: expected at least 1.")
    records = _records(index_or_session, place_type)
    if place_type is not None and not records:
        known = place_types(index_or_session)
        if place_type not in known:
            raise UnknownPlaceTypeError(place_type, known)

    scored = []
    for record in records:
        distance = haversine_km(latitude, longitude, record.latitude, record.longitude)
        if max_distance_km is not None and distance > max_distance_km:
            continue
        scored.append((distance, record.name, record))
    scored.sort(key=lambda item: (item[0], item[1]))

    hits = []
    for distance, _name, record in scored[:limit]:
        hits.append(
            PlaceHit(
                **asdict(record),
                distance_km=round(distance, 1),
                map_url=openstreetmap_url(record.latitude, record.longitude),
            )
        )
    return hits
