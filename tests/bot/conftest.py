"""Fixtures for the action tests: real trackers, the real domain and knowledge base."""

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[2]


def load_domain() -> Dict[str, Any]:
    """Merge the domain files the way Rasa does for the keys the actions read."""
    merged: Dict[str, Any] = {"responses": {}, "intents": [], "slots": {}, "forms": {}}
    for path in sorted((ROOT / "bot" / "domain").glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        merged["responses"].update(content.get("responses") or {})
        merged["intents"] += content.get("intents") or []
        merged["slots"].update(content.get("slots") or {})
        merged["forms"].update(content.get("forms") or {})
    return merged


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """The assistant's domain as a dictionary."""
    return load_domain()


def make_tracker(
    text: str,
    intent: str,
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    sender_id: str = "test-conversation",
    input_channel: Optional[str] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> Tracker:
    """Build a tracker whose latest message is the given one, received on `input_channel` with `metadata`."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    user_event = {"event": "user", "text": text, "parse_data": latest, "input_channel": input_channel}
    all_events = list(events or []) + [user_event]
    return Tracker(
        sender_id=sender_id,
        slots=dict(slots or {}),
        latest_message=latest,
        events=all_events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def entity(name: str, value: Any) -> Dict[str, Any]:
    """An entity as the NLU pipeline reports it."""
    return {"entity": name, "value": value}


class ActionRun:
    """What one action run produced."""

    def __init__(self, messages: List[Dict[str, Any]], events: List[Dict[str, Any]]) -> None:
        self.messages = messages
        self.events = events

    @property
    def responses(self) -> List[str]:
        return [m["response"] for m in self.messages if m.get("response")]

    @property
    def cards(self) -> List[Dict[str, Any]]:
        found = []
        for message in self.messages:
            custom = message.get("custom") or {}
            if custom.get("type") == "place_cards":
                found.extend(custom["places"])
        return found

    @property
    def trainings(self) -> List[Dict[str, Any]]:
        found = []
        for message in self.messages:
            custom = message.get("custom") or {}
            if custom.get("type") == "training_cards":
                found.extend(custom["trainings"])
        return found

    @property
    def texts(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages)

    def slot(self, name: str) -> Any:
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e.get("name") == name]
        return values[-1] if values else None


@pytest.fixture
def run_action(domain):
    """Run an action on a tracker and return what it produced."""

    def run(action: Any, tracker: Tracker) -> ActionRun:
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action.run(dispatcher, tracker, domain))
        return ActionRun(dispatcher.messages, events)

    return run
