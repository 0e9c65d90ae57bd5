"""The reviewed list of help and emergency numbers.

Every number the service shows comes from ``helplines.yml`` next to this
module, so that one reviewed file holds them all; tests check that no bot
response contains a number missing from it.
"""

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

DEFAULT_PATH = Path(__file__).with_name("helplines.yml")


@dataclass(frozen=True)
class Helpline:
    """One help or emergency number."""

    id: str
    number: str
    name: str
    short_name: str
    description: str
    hours: str
    url: Optional[str]
    situations: Tuple[str, ...]
    sms: bool = False
    sources: Tuple[str, ...] = field(default_factory=tuple)
    # Site of the service's written chat and the name shown for it; None
    # when the service has no chat that was checked.
    chat_url: Optional[str] = None
    chat_name: Optional[str] = None

    @property
    def tel_uri(self) -> str:
        """The ``tel:`` or ``sms:`` URI of the number, without spaces."""
        scheme = "sms" if self.sms else "tel"
        return f"{scheme}:{self.number.replace(' ', '')}"

    def to_dict(self) -> Dict[str, Any]:
        """Return the fields shown to users, as JSON-ready values."""
        return {
            "id": self.id,
            "number": self.number,
            "name": self.name,
            "short_name": self.short_name,
            "description": self.description,
            "hours": self.hours,
            "url": self.url,
            "sms": self.sms,
            "uri": self.tel_uri,
        }


@dataclass(frozen=True)
class Helplines:
    """The whole reviewed list."""

    last_verified: str
    helplines: Tuple[Helpline, ...]

    def get(self, helpline_id: str) -> Helpline:
        """Return the helpline with this id.

        Raises:
            KeyError: No helpline has this id.
        """
        for helpline in self.helplines:
            if helpline.id == helpline_id:
                return helpline
        raise KeyError(f"unknown helpline id: {helpline_id}")

    def for_situation(self, situation: str) -> List[Helpline]:
        """Return the helplines listed for a situation, in file order."""
        return [h for h in self.helplines if situation in h.situations]

    def to_dict(self) -> Dict[str, Any]:
        """Return the list as JSON-ready values."""
        return {
            "last_verified": self.last_verified,
            "helplines": [h.to_dict() for h in self.helplines],
        }


def _parse(raw: Dict[str, Any]) -> Helplines:
    entries = []
    for item in raw["helplines"]:
        entries.append(
            Helpline(
                id=str(item["id"]),
                number=str(item["number"]),
                name=item["name"],
                short_name=item.get("short_name") or item["name"],
                description=" ".join(item["description"].split()),
                hours=item["hours"],
                url=item.get("url"),
                situations=tuple(item.get("situations", ())),
                sms=bool(item.get("sms", False)),
                sources=tuple(item.get("sources", ())),
                chat_url=item.get("chat_url"),
                chat_name=item.get("chat_name"),
            )
        )
    return Helplines(last_verified=str(raw["last_verified"]), helplines=tuple(entries))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Helplines:
    with open(path, encoding="utf-8") as handle:
        return _parse(yaml.safe_load(handle))


def load_helplines(path: Optional[str] = None) -> Helplines:
    """Load the helplines file, once per process and path.

    Args:
        path: File to read; defaults to env ``HELPLINES_FILE`` or the file
            next to this module.
    """
    return _load(path or os.environ.get("HELPLINES_FILE") or str(DEFAULT_PATH))
