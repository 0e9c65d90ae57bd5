"""Tests of bot.nlu.intent_ensemble, trained, stored and loaded through Rasa's model storage."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_ensemble import RANKING_LENGTH, IntentEnsemble

EXAMPLES = {
    "greet": ["bonjour", "salut", "coucou", "bonsoir", "slt", "hello"],
    "find_place": [
        "où est la mission locale", "je cherche un cio", "une mission locale près de chez moi",
        "c ou le cio le plus proche", "adresse de la mission locale", "trouver un cio",
    ],
    "thank": ["merci", "merci beaucoup", "mrc", "c'est gentil merci", "merci bien", "thx"],
}


@pytest.fixture
def storage(tmp_path) -> LocalModelStorage:
    (tmp_path / "storage").mkdir()
    return LocalModelStorage(tmp_path / "storage")


def make(storage: LocalModelStorage, loaded: bool = False, **config: Any) -> IntentEnsemble:
    config = {**IntentEnsemble.get_default_config(), **config}
    resource = Resource("intent_ensemble")
    context = ExecutionContext(GraphSchema({}), node_name="intent_ensemble")
    if loaded:
        return IntentEnsemble.load(config, storage, resource, context)
    return IntentEnsemble.create(config, storage, resource, context)


def training_data(examples: Dict[str, List[str]]) -> TrainingData:
    messages = [Message(data={TEXT: text, INTENT: intent}) for intent, texts in examples.items() for text in texts]
    return TrainingData(training_examples=messages)


def message_with_diet(text: str, ranking: Optional[Dict[str, float]] = None) -> Message:
    """A message as DIET leaves it: its intent and ranking."""
    message = Message(data={TEXT: text})
    if ranking:
        entries = [{"name": name, "confidence": confidence} for name, confidence in ranking.items()]
        entries.sort(key=lambda entry: -entry["confidence"])
        message.set(INTENT, entries[0])
        message.set(INTENT_RANKING_KEY, entries)
    return message


@pytest.fixture
def trained(storage) -> IntentEnsemble:
    ensemble = make(storage)
    ensemble.train(training_data(EXAMPLES))
    return ensemble


def test_linear_model_alone_when_diet_silent(trained):
    message = message_with_diet("salut")
    trained.process([message])
    assert message.get(INTENT)["name"] == "greet"


def test_confidences_are_weighted_average(trained):
    message = message_with_diet("merci beaucoup", {"thank": 0.9, "greet": 0.1})
    linear = dict(zip(trained._model.classes_, trained._model.predict_proba(["merci beaucoup"])[0]))
    trained.process([message])
    ranking = {entry["name"]: entry["confidence"] for entry in message.get(INTENT_RANKING_KEY)}
    assert ranking["thank"] == pytest.approx(0.35 * 0.9 + 0.65 * linear["thank"])
    assert ranking["greet"] == pytest.approx(0.35 * 0.1 + 0.65 * linear["greet"])
    assert ranking["find_place"] == pytest.approx(0.65 * linear["find_place"])
    assert message.get(INTENT) == message.get(INTENT_RANKING_KEY)[0]


def test_sure_diet_outweighs_unsure_linear(storage):
    ensemble = make(storage, diet_weight=0.9)
    ensemble.train(training_data(EXAMPLES))
    message = message_with_diet("bonjour", {"find_place": 1.0})
    ensemble.process([message])
    assert message.get(INTENT)["name"] == "find_place"


def test_ranking_sorted_and_bounded(storage):
    many = {f"intent_{index}": [f"mot{index} phrase", f"autre mot{index}"] for index in range(RANKING_LENGTH + 5)}
    ensemble = make(storage)
    ensemble.train(training_data(many))
    message = message_with_diet("mot3 phrase", {"intent_3": 0.8, "intent_4": 0.2})
    ensemble.process([message])
    confidences = [entry["confidence"] for entry in message.get(INTENT_RANKING_KEY)]
    assert len(confidences) == RANKING_LENGTH
    assert confidences == sorted(confidences, reverse=True)
    assert message.get(INTENT)["name"] == "intent_3"


def test_stored_model_loads(storage, trained):
    loaded = make(storage, loaded=True)
    first, second = message_with_diet("je cherche un cio"), message_with_diet("je cherche un cio")
    trained.process([first])
    loaded.process([second])
    assert second.get(INTENT_RANKING_KEY) == first.get(INTENT_RANKING_KEY)


def test_without_stored_model_diet_kept(storage):
    ensemble = make(storage, loaded=True)
    message = message_with_diet("bonjour", {"find_place": 0.7, "greet": 0.3})
    ensemble.process([message])
    assert message.get(INTENT) == {"name": "find_place", "confidence": 0.7}


def test_one_intent_keeps_diet(storage):
    ensemble = make(storage)
    ensemble.train(training_data({"greet": ["bonjour", "salut"]}))
    message = message_with_diet("bonjour", {"greet": 0.6})
    ensemble.process([message])
    assert message.get(INTENT) == {"name": "greet", "confidence": 0.6}


def test_message_without_text_untouched(trained):
    message = Message(data={INTENT: {"name": "greet", "confidence": 1.0}})
    trained.process([message])
    assert message.get(INTENT) == {"name": "greet", "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY) is None


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_invalid_weight_rejected(storage, weight):
    with pytest.raises(ValueError, match="diet_weight"):
        make(storage, diet_weight=weight)
