"""Test helpers of the Telegram channel: sample updates, a scripted Rasa stand-in and a real Sanic server."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import aiohttp
from rasa.core.channels.channel import UserMessage

from connectors.telegram.channel import SECRET_HEADER, TelegramInput
from connectors.telegram.config import TelegramSettings
from tests.connectors.servers import serve_blueprint
from tests.connectors.telegram.fake_bot_api import TOKEN

FIXTURES_DIR = Path(__file__).resolve().parents[3] / "connectors" / "telegram" / "fixtures"
# The chat id and user id of every sample update.
FIXTURE_CHAT_ID = 700000001
SECRET = "secret-token_of-the-tests-42"
WEBHOOK_PATH = "/webhooks/telegram/webhook"

LONG_PAYLOAD = '/inform_location{"commune_insee": "69123", "location": "Lyon (69), le chef-lieu du Rhône"}'
PLACE_CARDS = {
    "type": "place_cards",
    "places": [
        {
            "name": "Mission locale <Lyon> & Rhône",
            "type_label": "Mission locale",
            "address": "12 rue de la République",
            "postal_code": "69001",
            "commune": "Lyon",
            "distance_km": 1.24,
            "phone": "04 00 00 00 00",
            "map_url": "https://www.openstreetmap.org/?mlat=45.76400&mlon=4.83600#map=15/45.76400/4.83600",
        },
        {
            "name": "CIO de Lyon",
            "type_label": "CIO",
            "commune": "Lyon",
            "distance_km": 2.5,
            "map_url": "javascript:alert(1)",
        },
    ],
}


def new_chat_id() -> int:
    """Return a random private chat id, so that tests do not share Redis keys."""
    return random.randint(10**9, 2 * 10**9)


def new_update_id() -> int:
    return random.randint(10**8, 9 * 10**8)


def load_update(name: str, *, chat_id: Optional[int] = None, update_id: Optional[int] = None) -> Dict[str, Any]:
    """Load a sample update of connectors/telegram/fixtures, with its chat id and update id replaced."""
    data = json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    data["update_id"] = update_id if update_id is not None else new_update_id()
    if chat_id is not None:
        _replace_ids(data, FIXTURE_CHAT_ID, chat_id)
    return data


def _replace_ids(value: Any, old: int, new: int) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and item == old:
                value[key] = new
            else:
                _replace_ids(item, old, new)
    elif isinstance(value, list):
        for item in value:
            _replace_ids(item, old, new)


def text_update(chat_id: int, text: str, update_id: Optional[int] = None) -> Dict[str, Any]:
    """Return a text message update from a private chat."""
    data = load_update("text_message", chat_id=chat_id, update_id=update_id)
    data["message"]["text"] = text
    return data


def button_update(chat_id: int, data: str, title: Optional[str] = None) -> Dict[str, Any]:
    """Return a callback query update for a button with this callback data, on a message that carries it."""
    update = load_update("callback_query", chat_id=chat_id)
    query = update["callback_query"]
    query["data"] = data
    query["id"] = f"query-{new_update_id()}"
    query["message"]["reply_markup"] = {"inline_keyboard": [[{"text": title or "Bouton", "callback_data": data}]]}
    return update


def bot_settings(api_url: str, redis_url: str, **changes: Any) -> TelegramSettings:
    """Return the settings of the test bot, pointed to the fake Bot API."""
    values = {
        "token": TOKEN,
        "webhook_url": "https://seconde-chance.example.org/webhooks/telegram/webhook",
        "secret_token": SECRET,
        "api_url": api_url,
        "redis_url": redis_url,
    }
    values.update(changes)
    return TelegramSettings(**values)



class ScriptedRasa:
    """Stands in for Rasa: records messages and replies by a small script."""

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []
        self.received = asyncio.Event()

    @property
    def texts(self) -> List[str]:
        return [message.text for message in self.messages]

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        self.received.set()
        output = message.output_channel
        if message.text == "silence":
            return
        if message.text == "panne":
            raise RuntimeError("simulated fault")
        if message.text == "lent":
            await asyncio.sleep(0.3)
        if message.text == "boutons":
            await output.send_text_with_buttons(
                message.sender_id,
                "Choisis :",
                [{"title": "Lieu", "payload": "/find_place"}, {"title": "Lyon (69)", "payload": LONG_PAYLOAD}],
            )
            return
        if message.text == "cartes":
            await output.send_custom_json(message.sender_id, copy.deepcopy(PLACE_CARDS))
            return
        if message.text == "long":
            await output.send_text_message(message.sender_id, ("mot " * 1500).strip())
            return
        await output.send_text_message(message.sender_id, f"reçu : {message.text}")


@asynccontextmanager
async def serve_telegram(channel: TelegramInput, rasa: ScriptedRasa, start_listeners: bool = False) -> AsyncIterator[str]:
    """Serve the Telegram channel on a free port of 127.0.0.1 and yield the webhook URL.

    With `start_listeners`, the server start runs the blueprint's
    after_server_start listener, which registers the webhook.
    """
    blueprint = channel.blueprint(rasa)
    async with serve_blueprint(
        "telegram_test", blueprint, "/webhooks/telegram", run_after_start=start_listeners
    ) as base_url:
        try:
            yield f"{base_url}{WEBHOOK_PATH}"
        finally:
            # Let the updates still being handled finish before the server closes.
            await channel.shutdown()


async def post_update(
    url: str, body: Any, secret: Optional[str] = SECRET, raw: Optional[bytes] = None
) -> aiohttp.ClientResponse:
    """POST an update (a dict, or raw bytes) to the webhook as Telegram does, and return the response (read)."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    data = raw if raw is not None else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=data, headers=headers) as response:
            await response.read()
            return response
