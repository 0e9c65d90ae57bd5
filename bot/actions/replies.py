"""Action that sends the fixed response of small talk and simple questions after the safety check.

A response that a rule runs itself skips the safety check of
SafetyFirstAction, so greetings, thanks and the other intents below go
through action_reply: « jsp » read as thank after « tu penses à te
suicider ? » must get the numbers again, not « Je t'en prie ! ».
"""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.base import SafetyFirstAction, conversation_ref

logger = logging.getLogger(__name__)

# The response sent for each intent that bot/data/rules.yml routes to
# action_reply.
RESPONSES_BY_INTENT = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_thank",
    "ask_money": "utter_money",
    "ask_privacy": "utter_privacy",
    "bot_challenge": "utter_bot_challenge",
}

# Sent when action_reply runs after an intent it has no response for.
UNKNOWN_INTENT_RESPONSE = "utter_ask_rephrase"


class ActionReply(SafetyFirstAction):
    """Action that sends the fixed response of the latest intent after the safety check.

    The action sends the response by name, so Rasa still picks one of its
    variants at random among those whose slot and channel conditions match,
    as it does when a rule runs the response itself. The variants for
    ``role: adult`` and for Messenger or Telegram therefore still apply.
    """

    def name(self) -> Text:
        return "action_reply"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Send the response of the latest intent."""
        intent = tracker.latest_message.get("intent", {}).get("name")
        response = RESPONSES_BY_INTENT.get(intent)
        if response is None:
            # Only a rule of bot/data/rules.yml that is missing from
            # RESPONSES_BY_INTENT leads here.
            logger.error(
                "No response is mapped for intent %r in action %s (conversation %s), so %s was sent. "
                "Add the intent to RESPONSES_BY_INTENT.",
                intent, self.name(), conversation_ref(tracker.sender_id), UNKNOWN_INTENT_RESPONSE,
            )
            response = UNKNOWN_INTENT_RESPONSE
        dispatcher.utter_message(response=response)
        return []
