"""Tests of bot.actions.language on French, foreign and borderline messages."""

import re

import pytest
import yaml

from bot.actions.language import FRENCH_ONLY_TRANSLATIONS, foreign_language

ANNOTATION = re.compile(r"\[([^\]]*)\](\{[^}]*\}|\([^)]*\))")

FRENCH_DATA_FILES = (
    "bot/data/nlu.yml",
    "tests/nlu/data/test_set.yml",
    "tests/nlu/data/distress.yml",
)


def _french_examples():
    for path in FRENCH_DATA_FILES:
        with open(path, encoding="utf-8") as data_file:
            data = yaml.safe_load(data_file)
        for block in data.get("nlu", []):
            for line in (block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield ANNOTATION.sub(r"\1", line[2:])


@pytest.mark.parametrize(
    "text, language",
    [
        ("hello can you help me find a school", "en"),
        ("I dropped out of school last year", "en"),
        ("I want to kill myself", "en"),
        ("my friend wants to die", "en"),
        ("hola necesito ayuda para estudiar", "es"),
        ("quiero hablar con alguien", "es"),
        ("Eu quero voltar a estudar", "pt"),
        ("sono uscito dalla scuola", "it"),
        ("ich will wieder zur Schule gehen", "de"),
        ("أريد أن أتعلم", "ar"),
        ("okula geri dönmek istiyorum", "tr"),
        ("vreau să mă întorc la școală", "ro"),
        # Too short for the detector, but a wish to die.
        ("i wanna die", "en"),
        ("quiero morir", "es"),
        ("quero morrer", "pt"),
        ("bghit nmout", "ar"),
    ],
)
def test_foreign_message_named(text, language):
    assert foreign_language(text) == language


@pytest.mark.parametrize(
    "text",
    [
        "jsui pa alé en cour depui 2 mois",
        "y a un truc pr reprendre vers 93 ?",
        "jprefere ecrire que telephoner c possible ?",
        "ya kelkun",
        "ya kelkun la ?",
        "tkt jgere bro",
        "I live in Marseille",
        "hi",
        "",
    ],
)
def test_french_or_short_message_left_alone(text):
    assert foreign_language(text) is None


def test_no_french_training_message_is_foreign():
    flagged = [text for text in _french_examples() if foreign_language(text) is not None]
    assert flagged == []


def test_every_reply_gives_emergency_number():
    for language, reply in FRENCH_ONLY_TRANSLATIONS.items():
        assert "112" in reply, language
