"""Search in the Onisep training catalogue ("Idéo-Formations initiales en France").

A query that names a field of training_fields.yml ("mécanique", "méca",
"petite enfance", "aide-soignant") is expanded into the catalogue terms of that
field, which are looked for in the training names. Any other query is matched
word by word against the training name and its domaine/sous-domaine. A diploma
word inside the query ("CAP cuisine") acts as a diploma filter. Results put the
levels a school dropout can reach first: CAP, bac pro, titre professionnel, MC,
BP and other RNCP levels 3-4, then trainings outside the RNCP, then bac+2 and
above. Trainings restricted to an overseas collectivité (Polynésie française,
Nouvelle-Calédonie...) come last unless the query names one.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Optional

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import last_successful_run
from .models import Training
from .normalize import normalize_name
from .training_fields import (
    QUERY_STOP_WORDS,
    TrainingField,
    field_for_query,
    field_for_text,
    find_field_in_text,
    stem_word,
)

__all__ = [
    "DIPLOMAS",
    "TrainingHit",
    "UnknownDiplomaError",
    "field_for_text",
    "known_diplomas",
    "search_trainings",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Diploma:
    """A diploma family a user can name.

    Attributes:
        name: canonical name, as accepted by `search_trainings(diploma=...)`.
        phrases: normalised phrases that name it inside a query.
        acronyms: Onisep "sigle type formation" values of the family.
        type_labels: normalised Onisep "libellé type formation" values of the family.
        inline: whether the phrases are recognised inside the field text ("but"
            is also an ordinary French word, so BUT is only taken from `diploma`).
    """

    name: str
    phrases: tuple[str, ...]
    acronyms: frozenset = frozenset()
    type_labels: frozenset = frozenset()
    inline: bool = True

    def matches(self, row: "_CatalogueRow") -> bool:
        return row.type_acronym in self.acronyms or row.type_label_normalized in self.type_labels


DIPLOMAS = (
    Diploma("CAP agricole", ("cap agricole", "capa"), frozenset({"CAP agricole"})),
    Diploma("CAP", ("cap", "certificat d aptitude professionnelle"), frozenset({"CAP", "CAP agricole"})),
    Diploma(
        "bac pro",
        ("bac pro", "bac professionnel", "baccalaureat professionnel"),
        type_labels=frozenset({"baccalaureat professionnel"}),
    ),
    Diploma(
        "bac techno",
        ("bac techno", "bac technologique", "baccalaureat technologique"),
        type_labels=frozenset({"baccalaureat technologique"}),
    ),
    Diploma("TP", ("tp", "titre pro", "titre professionnel"), frozenset({"TP"})),
    Diploma("MC", ("mc", "mention complementaire"), frozenset({"MC"})),
    Diploma("BP JEPS", ("bp jeps", "bpjeps"), frozenset({"BP JEPS"})),
    Diploma("BPA", ("bpa", "brevet professionnel agricole"), frozenset({"BPA"})),
    Diploma("BP", ("bp", "brevet professionnel"), frozenset({"BP"})),
    Diploma("BMA", ("bma", "brevet des metiers d art"), frozenset({"BMA"})),
    Diploma("FCIL", ("fcil",), frozenset({"FCIL"})),
    Diploma("CS", ("certificat de specialisation",), frozenset({"CS"})),
    Diploma("BTS", ("bts", "btsa"), frozenset({"BTS", "BTSA"})),
    Diploma("BUT", ("but",), frozenset({"BUT"}), inline=False),
    Diploma(
        "licence pro",
        ("licence pro", "licence professionnelle"),
        type_labels=frozenset({"licence professionnelle"}),
    ),
)

# Acronyms of the diplomas this audience aims at, whatever level Onisep gives.
_AUDIENCE_ACRONYMS = frozenset({"CAP", "CAP agricole", "TP", "MC", "BP", "BPA", "BMA", "CTM", "BTM", "BP JEPS", "CS"})
# Normalised type labels of State diplomas that count as vocational diplomas at
# RNCP level 3 or 4 (aide-soignant, ambulancier, accompagnant éducatif et social...).
_AUDIENCE_STATE_DIPLOMAS = frozenset({"diplome d etat en sante", "diplome d etat du travail social"})
# Normalised type labels of higher education trainings that have no RNCP level.
_HIGHER_EDUCATION_MARKERS = (
    "master", "mastere", "ingenieur", "licence", "universit", "classe preparatoire", "doctorat",
    "ecole de commerce", "agregation", "magistere", "architecture", "institut d etudes politiques",
    "chirurgie", "fonctionnaires", "concours",
)
# Endings that turn a trade into its field or its worker, after a plural "s" or "x"
# has been removed.
_FAMILY_SUFFIXES = frozenset(
    "e que ien ienne cien cienne ure eur euse ance ant ante ation ateur atrice erie er ier iere ie "
    "isme iste ique ite te en enne ial iale iau al ale au if ive age".split()
) | {""}
# Query words that carry no field meaning.
_QUERY_STOP_WORDS = QUERY_STOP_WORDS

# Trainings whose name contains one of these are restricted to an overseas
# collectivité ("CAP Développement option 1 ... (Polynésie française,
# Nouvelle-Calédonie)"), where the catalogue's other diplomas are not taught.
_OVERSEAS_MARKERS = (
    ("polynesie", "francaise"), ("polynesien",), ("nouvelle", "caledonie"), ("wallis", "et", "futuna"),
    ("saint", "pierre", "et", "miquelon"), ("saint", "barthelemy"), ("saint", "martin"),
)
# A query containing one of these words requests the trainings of an overseas collectivité.
_OVERSEAS_QUERY_WORDS = frozenset(
    "polynesie polynesien polynesienne caledonie caledonien caledonienne tahiti noumea wallis futuna "
    "miquelon barthelemy".split()
)

# Weights of a query word found in the training name and in its domains.
_NAME_WEIGHT = 2.0
_DOMAIN_WEIGHT = 1.0
_FAMILY_FACTOR = 0.8
_TYPO_FACTOR = 0.7
_TYPO_CUTOFF = 85.0  # rapidfuzz.fuzz.ratio, 0-100
# Results scoring below this share of the best score are dropped, so that a weak
# domain-only match at CAP level does not push aside an exact one.
_MIN_SHARE_OF_BEST = 0.5


class UnknownDiplomaError(ValueError):
    """The diploma given to `search_trainings` is not a known family."""


@dataclass(frozen=True)
class TrainingHit:
    """A training of the catalogue that matches a search.

    Attributes:
        name: training name ("CAP Cuisine").
        type_label: kind of diploma ("Certificat d'aptitude professionnelle").
        type_acronym: Onisep acronym of the kind (CAP, TP...), None for many kinds.
        duration: as written by Onisep ("2 ans").
        level: RNCP level (3 = CAP, 4 = bac, 5 = bac+2...), None outside the RNCP.
        rncp_level_label: Onisep label ("niveau 3 (niveau CAP)").
        rncp_code: RNCP file number, None outside the RNCP.
        onisep_url: page of the training on onisep.fr, with https.
        domains: Onisep domaine/sous-domaine list, "|"-separated.
        score: relevance of the match, higher is better, comparable only within
            one search. A field search gives 1.0 for its first term and less for
            later ones; a word search adds up to 2 per query word.
    """

    name: str
    type_label: Optional[str]
    type_acronym: Optional[str]
    duration: Optional[str]
    level: Optional[int]
    rncp_level_label: Optional[str]
    rncp_code: Optional[str]
    onisep_url: Optional[str]
    domains: Optional[str]
    score: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _CatalogueRow:
    name: str
    type_label: Optional[str]
    type_label_normalized: str
    type_acronym: Optional[str]
    duration: Optional[str]
    level: Optional[int]
    rncp_level_label: Optional[str]
    rncp_code: Optional[str]
    onisep_url: Optional[str]
    domains: Optional[str]
    audience_rank: int
    overseas: bool


_stem = stem_word


def _same_family(first: str, second: str) -> bool:
    """Tell whether two words differ only by a French derivation suffix.

    "mecanique"/"mecanicien", "coiffure"/"coiffeur" and "enfance"/"enfant" are one
    family; "informatique"/"information" are not, because "on" is not in the list.
    """
    prefix = 0
    for left, right in zip(first, second):
        if left != right:
            break
        prefix += 1
    if prefix < 5:
        return False
    return first[prefix:] in _FAMILY_SUFFIXES and second[prefix:] in _FAMILY_SUFFIXES


def _audience_rank(type_acronym: Optional[str], type_label: str, level: Optional[int]) -> int:
    """Rank a training for young people without a diploma (lower comes first).

    Rank 0 is CAP, bac pro, TP, MC, BP, the other vocational diplomas below
    bac+2 and the State diplomas of health and social work at level 3 or 4
    (aide-soignant, ambulancier). Rank 1 is the other trainings at RNCP level 3
    or 4, and rank 2 the trainings outside the RNCP (FCIL, school programmes).
    Rank 3 is bac+2 and above, including higher education without a level (a TP
    at level 5 too).
    """
    if level is not None and level >= 5:
        return 3
    if type_acronym in _AUDIENCE_ACRONYMS or type_label == "baccalaureat professionnel":
        return 0
    if type_label in _AUDIENCE_STATE_DIPLOMAS and level in (3, 4):
        return 0
    if level in (3, 4):
        return 1
    if any(marker in type_label for marker in _HIGHER_EDUCATION_MARKERS):
        return 3
    return 2


class _Catalogue:
    """Catalogue rows with an inverted index from stemmed words to row numbers."""

    def __init__(
        self,
        rows: list[_CatalogueRow],
        name_words: list[set[str]],
        domain_words: list[set[str]],
        name_sequences: list[tuple[str, ...]],
    ):
        self.rows = rows
        # Stemmed words of each name in order, to find a field term as whole words.
        self.name_sequences = name_sequences
        self.field_matches: dict[str, dict[int, frozenset[int]]] = {}
        self.name_index: dict[str, set[int]] = defaultdict(set)
        self.domain_index: dict[str, set[int]] = defaultdict(set)
        for position, words in enumerate(name_words):
            for word in words:
                self.name_index[word].add(position)
        for position, words in enumerate(domain_words):
            for word in words:
                self.domain_index[word].add(position)
        self.vocabulary = sorted(set(self.name_index) | set(self.domain_index))

    @classmethod
    def load(cls, session: Session) -> "_Catalogue":
        rows: list[_CatalogueRow] = []
        name_words: list[set[str]] = []
        domain_words: list[set[str]] = []
        name_sequences: list[tuple[str, ...]] = []
        for training in session.execute(select(Training).order_by(Training.id)).scalars():
            type_label = normalize_name(training.type_label or "")
            sequence = tuple(_stem(word) for word in normalize_name(training.name).split())
            rows.append(
                _CatalogueRow(
                    name=training.name,
                    type_label=training.type_label,
                    type_label_normalized=type_label,
                    type_acronym=training.type_acronym,
                    duration=training.duration,
                    level=training.level,
                    rncp_level_label=training.rncp_level_label,
                    rncp_code=training.rncp_code,
                    onisep_url=training.onisep_url,
                    domains=training.domains,
                    audience_rank=_audience_rank(training.type_acronym, type_label, training.level),
                    overseas=any(_contains(sequence, marker) for marker in _OVERSEAS_MARKERS),
                )
            )
            name_sequences.append(sequence)
            name_words.append(set(sequence))
            domain_words.append({_stem(word) for word in normalize_name(training.domains or "").split()})
        return cls(rows, name_words, domain_words, name_sequences)

    def matches_of_field(self, training_field: TrainingField) -> dict[int, frozenset[int]]:
        """Return, for each row whose name contains a term of the field, the indexes of those terms.

        A row whose name contains an excluded phrase is left out. The result is
        computed once per field and catalogue.
        """
        cached = self.field_matches.get(training_field.name)
        if cached is not None:
            return cached
        found: dict[int, set[int]] = defaultdict(set)
        for term_index, term in enumerate(training_field.terms):
            for position in self.rows_containing(term):
                found[position].add(term_index)
        excluded = {
            position for phrase in training_field.excluded for position in self.rows_containing(phrase)
        }
        matches = {position: frozenset(terms) for position, terms in found.items() if position not in excluded}
        self.field_matches[training_field.name] = matches
        return matches

    def rows_containing(self, phrase: tuple[str, ...]) -> list[int]:
        """Return the rows whose name contains the stemmed words of `phrase` as consecutive words."""
        if not phrase:
            return []
        candidates = set.intersection(*(self.name_index.get(word, set()) for word in phrase))
        return [position for position in candidates if _contains(self.name_sequences[position], phrase)]

    def word_scores(self, query_word: str) -> dict[int, float]:
        """Return the best weight of one query word for each row that contains it."""
        related: list[tuple[str, float]] = []
        for word in self.vocabulary:
            if word == query_word:
                related.append((word, 1.0))
            elif _same_family(word, query_word):
                related.append((word, _FAMILY_FACTOR))
        # Typo tolerance only for words unknown to the catalogue, so that
        # "coiffeur" does not also bring "coffreur".
        if not related and len(query_word) >= 5:
            for word, _score, _position in process.extract(
                query_word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF, limit=10
            ):
                related.append((word, _TYPO_FACTOR))
        scores: dict[int, float] = {}
        for word, factor in related:
            for position in self.name_index.get(word, ()):
                scores[position] = max(scores.get(position, 0.0), _NAME_WEIGHT * factor)
            for position in self.domain_index.get(word, ()):
                scores[position] = max(scores.get(position, 0.0), _DOMAIN_WEIGHT * factor)
        return scores


def _contains(sequence: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Tell whether `phrase` occurs in `sequence` as consecutive words."""
    size = len(phrase)
    return any(sequence[start : start + size] == phrase for start in range(len(sequence) - size + 1))


_catalogues: dict[tuple[str, Optional[int]], _Catalogue] = {}
_catalogues_lock = threading.Lock()


def _catalogue_for(session: Session) -> _Catalogue:
    url = session.get_bind().url.render_as_string(hide_password=True)
    run = last_successful_run(session)
    key = (url, run.id if run is not None else None)
    with _catalogues_lock:
        catalogue = _catalogues.get(key)
        if catalogue is None:
            catalogue = _Catalogue.load(session)
            # One catalogue per database: drop the entries of older imports.
            for old_key in [old for old in _catalogues if old[0] == url]:
                del _catalogues[old_key]
            _catalogues[key] = catalogue
        return catalogue


def known_diplomas() -> list[str]:
    """Return the diploma names accepted by `search_trainings(diploma=...)`."""
    return [diploma.name for diploma in DIPLOMAS]


def _find_diploma(name: str) -> Diploma:
    normalized = normalize_name(name)
    for diploma in DIPLOMAS:
        if normalized == normalize_name(diploma.name) or normalized in diploma.phrases:
            return diploma
    raise UnknownDiplomaError(
        f"Unknown diploma {name!r}. Known diplomas: {', '.join(known_diplomas())}."
    )


def _extract_inline_diploma(words: list[str]) -> tuple[Optional[Diploma], list[str]]:
    """Remove the first diploma phrase found in the words ("cap cuisine" -> CAP, ["cuisine"])."""
    phrases = sorted(
        ((phrase.split(), diploma) for diploma in DIPLOMAS if diploma.inline for phrase in diploma.phrases),
        key=lambda pair: -len(pair[0]),
    )
    for phrase_words, diploma in phrases:
        size = len(phrase_words)
        for start in range(len(words) - size + 1):
            if words[start : start + size] == phrase_words:
                return diploma, words[:start] + words[start + size :]
    return None, words


def search_trainings(
    session: Session, field: str, diploma: Optional[str] = None, limit: int = 5
) -> list[TrainingHit]:
    """Search the Onisep catalogue for a field, the levels of this audience first.

    Args:
        session: a session on the knowledge database (the catalogue is cached per
            database and import run).
        field: what the user wants to learn ("cuisine", "mécanique", "petite
            enfance", "CAP cuisine", "méca"). A diploma named inside it filters the
            results when `diploma` is None.
        diploma: diploma family (see `known_diplomas()`: CAP, bac pro, TP, MC, BP...).
        limit: maximum number of results.

    Returns:
        Up to `limit` trainings.

        When the query (without its diploma) is a word of a field of
        training_fields.yml, the results are the trainings whose name contains
        one of the field's terms. They are ranked by audience level
        (CAP/bac pro/TP/MC/BP and RNCP levels 3-4 first), then by the first
        matching term in the file's order, then by level. A query that is itself
        a term of the field, other than the field's name, ranks that term first
        ("aide-soignant" before the other health and social trainings). When
        fewer than `limit` trainings match, the word search below completes them.

        Otherwise every word of the query must be found in the name or the
        domains (exactly, as a word of the same family, or with a typo). Ranking:
        CAP/bac pro/TP/MC/BP and RNCP levels 3-4 first, then trainings outside the
        RNCP, then bac+2 and above; within a group, the best match first. When
        that finds nothing and the query names a field inside a sentence
        (`field_for_text`), the field search runs.

        In both cases, trainings restricted to an overseas collectivité come last
        unless the query names one.

    Raises:
        UnknownDiplomaError: `diploma` is not a known diploma family.
        ValueError: `limit` is lower than 1.
    """
    if limit < 1:
        raise ValueError(f"Invalid limit {limit}: expected at least 1.")
    wanted = _find_diploma(diploma) if diploma else None
    words = normalize_name(field or "").split()
    inline, words = _extract_inline_diploma(words)
    wanted = wanted or inline
    overseas_requested = any(word in _OVERSEAS_QUERY_WORDS for word in words)
    remaining = " ".join(words)
    words = [_stem(word) for word in words if word not in _QUERY_STOP_WORDS]
    if not words and wanted is None:
        return []

    catalogue = _catalogue_for(session)
    training_field = field_for_query(remaining) if words else None
    if training_field is not None:
        return _field_search(catalogue, training_field, words, wanted, overseas_requested, limit)
    hits = _word_search(catalogue, words, wanted, overseas_requested, limit)
    if hits or not words:
        return hits
    training_field = find_field_in_text(remaining)
    if training_field is None:
        return []
    return _field_search(catalogue, training_field, [], wanted, overseas_requested, limit)


def _hit(row: _CatalogueRow, score: float) -> TrainingHit:
    return TrainingHit(
        name=row.name,
        type_label=row.type_label,
        type_acronym=row.type_acronym,
        duration=row.duration,
        level=row.level,
        rncp_level_label=row.rncp_level_label,
        rncp_code=row.rncp_code,
        onisep_url=row.onisep_url,
        domains=row.domains,
        score=round(score, 2),
    )


def _word_scores(
    catalogue: _Catalogue, words: list[str], wanted: Optional[Diploma], overseas_requested: bool
) -> list[tuple[int, float]]:
    """Return the rows that contain every query word, ranked, with their scores."""
    candidates = [
        position for position, row in enumerate(catalogue.rows) if wanted is None or wanted.matches(row)
    ]
    scores = {position: 0.0 for position in candidates}
    for word in words:
        word_scores = catalogue.word_scores(word)
        scores = {
            position: score + word_scores[position]
            for position, score in scores.items()
            if position in word_scores
        }
    if not scores:
        return []

    best = max(scores.values())
    kept = [position for position, score in scores.items() if score >= _MIN_SHARE_OF_BEST * best]
    kept.sort(
        key=lambda position: (
            catalogue.rows[position].overseas and not overseas_requested,
            catalogue.rows[position].audience_rank,
            -scores[position],
            catalogue.rows[position].level or 99,
            # Shorter names are more specific: "CAP Cuisine" before a long option title.
            len(catalogue.rows[position].name),
            catalogue.rows[position].name.lower(),
        )
    )
    return [(position, scores[position]) for position in kept]


def _word_search(
    catalogue: _Catalogue, words: list[str], wanted: Optional[Diploma], overseas_requested: bool, limit: int
) -> list[TrainingHit]:
    ranked = _word_scores(catalogue, words, wanted, overseas_requested)
    hits = [_hit(catalogue.rows[position], score) for position, score in ranked[:limit]]
    logger.debug("Training word search returned %d of %d matches", len(hits), len(ranked))
    return hits


def _promoted_terms(training_field: TrainingField, words: list[str]) -> set[int]:
    """Return the indexes of the field terms that the query itself names.

    The field's own name promotes nothing: its terms are already in the
    reviewed order. A one-word query also promotes the terms of its word family
    ("pâtisserie" promotes "pâtissier").
    """
    query_key = tuple(words)
    if not query_key or query_key == training_field.name_key:
        return set()
    promoted = set()
    for index, term_key in enumerate(training_field.term_keys):
        if term_key == query_key:
            promoted.add(index)
        elif len(term_key) == 1 and len(query_key) == 1 and _same_family(term_key[0], query_key[0]):
            promoted.add(index)
    return promoted


def _field_search(
    catalogue: _Catalogue,
    training_field: TrainingField,
    words: list[str],
    wanted: Optional[Diploma],
    overseas_requested: bool,
    limit: int,
) -> list[TrainingHit]:
    matches = catalogue.matches_of_field(training_field)
    promoted = _promoted_terms(training_field, words)
    term_count = len(training_field.terms)

    def term_rank(position: int) -> int:
        terms = matches[position]
        if terms & promoted:
            return 0
        return 1 + min(terms)

    ranked = sorted(
        (position for position in matches if wanted is None or wanted.matches(catalogue.rows[position])),
        key=lambda position: (
            catalogue.rows[position].overseas and not overseas_requested,
            catalogue.rows[position].audience_rank,
            term_rank(position),
            catalogue.rows[position].level or 99,
            len(catalogue.rows[position].name),
            catalogue.rows[position].name.lower(),
        ),
    )
    # The score is 1.0 for a promoted or first term and falls to 2 / (terms + 1) for the last one.
    hits = [
        _hit(catalogue.rows[position], 1.0 - max(term_rank(position) - 1, 0) / (term_count + 1))
        for position in ranked[:limit]
    ]
    if len(hits) < limit and words:
        excluded = {
            position
            for phrase in training_field.excluded
            for position in catalogue.rows_containing(phrase)
        }
        for position, score in _word_scores(catalogue, words, wanted, overseas_requested):
            if len(hits) >= limit:
                break
            if position in matches or position in excluded:
                continue
            # Word-search scores go up to 2 per word. Scaled to at most 1 / (terms + 1),
            # they stay below the lowest field score, 2 / (terms + 1).
            share = min(score / (2.0 * len(words)), 1.0)
            hits.append(_hit(catalogue.rows[position], share / (term_count + 1)))
    logger.debug("Training field search (%s) returned %d of %d matches", training_field.name, len(hits), len(ranked))
    return hits
