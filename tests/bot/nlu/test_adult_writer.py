"""Tests of bot.nlu.adult_writer, on chosen messages and on every labelled adult message."""

from pathlib import Path
from typing import List, Tuple

import pytest
import yaml

from bot.nlu.adult_writer import names_adult_writer
from tests.nlu.test_datasets import _examples, _strip_annotations

ROOT = Path(__file__).resolve().parents[3]
ADULT_INTENTS = ("parent_question", "teacher_question")


def _adult_examples(path: Path) -> List[Tuple[str, str]]:
    blocks = yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]
    return [
        (block["intent"], _strip_annotations(example))
        for block in blocks
        if block.get("intent") in ADULT_INTENTS
        for example in _examples(block)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, ma fille de 16 ans ne va plus au lycée",
        "mon ado sèche les cours",
        "Je suis formatrice en CFA, une apprentie veut tout lâcher",
        "je suis la tante d'un jeune de 17 ans",
        "En tant que CPE, comment réagir ?",
        "un de mes élèves a décroché",
        "Qui fait partie d'un GPDS ?",
        "Avez-vous une brochure pour les familles ?",
    ],
)
def test_adult_words_found(text):
    assert names_adult_writer(text)


@pytest.mark.parametrize(
    "text",
    [
        "Comment trouver une formation en alternance ?",
        "jai 17 ans je fais quoi",
        "je suis en formation",
        "je suis une fille de 16 ans",
        "ma mère veut que je reprenne les cours",
        "mon prof principal m'a dit de venir ici",
        "c quoi l'epide",
    ],
)
def test_young_writer_not_taken_for_adult(text):
    assert not names_adult_writer(text)


@pytest.mark.parametrize("path", [ROOT / "bot" / "data" / "nlu.yml", ROOT / "tests" / "nlu" / "data" / "test_set.yml"])
def test_every_labelled_adult_message_has_adult_words(path):
    # A parent or teacher example without such words would be read as a
    # young person's question by the rule layer, whatever intent the model predicts.
    missing = [f"{intent}: {text}" for intent, text in _adult_examples(path) if not names_adult_writer(text)]
    assert not missing, missing
