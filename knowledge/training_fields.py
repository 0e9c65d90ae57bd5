"""Fields of training that users name ("méca", "travailler avec les enfants"), from training_fields.yml.

A field has a canonical French name, the words users type for it and the
catalogue terms it expands to. `field_for_text` finds a field named anywhere in
a sentence, for when the bot's language model found no field entity.
`knowledge.trainings.search_trainings` expands a query that names a field into
its catalogue terms.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from .normalize import normalize_name

__all__ = [
    "FIELDS_FILE",
    "QUERY_STOP_WORDS",
    "TrainingField",
    "TrainingFieldsError",
    "field_for_query",
    "field_for_text",
    "find_field_in_text",
    "load_training_fields",
    "phrase_key",
    "stem_word",
]

logger = logging.getLogger(__name__)

FIELDS_FILE = Path(__file__).with_name("training_fields.yml")

# Words that carry no field meaning, in a query or around a field in a sentence.
QUERY_STOP_WORDS = frozenset(
    "a au aux d de des du en et l la le les pour un une dans sur formation formations diplome "
    "diplomes metier je veux faire voudrais".split()
)

# A field named inside a sentence is looked for over at most this many words.
_MAX_PHRASE_WORDS = 8


class TrainingFieldsError(ValueError):
    """training_fields.yml is malformed (missing key, empty list, word in two fields)."""


def stem_word(word: str) -> str:
    """Remove a plural "s" or "x" from a normalised word of more than 3 letters."""
    return word[:-1] if len(word) > 3 and word[-1] in "sx" else word


def phrase_key(text: str) -> tuple[str, ...]:
    """Normalise a phrase, drop the stop words and stem the rest.

    "Travailler avec les enfants" and "travailler avec des enfants" both give
    ("travailler", "avec", "enfant").
    """
    return tuple(stem_word(word) for word in normalize_name(text).split() if word not in QUERY_STOP_WORDS)


def _name_words(text: str) -> tuple[str, ...]:
    """Normalise and stem every word, stop words included, as training names are indexed."""
    return tuple(stem_word(word) for word in normalize_name(text).split())


@dataclass(frozen=True)
class TrainingField:
    """A field of training, as read from training_fields.yml.

    Attributes:
        name: canonical French name ("mécanique", "petite enfance").
        words: keys (see `phrase_key`) of what users type, recognised in a
            whole query and inside a sentence.
        alone: keys recognised only as a whole query, with the canonical name.
        sentence_phrases: the `words` as stemmed words, stop words included,
            looked for inside a sentence ("avec", "les", "enfant").
        terms: catalogue search terms, most relevant first, as stemmed name
            words ("maintenance", "des", "vehicule").
        term_keys: the `phrase_key` of each term, to compare with a query.
        excluded: stemmed name words that exclude a training from the field.
    """

    name: str
    words: tuple[tuple[str, ...], ...]
    alone: tuple[tuple[str, ...], ...]
    sentence_phrases: tuple[tuple[str, ...], ...]
    terms: tuple[tuple[str, ...], ...]
    term_keys: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, ...], ...]

    @property
    def name_key(self) -> tuple[str, ...]:
        return phrase_key(self.name)


def _string_list(entry: dict, key: str, required: bool) -> list[str]:
    value = entry.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item.strip() for item in value):
        raise TrainingFieldsError(f"Field {entry.get('name')!r}: {key!r} must be a non-empty list of strings.")
    return value


def _parse_fields(data: object, source: str) -> tuple[TrainingField, ...]:
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list) or not data["fields"]:
        raise TrainingFieldsError(f"{source}: expected a mapping with a non-empty 'fields' list.")
    fields: list[TrainingField] = []
    owners: dict[tuple[str, ...], str] = {}
    for entry in data["fields"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise TrainingFieldsError(f"{source}: every field needs a 'name' string, got {entry!r}.")
        name = entry["name"].strip()
        words = _string_list(entry, "words", required=True)
        alone = _string_list(entry, "alone", required=False)
        terms = _string_list(entry, "terms", required=True)
        excluded = _string_list(entry, "exclude", required=False)
        name_key = phrase_key(name)
        sequences: set[tuple[str, ...]] = set()
        field_keys: set[tuple[str, ...]] = {name_key}
        for text in words + alone:
            sequence = _name_words(text)
            if sequence in sequences:
                raise TrainingFieldsError(
                    f"{source}: field {name!r} lists {text!r} twice (accents, case and plurals do not count)."
                )
            sequences.add(sequence)
            key = phrase_key(text)
            if not key:
                raise TrainingFieldsError(f"{source}: field {name!r}: {text!r} contains only stop words.")
            field_keys.add(key)
        # The canonical name is always recognised as a whole query.
        for key in sorted(field_keys):
            owner = owners.setdefault(key, name)
            if owner != name:
                phrase = " ".join(key)
                raise TrainingFieldsError(f"{source}: {phrase!r} is a word of both {owner!r} and {name!r}.")
        fields.append(
            TrainingField(
                name=name,
                words=tuple(phrase_key(text) for text in words),
                alone=tuple(phrase_key(text) for text in alone) + (name_key,),
                sentence_phrases=tuple(_name_words(text) for text in words),
                terms=tuple(_name_words(text) for text in terms),
                term_keys=tuple(phrase_key(text) for text in terms),
                excluded=tuple(_name_words(text) for text in excluded),
            )
        )
    return tuple(fields)


@functools.lru_cache(maxsize=4)
def load_training_fields(path: Optional[Path] = None) -> tuple[TrainingField, ...]:
    """Read and check training_fields.yml (or another file with the same structure).

    Raises:
        TrainingFieldsError: the file is malformed, or a word belongs to two fields.
    """
    path = Path(path) if path is not None else FIELDS_FILE
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    fields = _parse_fields(data, str(path))
    logger.debug("Loaded %d training fields from %s", len(fields), path)
    return fields


@functools.lru_cache(maxsize=4)
def _query_table(path: Optional[Path]) -> dict[tuple[str, ...], TrainingField]:
    table: dict[tuple[str, ...], TrainingField] = {}
    for training_field in load_training_fields(path):
        for key in training_field.words + training_field.alone:
            table.setdefault(key, training_field)
    return table


@functools.lru_cache(maxsize=4)
def _sentence_table(path: Optional[Path]) -> dict[tuple[str, ...], TrainingField]:
    return {
        phrase: training_field
        for training_field in load_training_fields(path)
        for phrase in training_field.sentence_phrases
    }


def field_for_query(text: str, *, path: Optional[Path] = None) -> Optional[TrainingField]:
    """Return the field whose word or canonical name is the whole query ("méca", "CAP" removed first).

    Args:
        text: the query without its diploma words.
        path: another fields file; None uses training_fields.yml.
    """
    key = phrase_key(text or "")
    if not key:
        return None
    return _query_table(path).get(key)


def field_for_text(text: str, *, path: Optional[Path] = None) -> Optional[str]:
    """Return the canonical name of the training field named in a sentence, or None.

    See `find_field_in_text`, which returns the whole TrainingField.
    """
    training_field = find_field_in_text(text, path=path)
    return training_field.name if training_field is not None else None


def find_field_in_text(text: str, *, path: Optional[Path] = None) -> Optional[TrainingField]:
    """Return the training field named in a sentence, or None.

    "je voudrais travailler avec les enfants" gives "petite enfance" and "jaime la
    meca" gives "mécanique". Only the `words` of training_fields.yml count inside
    a sentence, because the `alone` ones ("sécurité", "transport", "hôtel") are
    common in sentences about something else. A message that is only such a word
    is still recognised. The longest phrase found wins, then the first one.

    Args:
        text: a user message.
        path: another fields file; None uses training_fields.yml.
    """
    whole = field_for_query(text, path=path)
    if whole is not None:
        return whole
    # Stop words stay in the sentence, so that "sur un chantier" is a phrase
    # while "c'est le chantier" is not.
    words = _name_words(text or "")
    table = _sentence_table(path)
    for size in range(min(_MAX_PHRASE_WORDS, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            training_field = table.get(words[start : start + size])
            if training_field is not None:
                return training_field
    return None
