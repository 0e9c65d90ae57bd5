"""Find a location mentioned inside a sentence.

The public entry point is `knowledge.resolve.find_location_in_text`. Matching is
precise rather than greedy: a false place in a sentence sends a young person to
the wrong town, while a missed one only makes the bot ask.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Optional

from .index import LocationIndex
from .normalize import normalize_name
from .resolve import CITY_WIDE_POSTAL_CODES, CONTRACTED_ARTICLES, Resolution, resolve_location
from .wordlists import PREPOSITIONS, blocked_words, common_words, contraction_words

__all__ = ["locate_in_text"]

logger = logging.getLogger(__name__)

# Sentences longer than this are cut; a chat message naming a place is far shorter.
MAX_TEXT_CHARS = 1000
MAX_NAME_WORDS = 6

_WORD = re.compile(r"\w+")
_COORDINATES_IN_TEXT = re.compile(r"([-+]?\d{1,2}\.\d+)\s*[,;]?\s+([-+]?\d{1,3}\.\d+)")
_POSTAL_CODE = re.compile(r"^\d{5}$")
_DEPARTEMENT_TOKEN = re.compile(r"^(?:\d{2}|97\d|2[ab])$", re.IGNORECASE)
# "dans le 93", "vers le 13", "du 974", "(93)"
_DEPARTEMENT_MENTION = re.compile(
    r"(?:\b(?:dans|vers|pr[eè]s)\s+(?:le|du)\s+|\bdu\s+|\(\s*)(\d{2}|97\d|2[abAB])\b(?!\s*(?:h\b|ans?\b|au\b|%|€|euros?\b|/))",
    re.IGNORECASE,
)
# Ordinals written after a split city name: "Lyon 3e", "Paris 13", "Marseille 1er".
_ORDINAL = re.compile(r"^(\d{1,2})(?:er|ere|e|eme|ieme|em)?$")
_ARTICLES = frozenset({"le", "la", "les", "l"})
# "Paris 13 e" or "Lyon 3 arrondissement" put the suffix in a token of its own.
_ARRONDISSEMENT_WORDS = frozenset({"er", "ere", "e", "eme", "ieme", "em", "arrondissement", "arr", "arrdt"})


@dataclass(frozen=True)
class _Token:
    text: str
    normalized: str
    start: int
    end: int
    capitalized: bool


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
    text = text[:MAX_TEXT_CHARS]

    coordinates = _COORDINATES_IN_TEXT.search(text)
    if coordinates is not None:
        resolution = resolve_location(index, f"{coordinates.group(1)}, {coordinates.group(2)}")
        if resolution.status != "not_found":
            return resolution

    tokens = _tokenize(text)
    postal_code = next((token.normalized for token in tokens if _is_postal_code(index, token)), None)
    departement_code = _find_departement_mention(index, text)

    matches = _name_matches(index, tokens)
    name_match = max(matches, key=lambda match: match.score) if matches else None
    if name_match is not None and name_match.query in index.departement_names:
        return resolve_location(index, name_match.query)
    if name_match is not None:
        # A département named elsewhere ("à Évry, dans l'Essonne") can settle an ambiguous name.
        departement_code = departement_code or next(
            (
                index.departement_names[match.query]
                for match in matches
                if match.query in index.departement_names
                and (match.end_token <= name_match.start_token or match.start_token >= name_match.end_token)
            ),
            None,
        )
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
    return None


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
    matches: list[_Match] = []
    for start in range(len(tokens)):
        previous = tokens[start - 1].normalized if start > 0 else ""
        after_preposition = previous in PREPOSITIONS
        for size in range(min(MAX_NAME_WORDS, len(tokens) - start), 0, -1):
            window = tokens[start : start + size]
            words = [token.normalized for token in window]
            phrase = " ".join(words)
            if not phrase or not _is_known_name(index, phrase):
                continue
            # Capitals count from the second word of the text on, because the
            # first word of a message is capitalised whatever it is.
            capitalized = any(token.capitalized for position, token in enumerate(window, start) if position > 0)
            if not _accept(words, capitalized, after_preposition, blocked, common):
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


def _accept(words: list[str], capitalized: bool, after_preposition: bool, blocked, common) -> bool:
    if len(words) == 1:
        word = words[0]
        if word in blocked or word.isdigit():
            return False
        if capitalized or after_preposition:
            return True
        return len(word) >= 4 and word not in common
    if all(word in blocked for word in words):
        return False
    if all(word in common or len(word) < 3 for word in words):
        # "la ville", "les salles": only with a capital ("Les Salles").
        return capitalized
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
