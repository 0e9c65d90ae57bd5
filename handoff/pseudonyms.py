"""Pseudonyms that counsellors see in place of the user's platform id, e.g. « Jeune-7F3K2Q ».

A pseudonym is random, so it reveals nothing about the user and cannot be
linked to the platform id. It is read aloud and copied by counsellors, so
its alphabet leaves out characters that are easy to confuse: 0 and O, 1, I
and L, and U (read as V).
"""

from __future__ import annotations

import re
import secrets

__all__ = ["ALPHABET", "PREFIX", "is_pseudonym", "new_pseudonym"]

PREFIX = "Jeune"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6

_PATTERN = re.compile(rf"{PREFIX}-[{ALPHABET}]{{{LENGTH}}}")


def new_pseudonym() -> str:
    """Return a new random pseudonym such as « Jeune-7F3K2Q ».

    There are 30**6 (about 729 million) of them, so two conversations rarely
    draw the same one. The database still enforces uniqueness, and
    `store.escalate` draws again on a collision.
    """
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{PREFIX}-{code}"


def is_pseudonym(text: str) -> bool:
    """Return whether `text` has the form of a pseudonym made by `new_pseudonym`."""
    return _PATTERN.fullmatch(text) is not None
