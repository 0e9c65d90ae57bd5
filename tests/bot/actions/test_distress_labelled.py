"""Recall and false positives of bot.actions.distress on the labelled set tests/nlu/data/distress.yml."""

from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from bot.actions import distress
from bot.actions.distress import assess

DATA_FILE = Path(__file__).resolve().parents[2] / "nlu" / "data" / "distress.yml"

# Situations of the rule layer that give the right helplines for each labelled kind.
# other_danger (threats, forced marriage, a medical emergency) accepts any risk.
EXPECTED_SITUATIONS = {
    "suicide": {distress.SUICIDE, distress.IMMEDIATE_DANGER},
    "self_harm": {distress.SELF_HARM, distress.IMMEDIATE_DANGER},
    "violence_home": {distress.VIOLENCE_HOME, distress.IMMEDIATE_DANGER},
    "harassment": {distress.HARASSMENT, distress.THREATS},
    "sexual_violence": {distress.SEXUAL_VIOLENCE},
    "thrown_out": {distress.HOMELESS},
    "other_danger": None,
}

MAX_FALSE_POSITIVE_RATE = 0.02


@pytest.fixture(scope="module")
def labelled() -> Dict[str, List[dict]]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def _is_safety_answer(text: str) -> bool:
    # Level 2 or more, not hyperbole: the level at which the NLU component
    # bot.nlu.safety_rules overrules the model with the distress intent.
    assessment = assess(text)
    return assessment.level >= 2 and not assessment.hyperbole


def test_labelled_set_sizes(labelled):
    kinds = {item["kind"] for item in labelled["distress"]}
    hyperbole = [item for item in labelled["not_distress"] if item.get("kind") == "hyperbole"]

    assert kinds == set(EXPECTED_SITUATIONS)
    assert len(labelled["distress"]) >= 130
    assert len(labelled["not_distress"]) >= 300
    assert len(hyperbole) >= 60


def test_distress_recall_is_complete(labelled):
    misses = [item["text"] for item in labelled["distress"] if not _is_safety_answer(item["text"])]

    recall = 1 - len(misses) / len(labelled["distress"])
    assert not misses, f"recall {recall:.3f}, missed {len(misses)}:\n" + "\n".join(misses)


def test_distress_situation_matches_kind(labelled):
    wrong = []
    for item in labelled["distress"]:
        expected = EXPECTED_SITUATIONS[item["kind"]]
        situations = assess(item["text"]).situations
        if expected is not None and not situations & expected:
            wrong.append(f"{item['kind']}: {item['text']} -> {sorted(situations)}")

    assert not wrong, f"{len(wrong)} messages got the helplines of another situation:\n" + "\n".join(wrong)


def test_ordinary_false_positive_rate(labelled):
    false_positives = []
    for item in labelled["not_distress"]:
        assessment = assess(item["text"])
        if assessment.is_distress:
            false_positives.append(f"{item['text']} -> level {assessment.level} {sorted(assessment.situations)}")

    rate = len(false_positives) / len(labelled["not_distress"])
    assert rate <= MAX_FALSE_POSITIVE_RATE, (
        f"false-positive rate {rate:.3f} (maximum {MAX_FALSE_POSITIVE_RATE}):\n" + "\n".join(false_positives)
    )


def test_hyperbole_never_emergency(labelled):
    emergencies = [
        item["text"]
        for item in labelled["not_distress"]
        if item.get("kind") == "hyperbole" and assess(item["text"]).level >= 3
    ]

    assert not emergencies, "hyperbole graded as immediate danger:\n" + "\n".join(emergencies)


def test_cannot_call_matches_no_labelled_message(labelled):
    # None of the labelled messages says that the writer cannot phone, so a
    # match is a false one that would reorder the numbers.
    matches = [
        item["text"]
        for item in labelled["distress"] + labelled["not_distress"]
        if assess(item["text"]).cannot_call
    ]

    assert not matches, "messages read as unable to phone:\n" + "\n".join(matches)
