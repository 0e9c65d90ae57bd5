"""Find a location mentioned inside a sentence.

The public entry point is `knowledge.resolve.find_location_in_text`. Matching is
precise rather than greedy: a false place in a sentence sends a young person to
the wrong town, while a missed one only makes the bot ask.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Optional

from .index import LocationIndex
from .normalize import normalize_name
from .resolve import (
    CITY_WIDE_POSTAL_CODES,
    CONTRACTED_ARTICLES,
    LARGE_CITY_POPULATION,
    Resolution,
    resolve_location,
)
from .wordlists import (
    BRAND_PREVIOUS_WORDS,
    BRAND_TEXT_WORDS,
    FOREIGN_CITY_NAMES,
    NAME_INTRODUCING_WORDS,
    PLACE_PREPOSITIONS,
    PREPOSITIONS,
    blocked_words,
    common_words,
    contraction_words,
    is_french_word,
)

__all__ = ["locate_in_text"]

logger = logging.getLogger(__name__)

# Texts longer than this are cut at a word boundary. It is the channels'
# limit on a message (connectors.user_input), so that a place named at the
# end of a long story (« bref je suis à Rennes ») is still read.
MAX_TEXT_CHARS = 2000
MAX_NAME_WORDS = 6

_WORD = re.compile(r"\w+")
_COORDINATES_IN_TEXT = re.compile(r"([-+]?\d{1,2}\.\d+)\s*[,;]?\s+([-+]?\d{1,3}\.\d+)")
_POSTAL_CODE = re.compile(r"^\d{5}$")
_DEPARTEMENT_TOKEN = re.compile(r"^(?:\d{2}|97\d|2[ab])$", re.IGNORECASE)
# "dans le 93", "vers le 13", "vers 93", "du 974", "(93)"
_DEPARTEMENT_MENTION = re.compile(
    r"(?:\b(?:dans|vers|pr[eè]s)\s+(?:le|du)\s+|\bvers\s+|\bdu\s+|\(\s*)(\d{2}|97\d|2[abAB])\b(?!\s*(?:h\b|ans?\b|au\b|%|€|euros?\b|/))",
    re.IGNORECASE,
)
# "dans le 9 3", "le 9-3": the number spelt digit by digit, as it is spoken.
_SPOKEN_DEPARTEMENT_MENTION = re.compile(
    r"\b(?:dans|vers|pr[eè]s|du c[oô]t[ée])\s+(?:le|du)\s+(\d)\s*[- .]\s*(\d)\b(?!\s*(?:h\b|ans?\b|%|€|euros?\b|/))",
    re.IGNORECASE,
)
# Ordinals written after a split city name: "Lyon 3e", "Paris 13", "Marseille 1er".
_ORDINAL = re.compile(r"^(\d{1,2})(?:er|ere|e|eme|ieme|em)?$")
_ARTICLES = frozenset({"le", "la", "les", "l"})
# "Paris 13 e" or "Lyon 3 arrondissement" put the suffix in a token of its own.
_ARRONDISSEMENT_WORDS = frozenset({"er", "ere", "e", "eme", "ieme", "em", "arrondissement", "arr", "arrdt"})
# "de" is a place preposition after these words: "près de Tours", "pas loin de Sens".
_NEAR_WORDS = frozenset({"pres", "proche", "cote", "loin", "autour"})
# After these words an unaccented "a" is the verb avoir: "on a bu" is not "à Bû".
_SUBJECTS_OF_A = frozenset({"on", "il", "elle", "y", "ca", "qui", "ce", "cela", "tout"})
# First words that make a two-word name an everyday phrase when the second word
# is ordinary French: "la force", "le chemin", "petit bourg".
_EVERYDAY_FIRST_WORDS = frozenset(
    {"le", "la", "les", "l", "petit", "petite", "grand", "grande", "vieux", "vieille", "beau", "belle",
     "haut", "haute", "bas", "basse", "bon", "bonne"}
)
# Typo tolerance in a sentence applies to words of at least this many letters
# after a place preposition ("jsuis a marseile"), and to the whole text when it
# has at most _SHORT_TEXT_TOKENS words ("villeurbane"). The correction must
# name a commune of at least _TYPO_MIN_POPULATION inhabitants, because small
# communes sit one letter away from many words.
_TYPO_MIN_CHARS = 5
_SHORT_TEXT_TOKENS = 3
_TYPO_MIN_POPULATION = 20_000
# Elsewhere in a sentence, only words of this many letters or more are tried,
# and only against cities of LARGE_CITY_POPULATION ("mission locale montpelier").
_TYPO_MIN_CHARS_ANYWHERE = 7
# Communes of this population or more keep their name even when it is an
# ordinary French word ("bourges", "sarcelles"): people who type it mean the
# town. The listed common words ("tours", "vienne") still need a sign.
EVERYDAY_NAME_MAX_POPULATION = 20_000


@dataclass(frozen=True)
class _Token:
    text: str
    normalized: str
    start: int
    end: int
    capitalized: bool


_ADDRESS_OR_LINK = re.compile(r"\S+@\S+|\b(?:https?://|www\.)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class _Match:
    start_token: int
    end_token: int
    query: str
    score: tuple


def locate_in_text(index: LocationIndex, text: str) -> Optional[Resolution]:
    """Return the location named in `text`, or None (see `find_location_in_text`)."""
    if not text or not text.strip():
        return None
    # The domain of an e-mail address or a link is no place: « jean@orange.fr »
    # names no Orange, « www.free.fr » no Free.
    if len(text) > MAX_TEXT_CHARS:
        # A word cut in two may name a commune: « arrete » cut to « arre », Arre (30).
        text = text[:MAX_TEXT_CHARS].rsplit(None, 1)[0]
    text = _ADDRESS_OR_LINK.sub(" ", text)

    coordinates = _COORDINATES_IN_TEXT.search(text)
    if coordinates is not None:
        resolution = resolve_location(index, f"{coordinates.group(1)}, {coordinates.group(2)}")
        if resolution.status != "not_found":
            return resolution

    tokens = _tokenize(text)
    postal_code = next((token.normalized for token in tokens if _is_postal_code(index, token)), None)
    departement_code = _find_departement_mention(index, text)

    matches = [
        match for match in _name_matches(index, tokens) if not _is_unqualified_foreign_name(index, tokens, match)
    ]
    name_match = max(matches, key=lambda match: match.score) if matches else None
    if name_match is not None and name_match.query in index.departement_names:
        # "Mérignac en Gironde": a commune named next to its département.
        in_departement = _commune_in_named_departement(index, tokens, name_match)
        if in_departement is not None:
            return in_departement
        qualifier = (
            _adjacent_qualifier(index, tokens, name_match.end_token) or postal_code or departement_code
            or _departement_named_elsewhere(index, matches, name_match)
        )
        commune = _commune_named_as_departement(index, tokens, name_match, qualifier)
        return commune or resolve_location(index, name_match.query)
    if name_match is not None:
        # A département named elsewhere ("à Évry, dans l'Essonne") can settle an ambiguous name.
        departement_code = departement_code or _departement_named_elsewhere(index, matches, name_match)
        qualifier = _adjacent_qualifier(index, tokens, name_match.end_token) or postal_code or departement_code
        if qualifier is not None:
            resolution = resolve_location(index, f"{name_match.query} {qualifier}")
            if resolution.status != "not_found":
                return resolution
        resolution = resolve_location(index, name_match.query)
        if resolution.status != "not_found":
            return resolution

    if postal_code is not None:
        return resolve_location(index, postal_code)
    if departement_code is not None:
        return resolve_location(index, departement_code)
    return _typo_match(index, tokens)


def _departement_named_elsewhere(index: LocationIndex, matches: list[_Match], name_match: _Match) -> Optional[str]:
    """Return the code of a département whose name is matched outside `name_match`, if any."""
    return next(
        (
            index.departement_names[match.query]
            for match in matches
            if match.query in index.departement_names
            and (match.end_token <= name_match.start_token or match.start_token >= name_match.end_token)
        ),
        None,
    )


def _commune_in_named_departement(
    index: LocationIndex, tokens: list[_Token], departement_match: _Match
) -> Optional[Resolution]:
    """Return the commune named beside a département name, when it lies in that département."""
    code = index.departement_names[departement_match.query]
    blocked = blocked_words()
    # The département vouches for the name, so everyday words count too
    # ("valence dans la drome"); blocked words still never do.
    for size in range(MAX_NAME_WORDS, 0, -1):
        for start in range(len(tokens) - size + 1):
            end = start + size
            if not (end <= departement_match.start_token or start >= departement_match.end_token):
                continue
            words = [token.normalized for token in tokens[start:end]]
            phrase = " ".join(words)
            if phrase in index.departement_names or not _is_known_name(index, phrase):
                continue
            if all(word in blocked for word in words):
                continue
            resolution = resolve_location(index, f"{phrase} {code}")
            if resolution.found and resolution.commune is not None:
                if resolution.commune.departement_code == code:
                    return resolution
    return None


def _commune_named_as_departement(
    index: LocationIndex, tokens: list[_Token], match: _Match, qualifier: Optional[str]
) -> Optional[Resolution]:
    """Return the commune that shares its name with a département, when the text points to it.

    « Vienne (38) », « Vienne en Isère » and « à Vienne » name the commune of
    the Isère; « dans la Vienne » and « Vienne » alone name the département.
    """
    if match.query not in index.names:
        return None
    departement = index.departement_names[match.query]
    if qualifier is not None and qualifier != departement:
        resolution = resolve_location(index, f"{match.query} {qualifier}")
        if resolution.found and resolution.commune is not None:
            return resolution
    previous = tokens[match.start_token - 1].normalized if match.start_token > 0 else ""
    codes = {entry.insee_code for entry in index.names[match.query]}
    # « à la Réunion » names the island, as « à la Martinique » does: the
    # overseas départements take « à », not the commune La Réunion (47).
    overseas = departement.startswith("97")
    if previous == "a" and len(codes) == 1 and not overseas:
        commune = index.communes[codes.pop()]
        resolution = resolve_location(index, f"{match.query} {commune.departement_code}")
        if resolution.found and resolution.commune is not None:
            return resolution
    return None


def _is_unqualified_foreign_name(index: LocationIndex, tokens: list[_Token], match: _Match) -> bool:
    """Return whether a match is a foreign city name with no département or postal code after it.

    A few small French communes bear the names "Montréal" or "Porto", but a
    young person who names them alone means the foreign city.
    """
    return match.query in FOREIGN_CITY_NAMES and _adjacent_qualifier(index, tokens, match.end_token) is None


def _typo_match(index: LocationIndex, tokens: list[_Token]) -> Optional[Resolution]:
    """Find a commune name typed with a typo, in the few places where a name is expected.

    Tried in order: the whole text when it is short ("villeurbane"), a word
    after a place preposition ("jsuis a marseile"), then a long word anywhere
    against large cities only ("mission locale montpelier"). Ordinary French
    words are never corrected, and a correction must name one commune of at
    least _TYPO_MIN_POPULATION inhabitants (LARGE_CITY_POPULATION for a word
    anywhere in the text).
    """
    if 0 < len(tokens) <= _SHORT_TEXT_TOKENS and not any(token.normalized.isdigit() for token in tokens):
        resolution = _fuzzy_commune(index, " ".join(token.normalized for token in tokens), _TYPO_MIN_POPULATION)
        if resolution is not None:
            return resolution
    for position, token in enumerate(tokens):
        if _is_typo_candidate(token, _TYPO_MIN_CHARS) and _after_place_preposition(tokens, position):
            resolution = _fuzzy_commune(index, token.normalized, _TYPO_MIN_POPULATION)
            if resolution is not None:
                return resolution
    for token in tokens:
        if _is_typo_candidate(token, _TYPO_MIN_CHARS_ANYWHERE):
            resolution = _fuzzy_commune(index, token.normalized, LARGE_CITY_POPULATION)
            if resolution is not None:
                return resolution
    return None


def _is_typo_candidate(token: _Token, min_chars: int) -> bool:
    word = token.normalized
    return (
        len(word) >= min_chars
        and word.isalpha()
        and word not in common_words()
        and not is_french_word(token.text.lower())
    )


def _fuzzy_commune(index: LocationIndex, query: str, min_population: int) -> Optional[Resolution]:
    """Return the correction of `query` when exactly one commune of `min_population` inhabitants or more fits."""
    resolution = resolve_location(index, query)
    if resolution.kind != "fuzzy":
        return None
    if resolution.found:
        large = [resolution.commune] if resolution.commune is not None else []
    else:
        # "montpelier" is as close to Montélier (4,323 inhabitants) as to
        # Montpellier: the only large candidate is the one meant.
        large = [
            candidate for candidate in resolution.candidates if (candidate.population or 0) >= min_population
        ]
    if len(large) != 1 or (large[0].population or 0) < min_population:
        return None
    commune = large[0]
    return replace(
        resolution,
        status="found",
        commune=commune,
        candidates=[candidate for candidate in resolution.candidates if candidate != commune],
        departement_code=commune.departement_code,
        departement_name=commune.departement_name,
        latitude=commune.latitude,
        longitude=commune.longitude,
    )


def _after_place_preposition(tokens: list[_Token], position: int) -> bool:
    """Return whether the token follows "à", "vers", "sur", "près de", "pas loin de"..."""
    previous = tokens[position - 1].normalized if position > 0 else ""
    before_previous = tokens[position - 2].normalized if position > 1 else ""
    if previous == "a" and tokens[position - 1].text == "a" and before_previous in _SUBJECTS_OF_A:
        return False
    if previous in PLACE_PREPOSITIONS:
        return True
    return previous in ("de", "d") and before_previous in _NEAR_WORDS


def _after_departement_preposition(tokens: list[_Token], position: int) -> bool:
    """Return whether the token follows "en", "dans" or a preposition and an article ("dans le")."""
    previous = tokens[position - 1].normalized if position > 0 else ""
    before_previous = tokens[position - 2].normalized if position > 1 else ""
    return previous in ("en", "dans") or (previous in _ARTICLES and before_previous in PREPOSITIONS)


def _tokenize(text: str) -> list[_Token]:
    # Capitals carry no signal in a text written all in upper case.
    all_caps = not any(char.islower() for char in text)
    tokens = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        tokens.append(
            _Token(
                text=word,
                normalized=normalize_name(word),
                start=match.start(),
                end=match.end(),
                capitalized=not all_caps and word[0].isupper(),
            )
        )
    return tokens


def _is_postal_code(index: LocationIndex, token: _Token) -> bool:
    return bool(_POSTAL_CODE.match(token.normalized)) and (
        token.normalized in index.postal_codes or token.normalized in CITY_WIDE_POSTAL_CODES
    )


def _find_departement_mention(index: LocationIndex, text: str) -> Optional[str]:
    for match in _DEPARTEMENT_MENTION.finditer(text):
        code = match.group(1).upper()
        if code in index.departements:
            return code

    for match in _SPOKEN_DEPARTEMENT_MENTION.finditer(text):
        code = match.group(1) + match.group(2)
        if code in index.departements:
            return code
    return None


def _adjacent_qualifier(index: LocationIndex, tokens: list[_Token], end_token: int) -> Optional[str]:
    """Return a département or postal code written right after a name ("Evry (91)")."""
    if end_token >= len(tokens):
        return None
    token = tokens[end_token]
    if _is_postal_code(index, token):
        return token.normalized
    if _DEPARTEMENT_TOKEN.match(token.normalized) and token.normalized.upper() in index.departements:
        return token.normalized.upper()
    return None


def _is_known_name(index: LocationIndex, phrase: str) -> bool:
    return phrase in index.names or phrase in index.departement_names or phrase in index.localities


def _name_matches(index: LocationIndex, tokens: list[_Token]) -> list[_Match]:
    """Return the accepted name matches, the longest one at each start position."""
    blocked = blocked_words()
    common = common_words()
    text_words = {token.normalized for token in tokens}
    matches: list[_Match] = []
    for start in range(len(tokens)):
        previous = tokens[start - 1].normalized if start > 0 else ""
        after_preposition = previous in PREPOSITIONS
        after_place_preposition = _after_place_preposition(tokens, start)
        for size in range(min(MAX_NAME_WORDS, len(tokens) - start), 0, -1):
            window = tokens[start : start + size]
            words = [token.normalized for token in window]
            phrase = " ".join(words)
            if not phrase or not _is_known_name(index, phrase):
                continue
            if _is_not_a_place(index, phrase, previous, text_words):
                continue
            # Capitals count from the second word of the text on, because the
            # first word of a message is capitalised whatever it is.
            capitalized = any(token.capitalized for position, token in enumerate(window, start) if position > 0)
            signs = _PlaceSigns(
                capitalized=capitalized,
                after_preposition=after_preposition,
                after_place_preposition=after_place_preposition,
                whole_text=size == len(tokens),
                departement_context=(
                    phrase in index.departement_names and _after_departement_preposition(tokens, start)
                ),
            )
            everyday = _is_everyday_name(index, window, phrase)
            if not _accept(words, signs, everyday, blocked, common):
                continue
            end = start + size
            query = phrase
            if words[0] in _ARTICLES and " ".join(words[1:]) in index.departement_names:
                # "dans la Creuse" names the département, not the village La Creuse (70).
                query = " ".join(words[1:])
            elif phrase in index.names:
                end, query = _extend_arrondissement(index, tokens, end, phrase)
            score = (end - start, capitalized or after_preposition, -start)
            matches.append(_Match(start, end, query, score))
            # Longest match first: shorter windows at this position are not tried.
            break
        contracted = _contracted_match(index, tokens, start)
        if contracted is not None:
            matches.append(contracted)
    return matches


def _contracted_match(index: LocationIndex, tokens: list[_Token], start: int) -> Optional[_Match]:
    """Match "au Mans" as Le Mans and "aux Mureaux" as Les Mureaux, longest name first.

    The contraction token counts as a word of the name, because it carries the
    article ("au" is "à le"). The words after it need a capital letter when they
    are all common words ("au parc", "du quartier"), and are never taken when they
    are all blocked words ("au port").
    """
    article = CONTRACTED_ARTICLES.get(tokens[start].normalized)
    if article is None:
        return None
    blocked = blocked_words()
    everyday = contraction_words()
    for size in range(min(MAX_NAME_WORDS - 1, len(tokens) - start - 1), 0, -1):
        window = tokens[start + 1 : start + 1 + size]
        words = [token.normalized for token in window]
        phrase = f"{article} {' '.join(words)}"
        if not _is_known_name(index, phrase):
            continue
        if all(word in blocked for word in words):
            continue
        # The window starts after the contraction, so its capitals are never the
        # capital of the first word of the message.
        capitalized = any(token.capitalized for token in window)
        if not capitalized and all(word in everyday or len(word) < 3 for word in words):
            continue
        end = start + 1 + size
        return _Match(start, end, phrase, (end - start, True, -start))
    return None


@dataclass(frozen=True)
class _PlaceSigns:
    """Context signs that a candidate name is meant as a place."""

    capitalized: bool
    after_preposition: bool
    after_place_preposition: bool
    whole_text: bool
    # A département name after "en", "dans" or "dans le" ("en gironde", "dans le var").
    departement_context: bool = False


def _is_not_a_place(index: LocationIndex, phrase: str, previous: str, text_words: set[str]) -> bool:
    """Return whether the context shows that a known name is not meant as a commune.

    "en Suisse" and "en Bretagne" name a country or a région, because French
    puts "à" before a commune. "je m'appelle Nicole" gives a first name, and
    "mon forfait Orange" a brand.
    """
    if previous == "en" and phrase not in index.departement_names:
        return True
    if previous in NAME_INTRODUCING_WORDS:
        return True
    if previous in BRAND_PREVIOUS_WORDS.get(phrase, ()):
        return True
    return bool(text_words & BRAND_TEXT_WORDS.get(phrase, frozenset()))


def _is_everyday_name(index: LocationIndex, window: list[_Token], phrase: str) -> bool:
    """Return whether every word of a name is an ordinary French word and the name is no large city.

    "courant", "frais" or "la force" name small communes but are read as words;
    Bourges or Limoges, also words of the lexicon, are read as towns, and a
    département name ("la Creuse") is never an everyday phrase.
    """
    words = phrase.split()
    names_departement = phrase in index.departement_names or " ".join(words[1:]) in index.departement_names
    if len(words) > 1 and names_departement:
        return False
    if len(window) > 2 or (len(window) == 2 and words[0] not in _EVERYDAY_FIRST_WORDS):
        return False
    if not all(is_french_word(token.text.lower()) or len(token.normalized) < 3 for token in window):
        entries = index.names.get(phrase, []) + index.localities.get(phrase, [])
        # The official spelling may carry the accents the user left out
        # ("espere", "la creche" for La Crèche).
        if not any(_is_lexicon_phrase(entry.alias) for entry in entries):
            return False
    official = [entry for entry in index.names.get(phrase, []) if entry.kind != "locality"]
    # Two-word phrases ("petit bourg", "le tampon") keep their name only for a large city (Le Havre).
    max_population = EVERYDAY_NAME_MAX_POPULATION if len(window) == 1 else LARGE_CITY_POPULATION
    return all((index.communes[entry.insee_code].population or 0) < max_population for entry in official)


def _is_lexicon_phrase(name: str) -> bool:
    """Return whether every word of a spelt name is a French word or shorter than 3 letters."""
    words = [word for word in re.split(r"[\s'’-]+", name.lower()) if word]
    return bool(words) and all(is_french_word(word) or len(word) < 3 for word in words)


def _accept(words: list[str], signs: _PlaceSigns, everyday: bool, blocked, common) -> bool:
    if len(words) == 1:
        word = words[0]
        if word in blocked or word.isdigit():
            return False
        if word in common or everyday:
            # "je vais à Tours" but not "des tours", "pas de sens" or "en avion".
            return (
                signs.capitalized or signs.after_place_preposition or signs.whole_text or signs.departement_context
            )
        if signs.capitalized or signs.after_preposition:
            return True
        return len(word) >= 4
    if all(word in blocked for word in words):
        return False
    if all(word in common or len(word) < 3 for word in words):
        # "la ville", "les salles": only with a capital ("Les Salles").
        return signs.capitalized
    if everyday:
        # "la force", "le chemin", and "à l'hôpital" even after "à".
        return signs.capitalized or signs.whole_text
    return True


def _extend_arrondissement(index: LocationIndex, tokens: list[_Token], end: int, phrase: str) -> tuple[int, str]:
    """Extend "lyon" to "lyon 3" when an arrondissement number follows a split city name.

    A bare number counts only at the end of the text or before "e"/"arrondissement",
    so that "Paris 2 fois" stays Paris.
    """
    if end >= len(tokens):
        return end, phrase
    match = _ORDINAL.match(tokens[end].normalized)
    if match is None or (phrase, int(match.group(1))) not in index.arrondissements:
        return end, phrase
    new_end = end + 1
    has_suffix = not tokens[end].normalized.isdigit()
    if new_end < len(tokens) and tokens[new_end].normalized in _ARRONDISSEMENT_WORDS:
        has_suffix = True
        new_end += 1
    if not has_suffix and new_end < len(tokens):
        return end, phrase
    return new_end, f"{phrase} {match.group(1)}"
