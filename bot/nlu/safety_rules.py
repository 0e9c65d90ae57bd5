"""NLU component that lets rules overrule the model for distress, adult writers and noise.

It runs after the model's intent classifier and the FallbackClassifier:

* a message in which the distress rules find distress (despair at level 1,
  a risk at level 2 or more; not hyperbole) gets the ``distress`` intent,
  whatever the model predicted, so that recall on distress does not depend
  on one model. On the 469 ordinary messages of the labelled set
  (tests/nlu/data/distress.yml) no message reaches level 1. When an adult
  writes it about a young person (« mon fils veut mourir »), a ``writer``
  entity sets the role slot, so that the reply says « vous »;
* a message whose writer says they are a parent or a professional
  (`bot.nlu.adult_writer.introduces_adult`: « je suis la mère de Léa »)
  gets the same ``writer`` entity, whatever its intent, and the ``greet``
  intent when the message is only that introduction;
* a message that contains an e-mail address gets ``give_email``, because
  DIET reads an unseen address as words and may take it for a place name;
* a message read as ``parent_question`` or ``teacher_question`` that has no
  word showing an adult writer (`bot.nlu.adult_writer`) gets the best other
  intent of the ranking, because those intents switch the bot to « vous »
  and to the replies for a parent or a teacher ("Comment trouver une formation en
  alternance ?" was read as teacher_question at 0.62);
* a message with no letter or digit (emoji, punctuation) and a message whose
  words are all unknown to the language model get ``nlu_fallback``, because
  the model otherwise picks an intent with high confidence at random;
* a message in another language than French (`bot.actions.language`) gets
  ``nlu_fallback`` and a ``language`` entity with the language's code, so
  that the fallback replies that the bot speaks French, in that language
  too. The model, trained on French, read « I want to kill myself »
  as goodbye, and the distress rules read French only.

NOTE: "unknown to the language model" means no spaCy word vector; SMS
spellings often have none, so the check applies only to messages of two or
more words, none with a vector, and no extracted entity other than a
`location` that names no commune or a `place_type` that is no place type of
`knowledge` ("azertyuiop qsdfghjk" tagged as two place types). Commune names often have no vector
("Plouzévédé Kerlouan"), so a location entity is looked up, by its
normalised name, in the commune names of `knowledge`; keyboard mashing
("wxcvbn poiuyt") that the model took for a place is not found there.
"""

import functools
import logging
import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

import knowledge
from bot.actions.distress import assess
from bot.actions.language import LANGUAGE_ENTITY, foreign_language
from bot.actions.role import ADULT_ROLE
from bot.nlu.adult_writer import introduces_adult, is_introduction_only, names_adult_writer
from knowledge.models import CommuneAlias
from knowledge.normalize import normalize_name
from knowledge.place_types import load_place_types

logger = logging.getLogger(__name__)

DISTRESS_INTENT = "distress"
FALLBACK_INTENT = "nlu_fallback"
GREET_INTENT = "greet"
EMAIL_INTENT = "give_email"
# Intents that may quote an address without giving it for a follow-up.
KEEPS_EMAIL_INTENT = {DISTRESS_INTENT, "cancel_followup", EMAIL_INTENT}
# Intents whose replies address a parent or a teacher, in « vous ».
ADULT_INTENTS = {"parent_question", "teacher_question"}

# Shape of an address, not its validity: the follow-up form validates it.
_EMAIL_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\W\d_]{2,}")

# Key under which SpacyNLP stores the parsed text in a message.
SPACY_DOC_KEY = "text_spacy_doc"

_HAS_WORD_CHARACTER = re.compile(r"[^\W_]")

# Entity that sets the role slot (bot/domain/domain.yml), to ADULT_ROLE here.
WRITER_ENTITY = "writer"

LOCATION_ENTITY = "location"
PLACE_TYPE_ENTITY = "place_type"


@functools.lru_cache(maxsize=1)
def _place_type_codes() -> frozenset:
    return frozenset(load_place_types())


def names_a_place_type(value: Any) -> bool:
    """Return whether a place_type entity value is a place type of `knowledge` (after synonym mapping)."""
    return str(value or "") in _place_type_codes()


def names_a_commune(value: Any) -> bool:
    """Return whether a location entity value is the name of a commune, former commune or locality.

    The lookup is one indexed query on the knowledge database; when the
    database cannot be read, the value counts as a commune, so that the
    noise rule never overrules a real place.
    """
    name = normalize_name(str(value or ""))
    if not name or not re.search(r"[a-z]", name):
        return True
    try:
        with knowledge.session_scope() as session:
            found = session.execute(
                select(CommuneAlias.id).where(CommuneAlias.alias_normalized == name).limit(1)
            ).first()
    except SQLAlchemyError as error:
        logger.warning("Commune names unavailable to the noise rule: %s", type(error).__name__)
        return True
    return found is not None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class SafetyRulesClassifier(GraphComponent):
    """Overrule the predicted intent for distress, e-mail addresses, adult intents without an adult, noise and other languages."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the default configuration: every check on."""
        return {
            "distress": True, "email": True, "adult": True, "noise": True, "foreign": True,
            # The FallbackClassifier's threshold, applied again to the intent
            # left after the adult intents are dropped (config.yml sets both).
            "fallback_threshold": 0.0,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SafetyRulesClassifier":
        """Create the component; it has nothing to train."""
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        """Overrule the intent of each message where a rule applies."""
        for message in messages:
            self._process_message(message)
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        """Leave the training data unchanged."""
        return training_data

    def _process_message(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        if not text:
            return

        if self._config.get("distress", True):
            assessment = assess(text)
            if assessment.is_distress:
                if self._predicted_intent(message) != DISTRESS_INTENT:
                    logger.debug("Distress rules overruled the predicted intent.")
                self._set_intent(message, DISTRESS_INTENT)
                if (assessment.about_young_person and names_adult_writer(text)) or introduces_adult(text):
                    self._add_adult_writer(message, text)
                return

        if (
            self._config.get("email", True)
            and self._predicted_intent(message) not in KEEPS_EMAIL_INTENT
            and _EMAIL_ADDRESS.search(text)
        ):
            logger.debug("An e-mail address overruled the predicted intent.")
            self._set_intent(message, EMAIL_INTENT)
            return

        language = foreign_language(text) if self._config.get("foreign", True) else None
        if language is not None:
            logger.debug("A message in another language overruled the predicted intent.")
            self._set_intent(message, FALLBACK_INTENT)
            # The fallback action reads the language here rather than running
            # the detector, and its models, a second time.
            self._add_entity(message, text, LANGUAGE_ENTITY, language)
            return

        if (
            self._config.get("adult", True)
            and self._predicted_intent(message) in ADULT_INTENTS
            and not names_adult_writer(text)
        ):
            logger.debug("No adult writer: the predicted %s gave way.", self._predicted_intent(message))
            self._drop_adult_intents(message, self._config.get("fallback_threshold", 0.0))

        if self._config.get("noise", True) and self._is_noise(message, text):
            self._set_intent(message, FALLBACK_INTENT)
            # What is left are places that do not exist: no slot may keep them.
            message.set(ENTITIES, [], add_to_output=True)
            return

        if self._predicted_intent(message) not in ADULT_INTENTS and introduces_adult(text):
            # « Bonjour, je suis la mère de Léa »: whatever the intent, the
            # replies from this turn on use « vous ». The adult intents need
            # no entity: their action sets the role.
            if is_introduction_only(text):
                # No intent fits an introduction alone: the greeting lists what the service does.
                self._set_intent(message, GREET_INTENT)
            self._add_adult_writer(message, text)

    @staticmethod
    def _add_adult_writer(message: Message, text: Text) -> None:
        """Mark the message as written by an adult about a young person.

        The role slot maps this entity before the distress action runs, so
        the safety response of this very turn already says « vous ».
        """
        SafetyRulesClassifier._add_entity(message, text, WRITER_ENTITY, ADULT_ROLE)

    @staticmethod
    def _add_entity(message: Message, text: Text, name: Text, value: Text) -> None:
        """Add an entity that spans the whole message, as the rule layer's finding."""
        entity = {
            "entity": name, "value": value, "start": 0, "end": len(text),
            "extractor": SafetyRulesClassifier.__name__,
        }
        message.set(ENTITIES, (message.get(ENTITIES) or []) + [entity], add_to_output=True)

    @staticmethod
    def _predicted_intent(message: Message) -> Text:
        return (message.get(INTENT) or {}).get(INTENT_NAME_KEY) or ""

    @staticmethod
    def _is_noise(message: Message, text: Text) -> bool:
        if not _HAS_WORD_CHARACTER.search(text):
            return True
        entities = message.get(ENTITIES) or []
        if any(entity.get("entity") not in (LOCATION_ENTITY, PLACE_TYPE_ENTITY) for entity in entities):
            return False
        doc = message.get(SPACY_DOC_KEY)
        if doc is None:
            return False
        words = [token for token in doc if token.is_alpha]
        if len(words) < 2 or any(token.has_vector for token in words):
            return False
        # Only now, as it costs a query: a place or place type the model found must be real.
        return not any(
            names_a_commune(entity.get("value"))
            if entity.get("entity") == LOCATION_ENTITY
            else names_a_place_type(entity.get("value"))
            for entity in entities
        )

    @staticmethod
    def _drop_adult_intents(message: Message, fallback_threshold: float) -> None:
        """Make the best intent of the ranking that is not an adult one the predicted intent.

        Its confidence becomes its share of the confidences left, so that
        the ranking still sums to what it summed to without the adult intents.
        Under ``fallback_threshold`` the intent becomes nlu_fallback: the
        model's second choice for « j'ai 19 ans et une fille de 2 ans » was
        inform_location at 0.24, which got « je n'ai pas reconnu de lieu ».
        """
        ranking = [
            entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get(INTENT_NAME_KEY) not in ADULT_INTENTS
        ]
        if not ranking:
            SafetyRulesClassifier._set_intent(message, FALLBACK_INTENT)
            return
        total = sum(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0 for entry in ranking)
        if total > 0:
            ranking = [
                {**entry, PREDICTED_CONFIDENCE_KEY: (entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0) / total}
                for entry in ranking
            ]
        ranking.sort(key=lambda entry: entry[PREDICTED_CONFIDENCE_KEY] or 0.0, reverse=True)
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if (ranking[0][PREDICTED_CONFIDENCE_KEY] or 0.0) < fallback_threshold:
            SafetyRulesClassifier._set_intent(message, FALLBACK_INTENT)

    @staticmethod
    def _set_intent(message: Message, intent_name: Text) -> None:
        intent = {INTENT_NAME_KEY: intent_name, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [
            entry
            for entry in message.get(INTENT_RANKING_KEY) or []
            if entry.get(INTENT_NAME_KEY) != intent_name
        ]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [intent] + ranking, add_to_output=True)
