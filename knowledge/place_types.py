"""Place types: French labels, default search radius and national locator pages.

The types themselves come from the data (the `type` column of places/*.csv);
knowledge/place_types.yml only describes them. A type present in the data but
missing from the file still works, with its code as label.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import yaml

__all__ = ["DEFAULT_RADIUS_KM", "PLACE_TYPES_FILE", "PlaceType", "load_place_types"]

logger = logging.getLogger(__name__)

PLACE_TYPES_FILE = Path(__file__).with_name("place_types.yml")

# Radius of a type missing from the YAML file.
DEFAULT_RADIUS_KM = 30.0


@dataclass(frozen=True)
class PlaceType:
    """Description of one place type.

    Attributes:
        code: value of the `type` column (mission_locale, cio...).
        label, label_plural: French names shown to users.
        default_radius_km: distance under which a place counts as near.
        locator_url: national page listing every place of the type, or None.
        locator_hint: French sentence to show when there is no such page, in « tu ».
        locator_hint_adult: the same sentence in « vous », for parents and professionals.
        verified: whether the locator URL was checked by a person (free text).
        described: False when the type is missing from the YAML file.
    """

    code: str
    label: str
    label_plural: str
    default_radius_km: float
    locator_url: Optional[str] = None
    locator_hint: Optional[str] = None
    locator_hint_adult: Optional[str] = None
    verified: Optional[str] = None
    described: bool = True

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "label": self.label,
            "label_plural": self.label_plural,
            "default_radius_km": self.default_radius_km,
            "locator_url": self.locator_url,
            "locator_hint": self.locator_hint,
            "locator_hint_adult": self.locator_hint_adult,
            "verified": self.verified,
            "described": self.described,
        }


def load_place_types(
    types_in_data: Optional[Iterable[str]] = None, path: Optional[Path] = None
) -> dict[str, PlaceType]:
    """Load the place type descriptions.

    Args:
        types_in_data: type codes present in the database (for instance the keys
            of `knowledge.search.place_types(session)`). A code missing from the
            file gets a fallback description (label = code, radius 30 km) and a
            warning in the log.
        path: YAML file; None uses knowledge/place_types.yml.

    Returns:
        Descriptions by type code: the described types, then the undescribed ones.

    Raises:
        ValueError: the file is not a mapping with a `types` mapping, or an entry
            lacks a label or has an invalid radius.
    """
    path = path or PLACE_TYPES_FILE
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    entries = document.get("types") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: expected a `types` mapping of place type codes.")

    place_types: dict[str, PlaceType] = {}
    for code, entry in entries.items():
        if not isinstance(entry, dict) or not entry.get("label"):
            raise ValueError(f"{path}: place type {code!r} has no label.")
        try:
            radius = float(entry.get("default_radius_km", DEFAULT_RADIUS_KM))
        except (TypeError, ValueError):
            raise ValueError(f"{path}: place type {code!r} has an invalid default_radius_km.") from None
        if radius <= 0:
            raise ValueError(f"{path}: place type {code!r} has a default_radius_km that is not positive.")
        place_types[str(code)] = PlaceType(
            code=str(code),
            label=str(entry["label"]),
            label_plural=str(entry.get("label_plural") or entry["label"]),
            default_radius_km=radius,
            locator_url=entry.get("locator_url") or None,
            locator_hint=entry.get("locator_hint") or None,
            locator_hint_adult=entry.get("locator_hint_adult") or None,
            verified=None if entry.get("verified") is None else str(entry["verified"]),
        )

    for code in sorted(set(types_in_data or ()) - set(place_types)):
        logger.warning("Place type %r is in the data but not described in %s; using its code as label", code, path)
        place_types[code] = PlaceType(
            code=code,
            label=code,
            label_plural=code,
            default_radius_km=DEFAULT_RADIUS_KM,
            described=False,
        )
    return place_types
