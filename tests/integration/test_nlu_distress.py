"""Distress detection by the trained model's whole NLU pipeline, on tests/nlu/data/distress.yml.

tests/bot/actions/test_distress_labelled.py measures the rule layer alone.
Here every message goes through the pipeline of config.yml as in production:
spaCy, DIET, the FallbackClassifier, then SafetyRulesClassifier, which forces
the distress intent when the rule layer finds a risk. A message must get the
distress intent to reach the safety response through the rules of
bot/data/rules.yml.

The safety response sends the emergency numbers and queues the conversation
as urgent only when the rule layer also names a situation; for a message
that only DIET calls distress, or for hyperbole, it asks a check-in question
instead. The false-positive tests therefore count emergency answers.

NOTE: DIET alone puts the distress intent on far more ordinary messages than
2% (about one in five before the counter-examples of bot/data/nlu.yml were
added); those get the check-in question.
"""

import asyncio
import logging
from pathlib import Path
from typing import Dict, List

import pytest
import yaml
from rasa.core.agent import Agent
from rasa.utils.log_utils import configure_structlog

from bot.actions.distress import assess

DATA_FILE = Path(__file__).resolve().parents[1] / "nlu" / "data" / "distress.yml"

DISTRESS_INTENT = "distress"
MAX_FALSE_POSITIVE_RATE = 0.02


@pytest.fixture(scope="module")
def labelled() -> Dict[str, List[dict]]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def predicted_intents(trained_model: str, labelled: Dict[str, List[dict]]) -> Dict[str, str]:
    """Parse every labelled message once with the trained model and return the intent of each text."""
    # Unless structlog is configured, Rasa's processor prints every parse
    # result at debug level, message text included.
    configure_structlog(logging.WARNING)
    agent = Agent.load(trained_model)
    texts = [item["text"] for items in labelled.values() for item in items]

    async def parse_all() -> Dict[str, str]:
        intents = {}
        for text in texts:
            parsed = await agent.parse_message(text)
            intents[text] = parsed["intent"]["name"]
        return intents

    return asyncio.run(parse_all())


def gets_emergency_answer(text: str, intent: str) -> bool:
    """Tell whether the safety response sends the numbers and queues the conversation as urgent."""
    if intent != DISTRESS_INTENT:
        return False
    assessment = assess(text)
    return not assessment.hyperbole and (assessment.level > 0 or bool(assessment.situations))


def _flagged(items: List[dict], predicted_intents: Dict[str, str]) -> List[str]:
    """Return the messages among items that would get the emergency answer."""
    return [item["text"] for item in items if gets_emergency_answer(item["text"], predicted_intents[item["text"]])]


def test_distress_recall_is_complete(labelled, predicted_intents):
    misses = [
        f"{item['kind']}: {item['text']} -> {predicted_intents[item['text']]}"
        for item in labelled["distress"]
        if predicted_intents[item["text"]] != DISTRESS_INTENT
    ]

    recall = 1 - len(misses) / len(labelled["distress"])
    assert not misses, f"recall {recall:.3f}, missed {len(misses)}:\n" + "\n".join(misses)


def test_distress_gets_emergency_answer(labelled, predicted_intents):
    misses = [item["text"] for item in labelled["distress"]
              if not gets_emergency_answer(item["text"], predicted_intents[item["text"]])]
    assert not misses, f"{len(misses)} distress messages would get a check-in only:\n" + "\n".join(misses)


def test_ordinary_emergency_answer_rate(labelled, predicted_intents):
    false_positives = _flagged(labelled["not_distress"], predicted_intents)

    rate = len(false_positives) / len(labelled["not_distress"])
    assert rate <= MAX_FALSE_POSITIVE_RATE, (
        f"false-positive rate {rate:.3f} (maximum {MAX_FALSE_POSITIVE_RATE}), "
        f"{len(false_positives)} messages:\n" + "\n".join(false_positives)
    )


def test_hyperbole_emergency_answer_rate(labelled, predicted_intents):
    hyperbole = [item for item in labelled["not_distress"] if item.get("kind") == "hyperbole"]
    false_positives = _flagged(hyperbole, predicted_intents)

    rate = len(false_positives) / len(hyperbole)
    assert rate <= MAX_FALSE_POSITIVE_RATE, (
        f"hyperbole false-positive rate {rate:.3f} (maximum {MAX_FALSE_POSITIVE_RATE}), "
        f"{len(false_positives)} messages:\n" + "\n".join(false_positives)
    )
