"""Role of the writer: a young person, or a parent or a professional.

The role slot selects the « vous » variants of the responses. Three things
set it: the ``writer`` entity of `bot.nlu.safety_rules` (« je suis la mère
de Léa »), the adult intents' action, and `ActionReadRole` below, which
sets it back to a young writer.
"""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import conversation_ref
from bot.nlu.adult_writer import states_own_youth

logger = logging.getLogger(__name__)

# Value of the role slot once a parent or a professional wrote.
ADULT_ROLE = "adult"
# Value of the role slot once the writer gives a young age or a class (« j'ai 17 ans »).
YOUNG_ROLE = "young"

# Intents whose action sets the adult role itself.
_ADULT_INTENTS = ("parent_question", "teacher_question")


def is_adult(tracker: Tracker) -> bool:
    """Return whether a parent or a professional is writing, so replies use « vous »."""
    return tracker.get_slot("role") == ADULT_ROLE


class ActionReadRole(Action):
    """Set the role back to young when the writer gives a young age or a class, before the turn's reply.

    Rasa runs this action for the custom mapping of the role slot
    (bot/domain/domain.yml) while it extracts the slots of each user
    message, so the reply to « j'ai 17 ans » already uses « tu ». Without
    it, a message wrongly taken for an adult's kept « vous », and hid the
    lines for young people, for the whole conversation.
    """

    def name(self) -> Text:
        return "action_read_role"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Return the role's new value, or nothing when it stays."""
        if not is_adult(tracker):
            return []
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in _ADULT_INTENTS or not states_own_youth(tracker.latest_message.get("text") or ""):
            return []
        logger.info("Conversation %s: role set back to young by the writer's age or class.",
                    conversation_ref(tracker.sender_id))
        return [SlotSet("role", YOUNG_ROLE)]
