"""Tests of bot.nlu.adult_writer, on chosen messages and on every labelled adult message."""

from pathlib import Path
from typing import List, Tuple

import pytest
import yaml

from bot.nlu.adult_writer import introduces_adult, is_introduction_only, names_adult_writer
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
        "wesh mon fils tu peux m'aider",
        # Young parents.
        "jai 22 ans ma fille a 3 ans je suis en galere d argent",
        "je suis papa de 20 ans, mon fils a 1 an, je cherche une formation ou du taf",
        "comment je fais garder ma fille de 2 ans pendant la formation",
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


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, je suis la mère de Léa",
        "je suis le père d'un élève de 3e",
        "Bonjour, je suis maman d'un lycéen et j'ai une question.",
        "Je suis CPE dans un lycée de Lille",
        "je suis prof de maths",
        "En tant que parent, que puis-je faire ?",
        "mon fils a quitté le lycée",
        "ma fille de 16 ans ne va plus en cours",
        "un de mes élèves a décroché",
        "je suis conseillère principale d'éducation",
        # SMS spellings, « sa », titles at the start, and other jobs.
        "jsuis la mère de Léa",
        "chuis cpe",
        "je suis sa grand-mère",
        "Bonjour, maman de Léa, 16 ans",
        "père d'un lycéen décrocheur",
        "mon enfant a décroché",
        "je suis conseiller emploi à France Travail",
        "je suis travailleur social",
        "ma fille de 17 ans a un bébé et veut reprendre le lycée",
        "ma fille est enceinte et a arrêté le lycée",
        "Je suis formatrice en CFA, une apprentie veut tout arrêter",
    ],
)
def test_adult_introduction_found(text):
    assert introduces_adult(text)


@pytest.mark.parametrize(
    "text",
    [
        # Young people speaking of their family, their teachers or their child.
        "ma mère veut que je reprenne les cours",
        "mes parents m'ont viré",
        "mon prof principal m'a dit de venir ici",
        "je suis la soeur de Karim, il a 17 ans",
        "je suis une maman de 19 ans, je peux reprendre le lycée ?",
        "ma fille de 2 ans va à la crèche, je veux reprendre une formation",
        # « je suis » followed by a passive or an adverb, not a job.
        "je suis conseillée par la mission locale",
        "je suis profondément triste",
        "je suis directement allé au CIO",
        "je suis en formation",
        # Young parents.
        "je suis maman d'un petit garçon de 2 ans, je veux reprendre mes études",
        "je suis parent et j'ai 19 ans",
        "mon fils va à la crèche, je peux faire une formation ?",
        "ma fille, 18 mois, ne va pas à la crèche",
        "je suis enceinte de ma fille, je peux continuer mon CAP ?",
        # Young workers and trainees.
        "je suis surveillante de cantine",
        "je suis aed dans un lycée",
        "je suis prof de danse, j'ai 20 ans et j'ai pas le bac",
        "je suis éducateur en formation",
        # A friend addressed, and the relative of a brother or sister.
        "wesh mon fils",
        "mdr ma fille t'as vu",
        "je suis la marraine de ma cousine",
    ],
)
def test_young_writer_not_introduced_as_adult(text):
    assert not introduces_adult(text)


@pytest.mark.parametrize(
    "text",
    [
        "je suis la mère de Léa",
        "Bonjour, je suis cpe",
        "bjr jsuis sa grand-mère",
        "Maman de Léa, 16 ans",
        "moi c'est le père de Yanis",
    ],
)
def test_introduction_alone(text):
    assert is_introduction_only(text)


@pytest.mark.parametrize(
    "text",
    [
        # A question or a request goes to the intent the model predicted.
        "je suis la mère de Léa, elle peut aller à l'EPIDE ?",
        "je suis cpe et une élève ne vient plus en cours depuis la rentrée",
        "ma fille a arrêté le lycée",
        "bonjour",
    ],
)
def test_introduction_with_more_is_not_alone(text):
    assert not is_introduction_only(text)


@pytest.mark.parametrize("path", [ROOT / "bot" / "data" / "nlu.yml", ROOT / "tests" / "nlu" / "data" / "test_set.yml"])
def test_introductions_are_adult_words(path):
    # An introduction is a stricter sign than the adult words: each one found
    # in the labelled adult messages must also be found by names_adult_writer.
    introduced = [text for _, text in _adult_examples(path) if introduces_adult(text)]
    assert introduced
    assert all(names_adult_writer(text) for text in introduced)
