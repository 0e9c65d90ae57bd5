"""Role of the writer: a young person, or a parent or a professional."""

from rasa_sdk import Tracker

# Value of the role slot once a parent or a professional wrote.
ADULT_ROLE = "adult"


def is_adult(tracker: Tracker) -> bool:
    """Return whether a parent or a professional is writing, so replies use « vous »."""
    return tracker.get_slot("role") == ADULT_ROLE
