"""Tests that every response in « tu » has a « vous » variant for parents and professionals.

The role slot is "adult" once a parent or a professional wrote, and Rasa then
picks the variant whose condition matches it. A response without such a
variant addresses the adult in « tu ».
"""

import re
from typing import Any, Dict, List, Optional, Set

import pytest

from tests.bot.conftest import load_domain

ADULT_CONDITION = [{"type": "slot", "name": "role", "value": "adult"}]

# Pronouns and possessives of the second person singular.
TU_PRONOUNS = re.compile(r"(?<![\w-])(tu|te|toi|ton|ta|tes|t')(?![\w-])|(?<![\w])t'", re.IGNORECASE)

# An imperative in « tu » with a pronoun after it: « dis-moi », « adresse-toi »,
# « parles-en ». The « vous » forms (« dites-moi », « choisissez-en ») are not,
# and the pronoun is in lower case so that « Psy-EN » is not either.
TU_IMPERATIVE_WITH_PRONOUN = re.compile(
    r"(?<![\w-])(?!dites-|faites-)[\w']+(?<!ez)-(?-i:moi|toi|lui|la|le|les|en|y)(?![\w-])", re.IGNORECASE
)

# An imperative in « tu » at the start of a clause: « choisis une option »,
# « : vérifie l'adresse », « N'hésite pas ». Most of these words are also
# nouns or third-person verbs (« l'adresse », « le jeune passe »), which do
# not start a clause. « et » is left out because « … et donne les mêmes
# droits » is a third-person verb after it.
TU_IMPERATIVE = re.compile(
    r"(?:^|[.!?:;,]\s*|\bou\s+)(?:n')?"
    r"(choisis|écris|dis|fais|vérifie|essaie|réessaie|reviens|viens|appelle|contacte|précise"
    r"|hésite|attends|regarde|passe|demande|adresse|garde|donne|laisse|va|envoie|prends|cherche)\b",
    re.IGNORECASE,
)

VOUS_WORDS = re.compile(r"\b(vous|votre|vos)\b", re.IGNORECASE)
# An imperative in « vous »: « contactez », « dites-moi ». « chez » and
# « assez » end the same way but are not verbs.
VOUS_IMPERATIVE = re.compile(r"\b(?!chez\b|assez\b)\w+ez\b|\b(dites|faites)-", re.IGNORECASE)

PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")

# The safety responses differ in their numbers on purpose: the young variant
# names the 12-25 listening line and the adult one the lines for adults.
SAFETY_PREFIXES = ("utter_distress_", "utter_handoff_distress_")

DOMAIN = load_domain()


def addresses_with_tu(text: str) -> bool:
    """Return whether a text speaks to the reader in « tu »."""
    return bool(
        TU_PRONOUNS.search(text) or TU_IMPERATIVE_WITH_PRONOUN.search(text) or TU_IMPERATIVE.search(text)
    )


def addresses_with_vous(text: str) -> bool:
    """Return whether a text speaks to the reader in « vous »."""
    return bool(VOUS_WORDS.search(text) or VOUS_IMPERATIVE.search(text))


def young_variants(variants: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [variant for variant in variants if not variant.get("condition")]


def adult_variants(variants: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [variant for variant in variants if variant.get("condition") == ADULT_CONDITION]


def payloads(variant: Dict[str, Any]) -> List[str]:
    return [button["payload"] for button in variant.get("buttons") or []]


def placeholders(variant: Dict[str, Any]) -> Set[str]:
    return set(PLACEHOLDER.findall(variant.get("text") or ""))


def variant_for_channel(variants: List[Dict[str, Any]], channel: Optional[str]) -> Optional[Dict[str, Any]]:
    return next((variant for variant in variants if variant.get("channel") == channel), None)


TU_RESPONSES = sorted(
    name
    for name, variants in DOMAIN["responses"].items()
    if any(addresses_with_tu(variant.get("text") or "") for variant in young_variants(variants))
)


@pytest.mark.parametrize(
    "text",
    [
        "Tu peux revenir quand tu veux.",
        "Je t'en prie !",
        "D'accord ! Dis-moi ce que tu cherches.",
        "Pas de souci, choisis une de ces options.",
        "Certains CIO ont été regroupés : vérifie l'adresse avant d'y aller.",
        "Parles-en à un CIO.",
        "N'hésite pas à revenir.",
        "Pour trouver ce lieu, adresse-toi à un CIO.",
        "Reviens quand tu veux.",
    ],
)
def test_tu_pattern_finds_tu(text):
    assert addresses_with_tu(text)


@pytest.mark.parametrize(
    "text",
    [
        "Vous pouvez revenir quand vous le souhaitez.",
        "Dites-moi ce que vous cherchez, ou choisissez-en une.",
        "Vérifiez-la et écrivez-la de nouveau.",
        "Un CIO peut donner l'adresse la plus proche.",
        "Le jeune passe par la Mission locale, c'est-à-dire le lieu le plus proche.",
        "Pouvez-vous reformuler ?",
        "Le jeune peut y rencontrer un Psy-EN.",
        "Le DAEU se prépare à l'université et donne les mêmes droits que le bac.",
    ],
)
def test_tu_pattern_ignores_vous(text):
    assert not addresses_with_tu(text)


def test_vous_pattern_ignores_chez():
    assert not addresses_with_vous("Trouver un lieu près de chez moi")
    assert addresses_with_vous("Contactez le 119.")
    assert addresses_with_vous("Dites-le-moi aussi.")


def test_tu_responses_found():
    # Guards the patterns: the domain has dozens of responses in « tu ».
    assert len(TU_RESPONSES) >= 60


# Every response may reach an adult: the writer entity of bot.nlu.safety_rules
# sets the role from the first message (« Bonjour, je suis la mère de Léa »).
@pytest.mark.parametrize("name", TU_RESPONSES)
def test_tu_response_has_adult_variant(name):
    variants = DOMAIN["responses"][name]
    young = young_variants(variants)
    adults = adult_variants(variants)

    assert variants[0].get("condition") == ADULT_CONDITION, "the adult variant must come first"
    assert not variants[-1].get("condition"), "the young variant without condition must come last"
    for variant in variants:
        assert variant.get("condition") in (None, ADULT_CONDITION), variant.get("condition")

    for adult in adults:
        text = adult["text"]
        assert not TU_PRONOUNS.search(text), text
        assert not TU_IMPERATIVE_WITH_PRONOUN.search(text), text
        assert not TU_IMPERATIVE.search(text), text
        assert addresses_with_vous(text), text

    # Rasa 3.6 prefers a young variant of the user's channel to an adult variant
    # of no channel, so every channel needs its own adult variant.
    for variant in young:
        channel = variant.get("channel")
        adult = variant_for_channel(adults, channel)
        assert adult is not None, f"no adult variant for channel {channel}"
        assert payloads(adult) == payloads(variant), f"buttons differ on channel {channel}"
        if not name.startswith(SAFETY_PREFIXES):
            assert placeholders(adult) == placeholders(variant), f"variables differ on channel {channel}"
