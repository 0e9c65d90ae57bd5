"""Tests of bot.nlu.commune_featurizer, trained, stored and loaded through Rasa's model storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.commune_featurizer import NAMES_FILE_VARIABLE, CommuneNameFeaturizer, CommuneNamesMissingError

NAMES = ["lyon", "saint denis", "seine saint denis", "vire", "vire normandie"]


@pytest.fixture
def names_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv(NAMES_FILE_VARIABLE, raising=False)
    path = tmp_path / "communes.txt"
    path.write_text("# header\n" + "".join(name + "\n" for name in NAMES), encoding="utf-8")
    return path


@pytest.fixture
def storage(tmp_path) -> LocalModelStorage:
    (tmp_path / "storage").mkdir()
    return LocalModelStorage(tmp_path / "storage")


def make(storage: LocalModelStorage, names_file: Path, loaded: bool = False) -> CommuneNameFeaturizer:
    config = {**CommuneNameFeaturizer.get_default_config(), "names_file": str(names_file)}
    resource = Resource("commune_featurizer")
    context = ExecutionContext(GraphSchema({}), node_name="commune_featurizer")
    if loaded:
        return CommuneNameFeaturizer.load(config, storage, resource, context)
    return CommuneNameFeaturizer.create(config, storage, resource, context)


def tokenized(text: str) -> Message:
    message = Message(data={TEXT: text})
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    tokenizer.process([message])
    return message


def marked_words(featurizer: CommuneNameFeaturizer, text: str) -> list[str]:
    message = tokenized(text)
    featurizer.process([message])
    sequence, sentence = message.get_sparse_features(TEXT)
    tokens = message.get("text_tokens")
    column = sequence.features.toarray()[:, 0]
    assert column.shape == (len(tokens),)
    assert sentence.features.toarray()[0, 0] == (1.0 if column.any() else 0.0)
    return [token.text for token, value in zip(tokens, column) if value]


@pytest.fixture
def trained(storage, names_file) -> CommuneNameFeaturizer:
    featurizer = make(storage, names_file)
    featurizer.train(TrainingData())
    return featurizer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mission locale a Lyon stp", ["Lyon"]),
        ("j'habite à Saint-Denis", ["Saint-Denis"]),
        ("cio st denis", ["st", "denis"]),
        ("en Seine Saint-Denis", ["Seine", "Saint-Denis"]),
        ("je suis à Vire Normandie", ["Vire", "Normandie"]),
        ("LYON ou vire", ["LYON", "vire"]),
    ],
)
def test_words_of_known_names_marked(trained, text, expected):
    assert marked_words(trained, text) == expected


@pytest.mark.parametrize("text", ["je suis lyonnais", "un virement", "saint", "denis m'a dit"])
def test_other_words_not_marked(trained, text):
    assert marked_words(trained, text) == []


def test_names_stored_in_the_model(storage, names_file, trained):
    names_file.unlink()
    loaded = make(storage, names_file, loaded=True)
    assert loaded.names == frozenset(NAMES)
    assert marked_words(loaded, "à saint denis") == ["saint", "denis"]


def test_variable_overrides_the_configured_file(storage, names_file, tmp_path, monkeypatch):
    other = tmp_path / "other.txt"
    other.write_text("marseille\n", encoding="utf-8")
    monkeypatch.setenv(NAMES_FILE_VARIABLE, str(other))
    featurizer = make(storage, names_file)
    featurizer.train(TrainingData())
    assert featurizer.names == frozenset({"marseille"})


def test_missing_file_names_the_command(storage, tmp_path, monkeypatch):
    monkeypatch.delenv(NAMES_FILE_VARIABLE, raising=False)
    featurizer = make(storage, tmp_path / "absent.txt")
    with pytest.raises(CommuneNamesMissingError, match="python -m knowledge nlu-names"):
        featurizer.train(TrainingData())


def test_training_examples_featurized(trained):
    data = TrainingData([tokenized("une E2C vers lyon"), tokenized("bonjour")])
    trained.process_training_data(data)
    first, second = data.training_examples
    assert first.get_sparse_features(TEXT)[0].features.toarray()[:, 0].tolist() == [0, 0, 0, 1]
    assert second.get_sparse_features(TEXT)[1].features.toarray()[0, 0] == 0
