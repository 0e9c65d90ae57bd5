"""Texts of the messages an action has sent in the current turn.

The dispatcher stores the current turn's messages as response names with
their variables; Rasa fills the templates only after the action returns, so
the tracker does not contain them yet. A counsellor who takes over an urgent
conversation in that same turn must still read what the bot just wrote (the
question « est-ce que tu penses à te suicider en ce moment ? » among
others), so this module fills the templates from the domain files itself.

NOTE: a response with conditional variants is filled with its first variant
whose conditions hold for the tracker's slots; Rasa picks at random among
several matching variants, so the counsellor may read another wording of the
same answer than the user did.
"""

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker

logger = logging.getLogger(__name__)

DOMAIN_PATH = Path(__file__).resolve().parents[1] / "domain"

# Keys of a dispatcher message that are not template variables.
_MESSAGE_KEYS = {"text", "response", "buttons", "elements", "custom", "template", "image", "attachment"}


@lru_cache(maxsize=1)
def _responses() -> Dict[Text, List[Dict[Text, Any]]]:
    return Domain.load(str(DOMAIN_PATH)).responses


class _KeepMissing(dict):
    """Leave an unknown template variable as written rather than fail."""

    def __missing__(self, key: Text) -> Text:
        return "{" + key + "}"


def _conditions_hold(variant: Dict[Text, Any], tracker: Tracker) -> bool:
    return all(
        tracker.get_slot(condition.get("name")) == condition.get("value")
        for condition in variant.get("condition") or []
    )


def _fill(response: Text, variables: Dict[Text, Any], tracker: Tracker) -> Optional[Text]:
    variants = _responses().get(response) or []
    for variant in variants:
        if variant.get("text") and _conditions_hold(variant, tracker):
            return variant["text"].format_map(_KeepMissing(variables))
    return None


def sent_texts(messages: List[Dict[Text, Any]], tracker: Tracker) -> List[Text]:
    """Return the text of each message sent so far in this turn, in order.

    A message whose response is unknown to the domain files is left out and
    logged by name.
    """
    texts = []
    for message in messages:
        if message.get("text"):
            texts.append(message["text"])
            continue
        response = message.get("response") or message.get("template")
        if not response:
            continue
        variables = {key: value for key, value in message.items() if key not in _MESSAGE_KEYS}
        text = _fill(response, variables, tracker)
        if text is None:
            logger.warning("Response %s has no text to copy into a transcript.", response)
            continue
        texts.append(text)
    return texts
