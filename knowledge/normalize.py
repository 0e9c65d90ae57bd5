"""Name normalisation shared by the importer, the location index and the searches.

Every place name, alias and query goes through `normalize_name` so that
"L’Haÿ-les-Roses", "l'hay les roses" and "L HAY LES ROSES" compare equal.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["compact_key", "normalize_name", "tokenize"]

# Typographic apostrophes and look-alikes that users and sources type instead of "'".
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'", "´": "'", "ʻ": "'"})

# Ligatures that Unicode decomposition (NFKD) does not split.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})

# "s/" is the La Poste and road-sign abbreviation of "sur" ("Bar s/ Seine").
_SUR_ABBREVIATION = re.compile(r"(?<![a-z0-9])s\s*/\s*")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

# Abbreviations expanded token by token, after punctuation became spaces.
_TOKEN_EXPANSIONS = {
    "st": "saint",
    "ste": "sainte",
    "sts": "saints",
    "stes": "saintes",
}


def normalize_name(text: str) -> str:
    """Normalise a place name or a query for comparisons.

    The result is lower case ASCII: accents are removed, typographic apostrophes,
    hyphens, dots and every other punctuation mark become spaces, "st"/"ste" become
    "saint"/"sainte", "s/" becomes "sur", and runs of whitespace collapse to one space.

    Args:
        text: any user or source text; None-like empty strings are allowed.

    Returns:
        The normalised text, possibly empty.
    """
    if not text:
        return ""
    lowered = text.translate(_APOSTROPHES).lower().translate(_LIGATURES)
    decomposed = unicodedata.normalize("NFKD", lowered)
    ascii_text = "".join(char for char in decomposed if not unicodedata.combining(char))
    ascii_text = _SUR_ABBREVIATION.sub(" sur ", ascii_text)
    spaced = _NON_ALNUM.sub(" ", ascii_text)
    tokens = [_TOKEN_EXPANSIONS.get(token, token) for token in spaced.split()]
    return " ".join(tokens)


def tokenize(text: str) -> list[str]:
    """Split text into normalised tokens (see `normalize_name`)."""
    return normalize_name(text).split()


def compact_key(normalized: str) -> str:
    """Remove the spaces of an already normalised name.

    The compact form lets "lhay les roses" find "l hay les roses", because users
    often drop the apostrophe of an elided article.
    """
    return normalized.replace(" ", "")
