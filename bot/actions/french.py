"""Small French grammar helpers for the replies built by the actions."""

from typing import Text

_VOWELS = "AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒaeiouyàâäéèêëîïôöùûüœ"


def with_de(name: Text) -> Text:
    """Put "de" before a place name, with French elision and contraction.

    "Lyon" gives "de Lyon", "Ajaccio" "d'Ajaccio", "Le Mans" "du Mans" and
    "Les Mureaux" "des Mureaux".

    NOTE: a name that starts with an aspirated h takes "de" and one with a
    mute h takes "d'"; both get "de" here, which is right for the first only.
    """
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    if name and name[0] in _VOWELS:
        return "d'" + name
    return "de " + name
