"""Precision and recall of knowledge.text_location on the labelled set tests/nlu/data/locations.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
import yaml

from knowledge.normalize import normalize_name
from knowledge.resolve import Resolution
from knowledge.text_location import locate_in_text

DATA_FILE = Path(__file__).resolve().parents[1] / "nlu" / "data" / "locations.yml"

MIN_PRECISION = 0.97
MIN_RECALL = 0.95


@pytest.fixture(scope="module")
def labelled() -> list[dict]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def _expected(item: dict) -> Optional[tuple]:
    if item.get("insee"):
        return ("commune", item["insee"])
    if item.get("departement"):
        return ("departement", item["departement"])
    if item.get("ambiguous"):
        return ("ambiguous", normalize_name(item["name"]))
    return None


def _outcome(resolution: Optional[Resolution]) -> Optional[tuple]:
    """What the bot does with a resolution: the commune, the département, or a question between homonyms."""
    if resolution is None or resolution.status == "not_found":
        return None
    if resolution.status == "found":
        if resolution.kind == "departement":
            return ("departement", resolution.departement_code)
        return ("commune", resolution.commune.insee_code)
    if resolution.dominant is not None:
        return ("commune", resolution.dominant.insee_code)
    names = {
        normalize_name(name)
        for candidate in resolution.candidates
        for name in (candidate.name, candidate.matched_name)
        if name
    }
    return ("ambiguous", frozenset(names))


def _is_correct(expected: Optional[tuple], outcome: tuple) -> bool:
    if expected is None or expected[0] != outcome[0]:
        return False
    if outcome[0] == "ambiguous":
        return expected[1] in outcome[1]
    return expected[1] == outcome[1]


def test_labelled_set_sizes(labelled):
    traps = [item for item in labelled if item.get("trap")]

    assert len(labelled) >= 220
    assert len(traps) >= 70


def test_locate_in_text_precision_and_recall(index, labelled):
    correct = 0
    predicted = 0
    misses = []
    false_matches = []
    for item in labelled:
        expected = _expected(item)
        outcome = _outcome(locate_in_text(index, item["text"]))
        if outcome is not None:
            predicted += 1
            if _is_correct(expected, outcome):
                correct += 1
            else:
                false_matches.append(f"{item['text']!r}: expected {expected}, found {outcome}")
        elif expected is not None:
            misses.append(f"{item['text']!r}: expected {expected}")

    positives = sum(1 for item in labelled if _expected(item) is not None)
    precision = correct / predicted
    recall = correct / positives
    report = (
        f"precision {precision:.3f} (minimum {MIN_PRECISION}), recall {recall:.3f} (minimum {MIN_RECALL})\n"
        "false matches:\n" + "\n".join(false_matches) + "\nmisses:\n" + "\n".join(misses)
    )
    assert precision >= MIN_PRECISION, report
    assert recall >= MIN_RECALL, report
