"""NLU component that fixes the `age` entity with two rules DIET does not always learn.

1. A stated age is an age. « j'ai 16 ans », « mon fils a 17 ans », « âgée
   de 19 ans » give an `age` entity even when DIET misses it, because the
   age decides which schemes apply (training obligation until 18, EPIDE
   from 17, most schemes until 25).

2. A département number is not an age. DIET learns that a bare number of two digits is often an age ("j'ai 19
ans", "19"). After « du », « le », « dans le » or « en », and without « ans »
after it, such a number names a département: « celle du 26 », « je suis
dans le 93 », « un cio vers 13 ». Left as an age, it would set the age slot
to 26 and give the over-25 answer to a young person who only named the Drôme.

3. A number someone has is not a département. In « elle a 17 ans et moi
j'en ai 45 », DIET tagged 45 as a location, and a parent got the places of
the Loiret. A bare number after « j'en ai », « j'ai » or « il a » loses its
`location` entity.

The component runs after the entity extractor and the synonym mapper: it
adds the stated age when no `age` entity was found, relabels the
département numbers as `location` entities with the same span, and drops
the numbers someone has.
"""

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

logger = logging.getLogger(__name__)

AGE_ENTITY = "age"
LOCATION_ENTITY = "location"

# Words before a number that make it a département: « du 26 », « le 93 »,
# « dans le 13 », « en 75 », « vers 13 » (« en 2024 » has four digits and is no age).
_DEPARTEMENT_BEFORE = re.compile(r"(?:\bdu|\ble|\bdans\s+le|\ben|\bvers)\s*$", re.IGNORECASE)
# « du 26 ans » does not occur, but « le 19 ans » could be a typo of an age.
_YEARS_AFTER = re.compile(r"^\s*(?:ans?|a)\b", re.IGNORECASE)
_DEPARTEMENT_NUMBER = re.compile(r"^(?:0?[1-9]|[1-8]\d|9[0-5]|2[ab])$", re.IGNORECASE)
# « j'ai 16 ans », « jai 16ans », « g 16 ans », « il a 17 ans », « âgé de 19 ans »,
# but not « il y a 2 ans » nor « ça fait 10 ans ».
_STATED_AGE = re.compile(
    r"(?:\bj\s?'?\s?ai|\bjai|\bg|\b(?<!y )a|\bâgée?s?\s+de|\bagee?s?\s+de)\s+(\d{2})\s*ans\b",
    re.IGNORECASE,
)


# Words before a number that someone has: « j'en ai 45 », « il a 17 ».
_HAS_BEFORE = re.compile(r"(?:\bj\s?'?\s?en\s+ai|\bj\s?'?\s?ai|\bjai|\ben\s+a|\b(?:il|elle|on)\s+a)\s*$", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\d{1,3}$")


def is_number_someone_has(text: Text, start: int, end: int) -> bool:
    """Return whether the number at text[start:end] follows « j'en ai », « j'ai » or « il a »."""
    return bool(_BARE_NUMBER.match(text[start:end].strip())) and bool(_HAS_BEFORE.search(text[:start]))


def is_departement_number(text: Text, start: int, end: int) -> bool:
    """Return whether the number at text[start:end] reads as a département, not an age.

    Args:
        text: the whole message.
        start: start of the number in the text.
        end: end of the number in the text.
    """
    number = text[start:end].strip()
    if not _DEPARTEMENT_NUMBER.match(number):
        return False
    if _YEARS_AFTER.match(text[end:]):
        return False
    return bool(_DEPARTEMENT_BEFORE.search(text[:start]))


def stated_age_entity(text: Text) -> Optional[Dict[Text, Any]]:
    """Return an `age` entity for an age stated in the text (« j'ai 16 ans »), or None."""
    match = _STATED_AGE.search(text)
    if match is None:
        return None
    start, end = match.span(1)
    return {
        ENTITY_ATTRIBUTE_TYPE: AGE_ENTITY,
        ENTITY_ATTRIBUTE_VALUE: match.group(1),
        ENTITY_ATTRIBUTE_START: start,
        ENTITY_ATTRIBUTE_END: end,
        EXTRACTOR: "AgeEntityRules",
    }


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class AgeEntityRules(GraphComponent):
    """Add stated ages, relabel département numbers as `location`, and drop the numbers someone has."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """Return the default configuration (nothing to set)."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "AgeEntityRules":
        """Create the component; it has nothing to train."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Relabel the département numbers of each message."""
        for message in messages:
            self._process_message(message)
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        """Leave the training data unchanged."""
        return training_data

    @staticmethod
    def _process_message(message: Message) -> None:
        text = message.get(TEXT) or ""
        entities = list(message.get(ENTITIES) or [])
        changed = False
        if not any(entity.get(ENTITY_ATTRIBUTE_TYPE) == AGE_ENTITY for entity in entities):
            stated = stated_age_entity(text)
            if stated is not None:
                entities.append(stated)
                changed = True
        for entity in entities:
            if entity.get(ENTITY_ATTRIBUTE_TYPE) != AGE_ENTITY:
                continue
            start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
            if not isinstance(start, int) or not isinstance(end, int):
                continue
            if is_departement_number(text, start, end):
                entity[ENTITY_ATTRIBUTE_TYPE] = LOCATION_ENTITY
                entity[ENTITY_ATTRIBUTE_VALUE] = text[start:end].strip()
                entity[EXTRACTOR] = f"{entity.get(EXTRACTOR)}+{AgeEntityRules.__name__}"
                changed = True
        without_owned_numbers = [
            entity
            for entity in entities
            if not (
                entity.get(ENTITY_ATTRIBUTE_TYPE) == LOCATION_ENTITY
                and isinstance(entity.get(ENTITY_ATTRIBUTE_START), int)
                and isinstance(entity.get(ENTITY_ATTRIBUTE_END), int)
                and is_number_someone_has(text, entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END])
            )
        ]
        if len(without_owned_numbers) != len(entities):
            entities = without_owned_numbers
            changed = True
        if changed:
            logger.debug("The age rules changed the entities of a message.")
            message.set(ENTITIES, entities, add_to_output=True)
