"""Helpers of the Messenger tests: fixture payloads, pages, a Rasa stand-in and a real Sanic server."""

from __future__ import annotations

import asyncio
import json
import random
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import aiohttp
from rasa.core.channels.channel import UserMessage

from connectors.messenger.channel import MessengerInput
from connectors.messenger.signature import SIGNATURE_HEADER, sign
from tests.connectors.servers import LoopThread, serve_blueprint

FIXTURES_DIR = Path(__file__).resolve().parents[3] / "connectors" / "messenger" / "fixtures"
APP_SECRET = "secret-de-l-application-de-test"
VERIFY_TOKEN = "jeton-de-verification-de-test"
PAGE_NATIONAL = "111111111111111"
PAGE_LYON = "222222222222222"
TOKENS = {"jeton-page-nationale": PAGE_NATIONAL, "jeton-page-lyon": PAGE_LYON}
TOKEN_ENV = {"MESSENGER_TOKEN_NATIONAL": "jeton-page-nationale", "MESSENGER_TOKEN_LYON": "jeton-page-lyon"}
LYON_TERRITORY = {"communes": ["69123"], "label": "Lyon"}

PAGES_YAML = f"""
pages:
  - id: "{PAGE_NATIONAL}"
    name: Seconde chance
    access_token_env: MESSENGER_TOKEN_NATIONAL
  - id: "{PAGE_LYON}"
    name: Seconde chance Lyon
    access_token_env: MESSENGER_TOKEN_LYON
    territory:
      label: Lyon
      communes: ["69123"]
"""


def new_psid() -> str:
    """Return a random PSID, so that tests never share a user."""
    return str(random.randint(10**15, 10**16 - 1))


def new_mid() -> str:
    """Return a random message id shaped like Meta's."""
    return "m_" + "".join(random.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=40))


def write_pages_file(folder: Path) -> Path:
    """Write the pages file of the tests (a national page and the Lyon page) and return its path."""
    path = folder / "pages.yml"
    path.write_text(PAGES_YAML, encoding="utf-8")
    return path


def load_fixture(name: str, *, page_id: Optional[str] = None, psid: Optional[str] = None,
                 mid: Optional[str] = None, text: Optional[str] = None) -> Dict[str, Any]:
    """Load a fixture payload, replacing the page, the user, the message id or the text of its events."""
    data = json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    for entry in data["entry"]:
        for event in entry.get("messaging", []):
            echo = bool(event.get("message", {}).get("is_echo"))
            page_key, user_key = ("sender", "recipient") if echo else ("recipient", "sender")
            if page_id:
                event[page_key]["id"] = page_id
            if psid:
                event[user_key]["id"] = psid
            for kind in ("message", "postback"):
                if mid and kind in event:
                    event[kind]["mid"] = mid
            if text is not None and "message" in event:
                event["message"]["text"] = text
        if page_id:
            entry["id"] = page_id
    return data


def signed_headers(body: bytes, secret: str = APP_SECRET) -> Dict[str, str]:
    """Return the headers Meta sends with a body: JSON type and the body's signature."""
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}


class RecordingRasa:
    """Stands in for Rasa: records messages and replies by a small script.

    "silence" gets no reply, "panne" raises, "lent" replies after a second,
    "boutons" sends 15 buttons with long titles, "lieux" sends place cards;
    anything else gets « reçu : <text> ».
    """

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        output = message.output_channel
        if message.text == "silence":
            return
        if message.text == "panne":
            raise RuntimeError("simulated fault")
        if message.text == "lent":
            await asyncio.sleep(1.0)
        if message.text == "boutons":
            buttons = [{"title": f"Choix numéro {index} avec un titre long", "payload": f"/choice_{index}"}
                       for index in range(15)]
            await output.send_text_with_buttons(message.sender_id, "Choisis :", buttons)
            return
        if message.text == "lieux":
            await output.send_custom_json(message.sender_id, {"type": "place_cards", "places": [PLACE_CARD]})
            return
        await output.send_text_message(message.sender_id, f"reçu : {message.text}")


PLACE_CARD = {
    "name": "Mission locale de Lyon",
    "type": "mission_locale",
    "type_label": "Mission locale",
    "address": "8 rue de l'Exemple",
    "postal_code": "69001",
    "commune": "Lyon",
    "distance_km": 1.23,
    "phone": "04 78 00 00 00",
    "email": "contact@exemple.fr",
    "website": "https://www.exemple.fr",
    "map_url": "https://www.openstreetmap.org/?mlat=45.76&mlon=4.83",
    "approximate": False,
    "address_checked": True,
}


@asynccontextmanager
async def serve_messenger(channel: MessengerInput, rasa: RecordingRasa) -> AsyncIterator[str]:
    """Serve the channel's blueprint on a free port of 127.0.0.1 and yield the webhook URL."""
    async with serve_blueprint("messenger_test", channel.blueprint(rasa), "/webhooks/messenger") as base_url:
        try:
            yield f"{base_url}/webhooks/messenger/webhook"
        finally:
            # The channel handles events in the background, so finish them before the server closes.
            if channel.handler is not None:
                await channel.handler.drain()


class ThreadedServer:
    """The channel served from a thread with its own event loop, for synchronous tests (Hypothesis)."""

    def __init__(self, channel: MessengerInput, rasa: RecordingRasa) -> None:
        self.channel = channel
        self.rasa = rasa
        self.url = ""
        self._loop_thread = LoopThread("messenger-server")
        self._context: Any = None

    def start(self) -> "ThreadedServer":
        self._loop_thread.start()
        self._context = serve_messenger(self.channel, self.rasa)
        self.url = self._loop_thread.run(self._context.__aenter__(), timeout=10)
        return self

    def drain(self) -> None:
        """Wait until the channel handled every event scheduled so far."""
        if self.channel.handler is not None:
            self._loop_thread.run(self.channel.handler.drain(), timeout=30)

    def stop(self) -> None:
        self._loop_thread.run(self._context.__aexit__(None, None, None), timeout=30)
        self._loop_thread.stop()


async def post(session: aiohttp.ClientSession, url: str, payload: Any, *, secret: str = APP_SECRET,
               headers: Optional[Dict[str, str]] = None) -> "tuple[int, str]":
    """POST a payload (a dict, or raw bytes) signed with ``secret``; return the status and the body."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    async with session.post(url, data=body, headers=headers or signed_headers(body, secret)) as response:
        return response.status, await response.text()
