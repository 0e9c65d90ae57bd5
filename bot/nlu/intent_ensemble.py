"""NLU component that averages DIET's intent ranking with a linear model's.

DIET learns from few examples per intent and fits its training data almost
exactly. A logistic regression over character and word n-grams of the
message makes different mistakes, so their weighted average becomes the
intent that the rest of the pipeline reads. On one fold of a 5-fold split of
``bot/data/nlu.yml`` (565 held-out messages) the intent macro-F1 was 0.857
for DIET, 0.839 for the linear model alone and 0.879 for the average with
DIET's weight at 0.35.

The component runs right after ``DIETClassifier`` and before the
``FallbackClassifier``. The averaged confidences are lower than DIET's
alone, so the fallback threshold of ``config.yml`` is chosen for the
ensemble (see ``bench/nlu.md``).

The linear model is stored with skops, which loads only the scikit-learn
types it expects, rather than with pickle.

NOTE: DIET's ranking holds its 10 best intents only, so an intent outside
them counts as 0 on DIET's side of the average.
"""

import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

logger = logging.getLogger(__name__)

# Number of intents kept in the ranking, as DIET does by default.
RANKING_LENGTH = 10


def build_linear_model(config: Dict[Text, Any]) -> Pipeline:
    """Return the untrained linear model: n-gram TF-IDF features and a logistic regression.

    Character n-grams inside word boundaries cover SMS spellings and typos
    (« jsuis », « mision locale »), word n-grams cover the cue words.
    Accents are stripped because many users type without them.
    """
    features = FeatureUnion(
        [
            (
                "characters",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(config["min_char_ngram"], config["max_char_ngram"]),
                    sublinear_tf=True,
                    strip_accents="unicode",
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    strip_accents="unicode",
                    token_pattern=r"(?u)\b\w+\b",
                ),
            ),
        ]
    )
    classifier = LogisticRegression(C=config["regularization_inverse"], max_iter=3000)
    return Pipeline([("features", features), ("classifier", classifier)])


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class IntentEnsemble(GraphComponent):
    """Average DIET's intent ranking with a logistic regression's probabilities."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the default configuration, measured on one cross-validation fold."""
        return {
            # Weight of DIET's confidence. The linear model gets the rest.
            "diet_weight": 0.35,
            "min_char_ngram": 2,
            "max_char_ngram": 5,
            # scikit-learn's C: higher means a weaker penalty on the weights.
            "regularization_inverse": 20.0,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[Pipeline] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "IntentEnsemble":
        """Create an untrained component."""
        diet_weight = config["diet_weight"]
        if not 0.0 <= diet_weight <= 1.0:
            raise ValueError(f"IntentEnsemble: diet_weight must be between 0 and 1, not {diet_weight}.")
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the linear model on the intent examples and store it."""
        examples = [example for example in training_data.intent_examples if example.get(TEXT)]
        intents = {example.get(INTENT) for example in examples}
        if len(intents) < 2:
            # NOTE: with fewer than two intents there is nothing to rank, so
            # the component leaves DIET's prediction as it is.
            logger.warning("IntentEnsemble: fewer than two intents in the training data, so DIET alone predicts.")
            return self._resource

        model = build_linear_model(self._config)
        model.fit([example.get(TEXT) for example in examples], [example.get(INTENT) for example in examples])
        self._model = model
        self._persist()
        return self._resource

    def _persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as model_dir:
            sio.dump(self._model, model_dir / "linear_model.skops")

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "IntentEnsemble":
        """Load the stored linear model, or return a component that leaves DIET's prediction as it is."""
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as model_dir:
                path = model_dir / "linear_model.skops"
                # Every type in the file must be one that build_linear_model uses.
                untrusted = sio.get_untrusted_types(file=path)
                unexpected = [name for name in untrusted if not name.startswith(("sklearn.", "numpy.", "scipy."))]
                if unexpected:
                    raise ValueError(f"unexpected types {unexpected}")
                model = sio.load(path, trusted=untrusted)
        except (ValueError, FileNotFoundError) as error:
            logger.warning("IntentEnsemble: no linear model loaded (%s), so DIET alone predicts.", error)
            model = None
        return cls(config, model_storage, resource, model)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leave the training data unchanged: no later component reads the intents of training examples."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace each message's intent and ranking by the weighted average."""
        if self._model is None:
            return messages
        texts = [message.get(TEXT) or "" for message in messages]
        with_text = [index for index, text in enumerate(texts) if text]
        if not with_text:
            return messages

        probabilities = self._model.predict_proba([texts[index] for index in with_text])
        for row, index in zip(probabilities, with_text):
            self._average(messages[index], row)
        return messages

    def _average(self, message: Message, linear: np.ndarray) -> None:
        diet_weight = self._config["diet_weight"]
        scores: Dict[Text, float] = {
            intent: (1.0 - diet_weight) * float(probability)
            for intent, probability in zip(self._model.classes_, linear)
        }
        for entry in message.get(INTENT_RANKING_KEY) or []:
            name = entry.get(INTENT_NAME_KEY)
            if name is not None:
                scores[name] = scores.get(name, 0.0) + diet_weight * float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0)

        ranking = sorted(
            ({INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: score} for name, score in scores.items()),
            key=lambda entry: -entry[PREDICTED_CONFIDENCE_KEY],
        )[:RANKING_LENGTH]
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
