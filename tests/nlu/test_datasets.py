"""Checks of the labelled evaluation sets in tests/nlu/data: none of their messages is training data."""

import json
import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAINING_FILE = ROOT / "bot" / "data" / "nlu.yml"
DATA_DIR = Path(__file__).resolve().parent / "data"

MIN_EXAMPLES_PER_INTENT = 18

# "[text](entity)" or "[text]{"entity": ..., "value": ...}" in Rasa's YAML format.
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|(?P<json>\{[^}]+\}))")


def _strip_annotations(example: str) -> str:
    return _ANNOTATION.sub(lambda match: match.group("text"), example)


def _examples(block: dict) -> List[str]:
    return [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]


def _load_nlu(path: Path) -> List[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]


@pytest.fixture(scope="module")
def training_texts() -> Set[str]:
    texts = set()
    for block in _load_nlu(TRAINING_FILE):
        if "intent" in block:
            texts.update(_strip_annotations(example).lower() for example in _examples(block))
    return texts


@pytest.fixture(scope="module")
def synonyms() -> Dict[str, str]:
    """Every synonym spelling of bot/data/nlu.yml, lower-cased, with its canonical value."""
    mapping = {}
    for block in _load_nlu(TRAINING_FILE):
        if "synonym" in block:
            for spelling in _examples(block):
                mapping[spelling.lower()] = str(block["synonym"])
    return mapping


@pytest.fixture(scope="module")
def test_set() -> List[dict]:
    return [block for block in _load_nlu(DATA_DIR / "test_set.yml") if "intent" in block]


def _evaluation_texts(test_set: List[dict]) -> Dict[str, List[str]]:
    distress = yaml.safe_load((DATA_DIR / "distress.yml").read_text(encoding="utf-8"))
    locations = yaml.safe_load((DATA_DIR / "locations.yml").read_text(encoding="utf-8"))
    return {
        "test_set.yml": [_strip_annotations(example) for block in test_set for example in _examples(block)],
        "distress.yml": [item["text"] for item in distress["distress"] + distress["not_distress"]],
        "locations.yml": [item["text"] for item in locations],
    }


@pytest.mark.parametrize("file_name", ["test_set.yml", "distress.yml", "locations.yml"])
def test_evaluation_texts_not_in_training(file_name, test_set, training_texts):
    texts = _evaluation_texts(test_set)[file_name]
    duplicates = [text for text in texts if text.lower() in training_texts]

    assert not duplicates, (
        f"{len(duplicates)} messages of {file_name} are in bot/data/nlu.yml:\n" + "\n".join(duplicates)
    )


@pytest.mark.parametrize("file_name", ["test_set.yml", "distress.yml", "locations.yml"])
def test_evaluation_texts_unique(file_name, test_set):
    counts = Counter(text.lower() for text in _evaluation_texts(test_set)[file_name])
    repeated = [text for text, count in counts.items() if count > 1]

    assert not repeated, f"messages repeated in {file_name}:\n" + "\n".join(repeated)


def test_test_set_covers_every_intent(test_set):
    training_intents = {block["intent"] for block in _load_nlu(TRAINING_FILE) if "intent" in block}
    sizes = {block["intent"]: len(_examples(block)) for block in test_set}
    small = {intent: size for intent, size in sizes.items() if size < MIN_EXAMPLES_PER_INTENT}

    assert set(sizes) == training_intents
    assert not small, f"intents with fewer than {MIN_EXAMPLES_PER_INTENT} examples: {small}"


def test_test_set_entities_use_canonical_values(test_set, synonyms):
    training_entities = set()
    for block in _load_nlu(TRAINING_FILE):
        if "intent" in block:
            for example in _examples(block):
                training_entities.update(
                    match.group("entity") for match in _ANNOTATION.finditer(example) if match.group("entity")
                )
    canonical_values = set(synonyms.values())

    wrong = []
    for block in test_set:
        for example in _examples(block):
            for match in _ANNOTATION.finditer(example):
                if match.group("json"):
                    annotation = json.loads(match.group("json"))
                    entity, value = annotation["entity"], annotation["value"]
                    if value not in canonical_values:
                        wrong.append(f"{example}: {value!r} is no synonym value of bot/data/nlu.yml")
                else:
                    entity, value = match.group("entity"), match.group("text")
                    canonical = synonyms.get(value.lower())
                    if canonical is not None and canonical != value:
                        wrong.append(f"{example}: {value!r} should carry the value {canonical!r}")
                if entity not in training_entities:
                    wrong.append(f"{example}: unknown entity {entity!r}")

    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", [TRAINING_FILE, DATA_DIR / "test_set.yml"])
def test_examples_block_lines(path):
    # Rasa skips a line without "- " with only a warning: a comment written
    # inside the block would be lost, and a forgotten dash loses an example.
    stray = [
        line.strip()
        for block in _load_nlu(path)
        if "examples" in block
        for line in block["examples"].splitlines()
        if line.strip() and not line.strip().startswith("- ")
    ]

    assert not stray, f"lines of {path.name} that Rasa would skip:\n" + "\n".join(stray)
