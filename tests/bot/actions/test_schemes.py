"""Tests of bot.actions.schemes: the schemes a message names and those its questions are about."""

import pytest

from bot.actions.schemes import schemes_asked_about, schemes_in_text


def test_schemes_in_text_order():
    assert schemes_in_text("c quoi la différence entre l'E2C et l'EPIDE") == ["e2c", "epide"]


def test_schemes_in_text_glued_article_and_old_name():
    assert schemes_in_text("lepide cest quoi") == ["epide"]
    assert schemes_in_text("c koi le2c") == ["e2c"]
    assert schemes_in_text("c koi la garantie jeune") == ["cej"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("c koi une e2c et ya une mission locale a lille ? et on est payé ?", ["e2c"]),
        ("c'est quoi l'EPIDE et y en a un à Lyon", ["epide"]),
        ("qu'est-ce qu'une E2C ? il y en a une vers Lille ?", ["e2c"]),
        ("c koi lepide et le cej", ["epide"]),
        ("ça veut dire quoi MLDS", ["mlds"]),
        ("je cherche une mission locale à Lyon", []),
        ("c est quoi les horaires de la mission locale", []),
        ("la mission locale c quoi", []),
    ],
    ids=["sms", "elided", "question-mark", "first-only", "acronym", "no-question", "other-subject",
         "question-after"],
)
def test_schemes_asked_about(text, expected):
    assert schemes_asked_about(text) == expected
