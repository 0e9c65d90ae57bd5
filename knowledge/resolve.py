"""Resolve what a user typed into a commune, an arrondissement or a département.

`resolve_location(index, query)` handles a whole query ("Villeurbanne", "69100",
"Lyon 3e", "Evry (91)", "45.767, 4.88", "creuse"...). `find_location_in_text`
looks for such a location inside a sentence.

The checks run in this order: coordinates, postal code, département code,
arrondissement, then the exact name. Names cover current and former names,
déléguées and département names, then La Poste localities. Next comes a name
followed by a département or postal code, and last typo-tolerant matching
(rapidfuzz) for queries of 5 characters or more. A name that starts with a
contracted article ("au Mans", "des Mureaux") is also tried with the article
it stands for ("Le Mans", "Les Mureaux").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Union

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from .index import AliasEntry, CommuneRef, LocationIndex, index_for_session
from .normalize import compact_key, normalize_name
from .wordlists import FOREIGN_CITY_NAMES

__all__ = [
    "AMBIGUOUS",
    "CITY_WIDE_POSTAL_CODES",
    "CONTRACTED_ARTICLES",
    "FOUND",
    "NOT_FOUND",
    "CommuneRef",
    "Resolution",
    "find_location_in_text",
    "resembles_place_name",
    "resolve_location",
]

logger = logging.getLogger(__name__)

FOUND = "found"
AMBIGUOUS = "ambiguous"
NOT_FOUND = "not_found"

# Longer queries are not place names; rejecting them keeps resolution fast.
MAX_QUERY_CHARS = 200
# Typo tolerance starts at this many letters: shorter names have too many neighbours.
FUZZY_MIN_CHARS = 5
# rapidfuzz.fuzz.ratio (0-100). At 90, "Marseile" (94) and "Villeurbane" (96) match,
# while "Bruxelles" does not match "Brunelles" (89) or "Broxeele".
FUZZY_CUTOFF = 90.0
# Large cities are what people type most, so they accept one wrong letter in an
# 8-letter name ("Toulouze", 87.5).
FUZZY_CUTOFF_LARGE_CITY = 85.0
LARGE_CITY_POPULATION = 100_000
# Fuzzy matches within this many points of the best one are offered as candidates.
FUZZY_TIE_MARGIN = 1.0
# An unknown query this close to a name (rapidfuzz ratio) reads as a misspelt
# place: "bordo" (83) is, "c'est loin" (67) and "la vue est belle" (69) are not.
RESEMBLANCE_CUTOFF = 80.0

_DOT_COORDINATES = re.compile(r"^\(?\s*([-+]?\d{1,2}\.\d+)\s*[,; ]\s*([-+]?\d{1,3}\.\d+)\s*\)?$")
# French decimal commas need another separator: "45,767; 4,88" or "45,767 4,88".
_COMMA_COORDINATES = re.compile(r"^\(?\s*([-+]?\d{1,2},\d+)\s*(?:;\s*|\s+)([-+]?\d{1,3},\d+)\s*\)?$")
_POSTAL_CODE = re.compile(r"^\d{5}$")
_DEPARTEMENT_CODE = re.compile(r"^(?:\d{2}|\d{3}|2a|2b)$")
_ARRONDISSEMENT = re.compile(
    r"^(?P<city>[a-z ]+?) (?P<number>\d{1,2}) ?(?:er|ere|e|eme|ieme|em|emes)?(?: arrondissement| arrdt| arr)?$"
)
_ARRONDISSEMENT_REVERSED = re.compile(
    r"^(?P<number>\d{1,2}) ?(?:er|ere|e|eme|ieme|em)? (?:arrondissement|arrdt|arr)(?: de)? (?P<city>[a-z ]+)$"
)
_TRAILING_CODE = re.compile(r"^(?P<name>.+?) (?P<code>\d{5}|\d{2,3}|2a|2b)$")

# La Poste never assigned these codes: each district of Paris, Lyon and Marseille
# has its own code (75001, 69001, 13001...). Users still type "75000" for "Paris"
# the way they type 31000 for Toulouse, so they resolve to the whole city.
CITY_WIDE_POSTAL_CODES = {"75000": "75056", "69000": "69123", "13000": "13055"}

# French contracts "à le", "de le" into "au", "du", and "à les", "de les" into
# "aux", "des": "au Mans" is "à Le Mans", "des Mureaux" is "de Les Mureaux".
CONTRACTED_ARTICLES = {"au": "le", "du": "le", "aux": "les", "des": "les"}

# A homonym is dominant when it has at least this many times the population of
# the next one (La Rochelle 17, 79,851 inhabitants, against La Rochelle 70, 40).
DOMINANT_POPULATION_RATIO = 100

_NAME_KIND = {
    "official": "commune",
    "former_name": "former_name",
    "delegated": "former_name",
    "associated": "former_name",
    "locality": "locality",
}


@dataclass
class Resolution:
    """Result of a location query.

    Attributes:
        status: "found", "ambiguous" or "not_found".
        kind: how the query matched: "commune", "arrondissement", "postal_code",
            "departement", "former_name" (former commune, déléguée, associée),
            "locality" (a La Poste locality inside a commune), "coordinates" or
            "fuzzy"; None when nothing was recognised.
        query: the query as given.
        commune: the commune found; for a département, its chef-lieu; None when
            ambiguous or not found.
        candidates: when ambiguous, every match ranked by population (largest
            first), each commune once. When found by a postal code shared by several
            communes, or by a département name that is also a commune name, the
            other communes.
        departement_code, departement_name: département of the result.
        latitude, longitude: reference point for distances: the query point for
            coordinates, otherwise the commune's centroid.
        distance_km: for coordinates, the distance from the point to the centroid
            of `commune` (or to the nearest centroid when not found).
        fuzzy_score: rapidfuzz ratio (0-100) when the name was matched with typos.
        dominant: when ambiguous, the first candidate if its population is at
            least 100 times that of the second one (Évry-Courcouronnes, 66,919
            inhabitants, against Évry in the Yonne, 402); None otherwise, and
            always None unless ambiguous. The status stays "ambiguous", so the
            caller chooses between asking and taking the dominant commune.
    """

    status: str
    kind: Optional[str]
    query: str
    commune: Optional[CommuneRef] = None
    candidates: list[CommuneRef] = field(default_factory=list)
    departement_code: Optional[str] = None
    departement_name: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    distance_km: Optional[float] = None
    fuzzy_score: Optional[float] = None

    @property
    def found(self) -> bool:
        return self.status == FOUND

    @property
    def ambiguous(self) -> bool:
        return self.status == AMBIGUOUS

    @property
    def dominant(self) -> Optional[CommuneRef]:
        """The candidate that outweighs the others by population (see the class docstring)."""
        if self.status != AMBIGUOUS or len(self.candidates) < 2:
            return None
        first, second = self.candidates[0], self.candidates[1]
        # A second candidate without population counts as 1, so the first one
        # needs at least 100 inhabitants.
        if (first.population or 0) >= DOMINANT_POPULATION_RATIO * max(second.population or 0, 1):
            return first
        return None

    def to_dict(self) -> dict:
        """Return JSON-ready data (CommuneRef objects become dictionaries)."""
        return {
            "status": self.status,
            "kind": self.kind,
            "query": self.query,
            "commune": self.commune.to_dict() if self.commune else None,
            "candidates": [candidate.to_dict() for candidate in self.candidates],
            "departement_code": self.departement_code,
            "departement_name": self.departement_name,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "distance_km": self.distance_km,
            "fuzzy_score": self.fuzzy_score,
            "dominant": self.dominant.to_dict() if self.dominant else None,
        }


@dataclass(frozen=True)
class _Qualifier:
    """A département or postal code written next to a name ("Evry 91", "Evry 91000")."""

    departement_code: Optional[str] = None
    postal_code: Optional[str] = None


IndexOrSession = Union[LocationIndex, Session]


def _as_index(index_or_session: IndexOrSession) -> LocationIndex:
    if isinstance(index_or_session, LocationIndex):
        return index_or_session
    return index_for_session(index_or_session)


def resolve_location(
    index_or_session: IndexOrSession,
    query: str,
    *,
    max_point_distance_km: Optional[float] = None,
) -> Resolution:
    """Resolve a location query.

    Args:
        index_or_session: a LocationIndex (from `knowledge.index.get_index()`), or
            a Session, in which case a cached index of that database is used.
        query: what the user typed: a commune name (accents, hyphens and case do
            not matter), a former name, "Lyon 3e", a postal code, a département code
            or name, "Name 91" / "Name (91)" / "Name 91000", or "lat, lon". A
            leading "au"/"du" also tries "Le <name>", and "aux"/"des" "Les <name>".
            "75000", "69000" and "13000", which are not real postal codes, give
            Paris, Lyon and Marseille.
        max_point_distance_km: for coordinates, the maximum distance to the nearest
            commune centroid; None uses the index setting (30 km by default).

    Returns:
        A Resolution. Empty or over-long queries (more than 200 characters)
        are "not_found".
    """
    index = _as_index(index_or_session)
    raw = (query or "").strip()
    if not raw or len(raw) > MAX_QUERY_CHARS:
        return Resolution(status=NOT_FOUND, kind=None, query=query or "")

    point = parse_coordinates(raw)
    if point is not None:
        limit = index.max_point_distance_km if max_point_distance_km is None else max_point_distance_km
        return _resolve_point(index, query, point[0], point[1], limit)

    normalized = normalize_name(raw)
    if not normalized:
        return Resolution(status=NOT_FOUND, kind=None, query=query)
    if _POSTAL_CODE.match(normalized):
        return _resolve_postal_code(index, query, normalized)
    if _DEPARTEMENT_CODE.match(normalized):
        return _resolve_departement_code(index, query, normalized.upper())

    arrondissement = _match_arrondissement(index, normalized)
    if arrondissement is not None:
        return _found(query, "arrondissement", index.communes[arrondissement])

    resolution = _resolve_exact_names(index, query, _article_variants(normalized))
    if resolution is not None:
        return resolution

    split = _split_qualifier(index, normalized)
    if split is not None:
        name, qualifier = split
        variants = _article_variants(name)
        resolution = _resolve_exact_names(index, query, variants, qualifier) or _resolve_fuzzy(
            index, query, variants[-1], qualifier
        )
        if resolution is not None:
            return resolution

    # Typos are looked for in the name with its article ("le mans" for "au mans"),
    # because "au ..." itself names no commune.
    resolution = _resolve_fuzzy(index, query, _article_variants(normalized)[-1])
    if resolution is not None:
        return resolution
    return Resolution(status=NOT_FOUND, kind=None, query=query)


def _article_variants(normalized: str) -> list[str]:
    """Return the name as typed, then with the article a contraction stands for.

    "au mans" gives ["au mans", "le mans"] and "des mureaux" gives ["des mureaux",
    "les mureaux"]. A name as typed comes first, because a few communes do start
    with such a word (Aux-Aussat).
    """
    first, _space, rest = normalized.partition(" ")
    article = CONTRACTED_ARTICLES.get(first)
    if article is None or not rest:
        return [normalized]
    return [normalized, f"{article} {rest}"]


def _resolve_exact_names(
    index: LocationIndex, query: str, names: list[str], qualifier: Optional["_Qualifier"] = None
) -> Optional[Resolution]:
    for name in names:
        resolution = _resolve_exact_name(index, query, name, qualifier)
        if resolution is not None:
            return resolution
    return None


def parse_coordinates(text: str) -> Optional[tuple[float, float]]:
    """Parse "lat, lon", "lat lon" or "lat; lon" (decimal degrees) into a pair.

    Returns:
        (latitude, longitude), or None when the text is not a valid pair.
    """
    match = _DOT_COORDINATES.match(text)
    if match is None:
        match = _COMMA_COORDINATES.match(text)
    if match is None:
        return None
    latitude = float(match.group(1).replace(",", "."))
    longitude = float(match.group(2).replace(",", "."))
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    return latitude, longitude


def _found(
    query: str,
    kind: str,
    commune: CommuneRef,
    candidates: Iterable[CommuneRef] = (),
    **extra,
) -> Resolution:
    extra.setdefault("latitude", commune.latitude)
    extra.setdefault("longitude", commune.longitude)
    return Resolution(
        status=FOUND,
        kind=kind,
        query=query,
        commune=commune,
        candidates=list(candidates),
        departement_code=extra.pop("departement_code", commune.departement_code),
        departement_name=extra.pop("departement_name", commune.departement_name),
        **extra,
    )


def _ambiguous(query: str, kind: str, candidates: list[CommuneRef], **extra) -> Resolution:
    return Resolution(status=AMBIGUOUS, kind=kind, query=query, candidates=candidates, **extra)


def _population_key(commune: CommuneRef) -> tuple:
    return (-(commune.population or 0), commune.name, commune.insee_code)


def _resolve_point(index: LocationIndex, query: str, latitude: float, longitude: float, limit_km: float) -> Resolution:
    nearest = index.nearest_commune(latitude, longitude)
    if nearest is None:
        return Resolution(status=NOT_FOUND, kind="coordinates", query=query, latitude=latitude, longitude=longitude)
    commune, distance = nearest
    # NOTE: the limit applies to the distance to a centroid, so a point inside a very
    # large commune (Guyane, for one) can lie farther than the limit and be rejected.
    if distance > limit_km:
        return Resolution(
            status=NOT_FOUND,
            kind="coordinates",
            query=query,
            latitude=latitude,
            longitude=longitude,
            distance_km=round(distance, 1),
        )
    return _found(
        query, "coordinates", commune, latitude=latitude, longitude=longitude, distance_km=round(distance, 1)
    )


def _drop_split_cities(index: LocationIndex, codes: Iterable[str]) -> list[str]:
    """Remove Paris/Lyon/Marseille when one of their arrondissements is in the list."""
    codes = list(dict.fromkeys(codes))
    parents = {index.arrondissement_parent[code] for code in codes if code in index.arrondissement_parent}
    return [code for code in codes if code not in parents]


def _resolve_postal_code(index: LocationIndex, query: str, postal_code: str) -> Resolution:
    codes = _drop_split_cities(index, index.postal_codes.get(postal_code, ()))
    if not codes and CITY_WIDE_POSTAL_CODES.get(postal_code) in index.communes:
        return _found(query, "postal_code", index.communes[CITY_WIDE_POSTAL_CODES[postal_code]])
    if not codes:
        return Resolution(status=NOT_FOUND, kind="postal_code", query=query)
    communes = sorted((index.communes[code] for code in codes), key=_population_key)
    return _found(query, "postal_code", communes[0], communes[1:])


def _resolve_departement_code(index: LocationIndex, query: str, code: str) -> Resolution:
    if code not in index.departements:
        return Resolution(status=NOT_FOUND, kind=None, query=query)
    return _departement_resolution(index, query, code)


def _departement_resolution(
    index: LocationIndex, query: str, code: str, candidates: Iterable[CommuneRef] = (), **extra
) -> Resolution:
    departement = index.departements[code]
    chef_lieu = index.communes.get(departement.chef_lieu_code or "")
    return Resolution(
        status=FOUND,
        kind="departement",
        query=query,
        commune=chef_lieu,
        candidates=list(candidates),
        departement_code=departement.code,
        departement_name=departement.name,
        latitude=chef_lieu.latitude if chef_lieu else None,
        longitude=chef_lieu.longitude if chef_lieu else None,
        **extra,
    )


def _match_arrondissement(index: LocationIndex, normalized: str) -> Optional[str]:
    match = _ARRONDISSEMENT.match(normalized) or _ARRONDISSEMENT_REVERSED.match(normalized)
    if match is None:
        return None
    return index.arrondissements.get((match.group("city"), int(match.group("number"))))


def _split_qualifier(index: LocationIndex, normalized: str) -> Optional[tuple[str, _Qualifier]]:
    """Split "evry 91", "evry 91000" or "saint denis la reunion" into a name and a qualifier."""
    match = _TRAILING_CODE.match(normalized)
    if match is not None:
        code = match.group("code")
        if len(code) == 5:
            if code in index.postal_codes or code in CITY_WIDE_POSTAL_CODES:
                return match.group("name"), _Qualifier(postal_code=code)
        elif code.upper() in index.departements:
            return match.group("name"), _Qualifier(departement_code=code.upper())
        return None
    words = normalized.split()
    # Longest département name first, so "la reunion" wins over a shorter suffix.
    for size in range(min(len(words) - 1, 5), 0, -1):
        suffix = " ".join(words[-size:])
        code = index.departement_names.get(suffix)
        if code is not None:
            return " ".join(words[:-size]), _Qualifier(departement_code=code)
    return None


def _apply_qualifier(index: LocationIndex, codes: list[str], qualifier: Optional[_Qualifier]) -> list[str]:
    if qualifier is None:
        return codes
    if qualifier.departement_code is not None:
        return [code for code in codes if index.communes[code].departement_code == qualifier.departement_code]
    # A postal code picks the arrondissement of a split city ("Lyon 69003").
    by_postal_code = set(index.postal_codes.get(qualifier.postal_code or "", ()))
    kept: list[str] = []
    for code in codes:
        arrondissements = [
            candidate for candidate in by_postal_code if index.arrondissement_parent.get(candidate) == code
        ]
        if arrondissements:
            kept.extend(arrondissements)
        elif code in by_postal_code:
            kept.append(code)
    return kept


def _entries_for(index: LocationIndex, normalized: str, table: dict, compact_table: dict) -> list[AliasEntry]:
    entries = table.get(normalized)
    if entries:
        return entries
    # "lhay les roses" against "l hay les roses": same letters without the spaces.
    keys = compact_table.get(compact_key(normalized), ())
    return [entry for key in keys for entry in table[key]]


def _refs_from_entries(index: LocationIndex, entries: Iterable[AliasEntry]) -> dict[str, tuple[CommuneRef, str]]:
    """Group alias entries by commune: code -> (CommuneRef with matched name, result kind)."""
    grouped: dict[str, list[AliasEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.insee_code, []).append(entry)
    refs: dict[str, tuple[CommuneRef, str]] = {}
    for code, code_entries in grouped.items():
        commune = index.communes[code]
        official = [entry for entry in code_entries if entry.kind == "official"]
        if official:
            kind = "arrondissement" if commune.type == "arrondissement-municipal" else "commune"
            refs[code] = (commune, kind)
        else:
            entry = code_entries[0]
            refs[code] = (commune.with_matched_name(entry.alias), _NAME_KIND[entry.kind])
    return refs


def _result_from_refs(
    index: LocationIndex,
    query: str,
    refs: dict[str, tuple[CommuneRef, str]],
    qualifier: Optional[_Qualifier],
    **extra,
) -> Optional[Resolution]:
    codes = list(refs)
    filtered = _apply_qualifier(index, codes, qualifier)
    if qualifier is not None and filtered:
        communes = []
        for code in filtered:
            if code in refs:
                communes.append(refs[code])
            else:
                communes.append((index.communes[code], "arrondissement"))
    else:
        # A qualifier that matches none of the names is ignored rather than
        # turning a known name into "not found".
        communes = list(refs.values())
    if not communes:
        return None
    communes.sort(key=lambda pair: _population_key(pair[0]))
    kinds = {kind for _commune, kind in communes}
    if len(communes) == 1:
        commune, kind = communes[0]
        return _found(query, extra.pop("kind", kind), commune, **extra)
    if "commune" in kinds:
        kind = "commune"
    else:
        kind = communes[0][1]
    return _ambiguous(query, extra.pop("kind", kind), [commune for commune, _kind in communes], **extra)


def _resolve_exact_name(
    index: LocationIndex, query: str, normalized: str, qualifier: Optional[_Qualifier] = None
) -> Optional[Resolution]:
    entries = _entries_for(index, normalized, index.names, index.compact_names)
    refs = _refs_from_entries(index, entries)

    departement_code = index.departement_names.get(normalized)
    if departement_code is not None and qualifier is None:
        chef_lieu = index.departements[departement_code].chef_lieu_code
        # "Paris" names both. The commune is the better result when it is the chef-lieu.
        if chef_lieu not in refs:
            others = sorted((commune for commune, _kind in refs.values()), key=_population_key)
            return _departement_resolution(index, query, departement_code, others)

    if refs:
        return _result_from_refs(index, query, refs, qualifier)

    entries = _entries_for(index, normalized, index.localities, index.compact_localities)
    if entries:
        return _result_from_refs(index, query, _refs_from_entries(index, entries), qualifier)
    return None


def _resolve_fuzzy(
    index: LocationIndex, query: str, normalized: str, qualifier: Optional[_Qualifier] = None
) -> Optional[Resolution]:
    if len(compact_key(normalized)) < FUZZY_MIN_CHARS or normalized in FOREIGN_CITY_NAMES:
        return None
    # Typos rarely hit the first letter, and requiring it avoids matches such as
    # "Londres" -> "Ondres"; it also divides the work by about twenty.
    choices = index.fuzzy_choices.get(normalized[0], ())
    matches = [
        match
        for match in process.extract(
            normalized, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF_LARGE_CITY, limit=20
        )
        if match[1] >= FUZZY_CUTOFF or _is_large_city_name(index, match[0])
    ]
    if not matches:
        return None
    best_score = matches[0][1]
    keys = [key for key, score, _position in matches if score >= best_score - FUZZY_TIE_MARGIN]
    score = round(best_score, 1)

    departement_keys = [key for key in keys if key in index.departement_names and key not in index.names]
    if departement_keys and departement_keys[0] == matches[0][0] and qualifier is None:
        return _departement_resolution(
            index, query, index.departement_names[departement_keys[0]], fuzzy_score=score
        )

    entries = [entry for key in keys for entry in index.names.get(key, ())]
    refs = _refs_from_entries(index, entries)
    if not refs:
        return None
    return _result_from_refs(index, query, refs, qualifier, kind="fuzzy", fuzzy_score=score)


def resembles_place_name(index_or_session: IndexOrSession, query: str) -> bool:
    """Return whether an unresolved query still looks like a misspelt place name.

    The bot quotes such a query back ("je ne trouve pas « bordo »") and
    requests the spelling. For any other sentence it requests a town or a
    postal code, because « c'est loin » quoted as a commune reads oddly.

    Args:
        index_or_session: a LocationIndex or a Session, as for `resolve_location`.
        query: the text that `resolve_location` did not find.

    Returns:
        True for a number (a postal code or a département that does not
        exist), or for a text close to a commune or département name with
        the same first letter.
    """
    normalized = normalize_name(query or "")
    if not normalized:
        return False
    if normalized.replace(" ", "").isdigit():
        return True
    index = _as_index(index_or_session)
    choices = index.fuzzy_choices.get(normalized[0], ())
    return process.extractOne(
        normalized, choices, scorer=fuzz.ratio, score_cutoff=RESEMBLANCE_CUTOFF
    ) is not None


def _is_large_city_name(index: LocationIndex, key: str) -> bool:
    return any(
        entry.kind == "official" and (index.communes[entry.insee_code].population or 0) >= LARGE_CITY_POPULATION
        for entry in index.names.get(key, ())
    )


def find_location_in_text(index_or_session: IndexOrSession, text: str) -> Optional[Resolution]:
    """Find a location inside a sentence ("y a une mission locale vers villeurbanne ?").

    The search looks for a coordinate pair first. Then it looks for a commune or
    département name of 1 to 6 consecutive words, longest match first. A "(91)",
    a postal code or a département named elsewhere in the text disambiguates it
    ("Mérignac en Gironde"). Then it looks for a 5-digit postal code, then for a
    département written "dans le 93", "du 13" or "(93)", and last for a
    commune name typed with a typo ("jsuis a marseile").

    Single words that are French stop words or blocked words are never taken
    for a commune ("Y", "Bar", "Marie", "Vue"...). Everyday words, those of the
    list of common words and, for communes under 20,000 inhabitants, any word
    of the French lexicon ("tours", "sens", "j'espère", "au courant"), need a
    capital letter after the first word, a place preposition before them ("à",
    "vers", "sur", "près de"; not "de", "en" or "dans") or to be the whole
    text. Other single words need a capital letter, any preposition or at
    least 4 letters. A name after "en" counts only as a département ("en
    Bretagne" is a région), a name after "je m'appelle" is a first name, and
    foreign city names ("Montréal", "Porto") need a département or postal code
    after them. After "au"/"du" the words are also tried as "Le <words>", and
    after "aux"/"des" as "Les <words>" ("au Mans", "aux Mureaux"). Everyday
    words there need a capital, so "au parc" is not Le Parc. "75000", "69000"
    and "13000" count as postal codes of Paris, Lyon and Marseille. See
    `knowledge.text_location` and `knowledge.wordlists` for the rules.

    Returns:
        The Resolution of the location found (which can be ambiguous), or None
        when the text names no location.
    """
    from .text_location import locate_in_text  # imported here: text_location imports this module

    return locate_in_text(_as_index(index_or_session), text)
