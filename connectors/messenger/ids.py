"""The Rasa sender id of a Messenger user, and its log-safe reference.

A PSID (page-scoped id) names a user for one page only, so the Rasa sender
id joins both: ``"<page id>_<psid>"``. The sender splits it again to choose
the page's access token.

The separator is an unreserved URL character. The handoff service
percent-encodes the sender id in the path of Rasa's tracker API, and Sanic
21.12 does not decode path parameters. So ``:`` would reach Rasa as ``%3A``
and name another conversation.
"""

import hashlib
import re
from typing import Optional, Text, Tuple

# Page ids and PSIDs are decimal numbers written as strings.
_NUMERIC_ID = re.compile(r"^[0-9]{1,32}$")
_SEPARATOR = "_"


def is_numeric_id(value: object) -> bool:
    """Return whether a value has the form of a page id or a PSID."""
    return isinstance(value, str) and bool(_NUMERIC_ID.match(value))


def make_sender_id(page_id: Text, psid: Text) -> Text:
    """Return the Rasa sender id of a user of a page."""
    return f"{page_id}{_SEPARATOR}{psid}"


def split_sender_id(sender_id: Text) -> Optional[Tuple[Text, Text]]:
    """Return (page id, PSID) of a sender id, or None when it is not one of this channel."""
    page_id, separator, psid = str(sender_id).partition(_SEPARATOR)
    if not separator or not is_numeric_id(page_id) or not is_numeric_id(psid):
        return None
    return page_id, psid


def user_ref(sender_id: Text) -> Text:
    """Return a short hash of a sender id for logs, which must not contain platform ids of users."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:12]
