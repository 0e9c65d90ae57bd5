"""Tests of bot.actions.sent_messages with the project's domain files."""

import logging

from bot.actions.sent_messages import sent_texts
from tests.bot.conftest import make_tracker


def test_plain_text_kept():
    tracker = make_tracker("bonjour", "greet")
    assert sent_texts([{"text": "3114 : numéro national"}], tracker) == ["3114 : numéro national"]


def test_response_filled_with_variables():
    tracker = make_tracker("je pense a me suicider", "distress")
    message = {"response": "utter_distress_suicide", "line": "3114", "samu": "15", "europe": "112"}
    [text] = sent_texts([message], tracker)
    assert "appelle le 3114" in text
    assert "le 15 ou le 112" in text


def test_adult_variant_chosen():
    tracker = make_tracker("ma fille", "parent_question", slots={"role": "adult"})
    [text] = sent_texts([{"response": "utter_ask_location"}], tracker)
    assert "souhaitez-vous" in text


def test_youth_variant_by_default():
    tracker = make_tracker("mission locale", "find_place")
    [text] = sent_texts([{"response": "utter_ask_location"}], tracker)
    assert "veux-tu" in text


def test_unknown_response_skipped(caplog):
    tracker = make_tracker("bonjour", "greet")
    with caplog.at_level(logging.WARNING):
        assert sent_texts([{"response": "utter_does_not_exist"}, {"text": "ok"}], tracker) == ["ok"]
    assert "utter_does_not_exist" in caplog.text
