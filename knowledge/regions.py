"""Find a French région named in a message (« je suis en Bretagne », « en corse »).

A région is too large to search around one point, so the bot asks for the
town and offers the région's départements. The names of the 13 régions of
metropolitan France come from the départements table (the ``region_name``
column of the open data). Single-département régions overseas are left out,
because their name is also the département's. Usual short names and the
names of the former régions (before 2016) are added below.

NOTE: only a whole name counts, and only where no commune was found first:
« Aix-en-Provence » is a commune, not the région « Provence ».
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .index import LocationIndex
from .normalize import normalize_name

__all__ = ["Region", "find_region"]

# Short names and former régions: how the reply names them, and their départements.
_EXTRA_NAMES = {
    "paca": ("Provence-Alpes-Côte d'Azur", ("04", "05", "06", "13", "83", "84")),
    "provence": ("Provence-Alpes-Côte d'Azur", ("04", "05", "06", "13", "83", "84")),
    "cote d azur": ("Côte d'Azur", ("06", "83")),
    "idf": ("Île-de-France", ("75", "77", "78", "91", "92", "93", "94", "95")),
    "region parisienne": ("Île-de-France", ("75", "77", "78", "91", "92", "93", "94", "95")),
    "alsace": ("Alsace", ("67", "68")),
    "lorraine": ("Lorraine", ("54", "55", "57", "88")),
    "champagne": ("Champagne-Ardenne", ("08", "10", "51", "52")),
    "picardie": ("Picardie", ("02", "60", "80")),
    "nord pas de calais": ("Nord-Pas-de-Calais", ("59", "62")),
    "auvergne": ("Auvergne", ("03", "15", "43", "63")),
    "rhone alpes": ("Rhône-Alpes", ("01", "07", "26", "38", "42", "69", "73", "74")),
    "limousin": ("Limousin", ("19", "23", "87")),
    "aquitaine": ("Aquitaine", ("24", "33", "40", "47", "64")),
    "poitou charentes": ("Poitou-Charentes", ("16", "17", "79", "86")),
    "languedoc": ("Languedoc-Roussillon", ("11", "30", "34", "48", "66")),
    "midi pyrenees": ("Midi-Pyrénées", ("09", "12", "31", "32", "46", "65", "81", "82")),
    "bourgogne": ("Bourgogne", ("21", "58", "71", "89")),
    "franche comte": ("Franche-Comté", ("25", "39", "70", "90")),
}


@dataclass(frozen=True)
class Region:
    """A région, or a former région, and the codes of its départements."""

    name: str
    departement_codes: tuple[str, ...]


# The régions of the latest index, by normalised name, longest name first so
# that « auvergne rhone alpes » wins over « auvergne ».
_cache: Optional[tuple[LocationIndex, dict[str, Region]]] = None


def _regions(index: LocationIndex) -> dict[str, Region]:
    global _cache
    if _cache is not None and _cache[0] is index:
        return _cache[1]

    by_name: dict[str, list[str]] = {}
    for departement in index.departements.values():
        if departement.region_name:
            by_name.setdefault(departement.region_name, []).append(departement.code)

    regions: dict[str, Region] = {}
    for name, codes in by_name.items():
        if len(codes) >= 2:
            regions[normalize_name(name)] = Region(name, tuple(sorted(codes)))
    for key, (name, codes) in _EXTRA_NAMES.items():
        known = tuple(code for code in codes if code in index.departements)
        if known:
            regions.setdefault(key, Region(name, known))
    regions = dict(sorted(regions.items(), key=lambda item: len(item[0]), reverse=True))

    _cache = (index, regions)
    return regions


def find_region(index: LocationIndex, text: str) -> Optional[Region]:
    """Return the région a message names as a whole, if any.

    Args:
        index: The knowledge index.
        text: The user's message.

    Returns:
        The région whose normalised name appears in the message as whole
        words, the longest name first, or None.
    """
    normalized = f" {normalize_name(text or '')} "
    for key, region in _regions(index).items():
        if f" {key} " in normalized:
            return region
    return None
