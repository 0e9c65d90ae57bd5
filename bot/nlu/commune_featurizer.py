"""NLU featurizer that marks the tokens of commune and département names.

DIET tags a `location` well when the name was in its training data, and
misses most of the 35,000 other communes. This component gives each token one
sparse feature, 1 when the token belongs to a known name, so that DIET can
learn "a marked token in a place phrase is a location" rather than the names
themselves.

The names are those of `knowledge.nlu_names`: at training time they are read
from the file that `python -m knowledge nlu-names` writes (`scripts/train.sh`
runs it), then stored in the model, so that the running assistant needs
neither the file nor the knowledge database.

Tokens are compared after `knowledge.normalize.normalize_name`: case, accents,
hyphens and apostrophes do not count, and « st » reads as « saint ». The
longest name starting at each word wins (« saint denis » before « saint »).

NOTE: the feature says only that a name is known. Whether « Tours » is the city
or a word (« deux tours ») is left to DIET and to the resolution step.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Text, Type

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.nlu_names import read_names_file
from knowledge.normalize import normalize_name

logger = logging.getLogger(__name__)

# The variable that scripts/train.sh sets to the file it generated; the
# `names_file` of config.yml is used when it is not set.
NAMES_FILE_VARIABLE = "SECONDE_CHANCE_COMMUNE_NAMES"
STORED_NAMES_FILE = "communes.txt"

# The longest name of the list, « Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson »,
# has 8 words.
MAX_NAME_WORDS = 8


class CommuneNamesMissingError(FileNotFoundError):
    """The names file was not generated before the training."""


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class CommuneNameFeaturizer(SparseFeaturizer, GraphComponent):
    """Adds a token feature that is 1 on the words of a known commune or département name."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**SparseFeaturizer.get_default_config(), "names_file": "var/nlu/communes.txt"}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if not isinstance(config.get("names_file"), str):
            raise ValueError("CommuneNameFeaturizer needs `names_file`, the path of the names list")

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        names: Optional[FrozenSet[str]] = None,
    ) -> None:
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self.names: FrozenSet[str] = names or frozenset()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CommuneNameFeaturizer":
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "CommuneNameFeaturizer":
        with model_storage.read_from(resource) as directory:
            names = read_names_file(directory / STORED_NAMES_FILE)
        return cls(config, model_storage, resource, execution_context, frozenset(names))

    def train(self, training_data: TrainingData) -> Resource:
        """Read the names file and store its names in the model."""
        path = Path(os.environ.get(NAMES_FILE_VARIABLE) or self._config["names_file"])
        if not path.is_file():
            raise CommuneNamesMissingError(
                f"{path} is missing: write it with `python -m knowledge nlu-names --out {path}` "
                "(scripts/train.sh does) before training"
            )
        names = read_names_file(path)
        self.names = frozenset(names)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / STORED_NAMES_FILE).write_text("".join(name + "\n" for name in names), encoding="utf-8")
        logger.info("CommuneNameFeaturizer trained with %d names from %s", len(names), path)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not message.get(TEXT) or not tokens:
                continue
            marked = self.marked_tokens(tokens)
            sequence = np.zeros((len(tokens), 1))
            sequence[sorted(marked), 0] = 1.0
            sentence = np.array([[1.0 if marked else 0.0]])
            self.add_features_to_message(
                scipy.sparse.coo_matrix(sequence), scipy.sparse.coo_matrix(sentence), TEXT, message
            )
        return messages

    def marked_tokens(self, tokens: List[Token]) -> set[int]:
        """Return the indices of the tokens that belong to a known name."""
        # A token may hold several words (« Saint-Étienne ») or none (« , »).
        words: list[tuple[str, int]] = [
            (word, position) for position, token in enumerate(tokens) for word in normalize_name(token.text).split()
        ]
        marked: set[int] = set()
        start = 0
        while start < len(words):
            size = self._longest_name_at(words, start)
            if size:
                marked.update(position for _word, position in words[start : start + size])
                start += size
            else:
                start += 1
        return marked

    def _longest_name_at(self, words: list[tuple[str, int]], start: int) -> int:
        for size in range(min(MAX_NAME_WORDS, len(words) - start), 0, -1):
            if " ".join(word for word, _position in words[start : start + size]) in self.names:
                return size
        return 0
