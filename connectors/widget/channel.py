"""Socket.io input and output channel for the web chat widget.

The channel speaks Rasa's socket.io protocol: the client emits
``session_request`` and gets ``session_confirm`` with its session id, then
emits ``user_uttered`` messages and receives ``bot_uttered`` messages. Every
socket joins the room named after its session id, so a conversation survives
a page reload and reaches every tab that shows it.

On top of Rasa's own channel it:

* reads typed text only as text (a leading ``/`` never becomes an intent) and
  accepts a payload only when the bot offered it to that session, or when it
  is ``/ask_counsellor``, the payload of the widget's permanent button;
* turns a position shared by the widget into a ``share_location`` payload;
* replies in French to empty, malformed and too long messages instead of
  dropping them;
* tells the user when a message produced no reply because of a fault;
* counts each session's messages against a per-minute rate limit
  (`connectors.rate_limit`), higher during a handoff, and says once when it
  leaves the next ones out;
* hands every user message to the human handoff first
  (`connectors.handoff_bridge`): while a counsellor has the conversation, or
  while it waits in the queue, the message goes to the counsellor and Rasa
  never sees it;
* delivers again, when a session is confirmed, the counsellor messages that
  the widget did not acknowledge, and records the widget's acknowledgements
  (``message_ack``) and typing (``user_typing``);
* shares emits between processes through Redis, so any process, the handoff
  service included, can send to a socket held by another one.

Limitations:
    A bot reply emitted while the user's socket is disconnected is lost for
    that socket; the widget shows the transcript it stored itself. Counsellor
    and system messages are not lost: they stay undelivered until the widget
    acknowledges them.
"""

import functools
import logging
import re
import sys
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Text

import socketio
from redis import asyncio as aioredis
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, response
from sanic.request import Request
from sanic.exceptions import ServerError
from sanic.response import HTTPResponse

from connectors.handoff_bridge import HandoffBridge, valid_message_ids
from connectors.rate_limit import DEFAULT_MAX_MESSAGES_PER_MINUTE, RateLimit, limit_from_setting
from connectors.user_input import (
    COORDINATE_DECIMALS,
    DEFAULT_MAX_MESSAGE_CHARS,
    OfferedPayloads,
    clean_typed_text,
    is_payload,
    location_payload,
    replace_lone_surrogates,
)
from connectors.senders import WIDGET_SOCKETIO_CHANNEL
from connectors.widget import messages
from knowledge.helplines import load_helplines

logger = logging.getLogger(__name__)

CHANNEL_NAME = "widget"

# Session ids are random hex strings made by this channel or by Rasa's own
# clients (uuid4().hex). Anything else is replaced by a new id.
_SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# Payloads accepted without having been offered: the widget's permanent
# « Parler à un conseiller » button sends this one.
ALWAYS_ALLOWED_PAYLOADS = frozenset({"/ask_counsellor"})

# Text stored for the counsellor in place of a position shared during a
# handoff. The rounded coordinates are stored as the message payload.
LOCATION_HANDOFF_TEXT = "📍 Position partagée"

# Maximum length of a button title stored as the text of a button press during a handoff.
MAX_BUTTON_TITLE_CHARS = 200

# Event that tells the widget that a message went to the counsellors, so that
# it does not show the assistant as typing a reply.
HANDOFF_STATUS_EVENT = "handoff_status"


def _new_session_id() -> Text:
    return uuid.uuid4().hex


def valid_session_id(value: Any) -> Optional[Text]:
    """Return the value if it is an acceptable session id, else None."""
    if isinstance(value, str) and _SESSION_ID_PATTERN.match(value):
        return value
    return None


class WidgetOutput(OutputChannel):
    """Sends bot messages to the sockets of one session."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(
        self,
        sio: socketio.AsyncServer,
        offered_payloads: Optional[OfferedPayloads] = None,
        bot_message_evt: Text = "bot_uttered",
    ) -> None:
        self.sio = sio
        self.offered_payloads = offered_payloads
        self.bot_message_evt = bot_message_evt
        self.sent_count = 0

    async def _emit(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await self.sio.emit(self.bot_message_evt, message, room=recipient_id)
        self.sent_count += 1

    async def _remember(self, recipient_id: Text, buttons: Iterable[Dict]) -> None:
        if self.offered_payloads is None:
            return
        payloads = [b.get("payload") for b in buttons if isinstance(b, dict)]
        await self.offered_payloads.remember(
            recipient_id, [p for p in payloads if isinstance(p, str)]
        )

    async def send_text_message(
        self, recipient_id: Text, text: Text, **kwargs: Any
    ) -> None:
        """Send a text, one socket message per paragraph as Rasa's channel does."""
        for part in text.strip().split("\n\n"):
            await self._emit(recipient_id, {"text": part})

    async def send_text_with_buttons(
        self,
        recipient_id: Text,
        text: Text,
        buttons: List[Dict[Text, Any]],
        **kwargs: Any,
    ) -> None:
        """Send a text with buttons attached to its last paragraph."""
        await self._remember(recipient_id, buttons)

        parts = text.strip().split("\n\n") or [text]
        for part in parts[:-1]:
            await self._emit(recipient_id, {"text": part})
        quick_replies = [
            {
                "content_type": "text",
                "title": button.get("title", ""),
                "payload": button.get("payload", ""),
            }
            for button in buttons
        ]
        await self._emit(
            recipient_id, {"text": parts[-1], "quick_replies": quick_replies}
        )

    async def send_quick_replies(
        self,
        recipient_id: Text,
        text: Text,
        quick_replies: List[Dict[Text, Any]],
        **kwargs: Any,
    ) -> None:
        """Send quick replies, shown like buttons by the widget."""
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        """Send structured content (place cards, training cards, notices)."""
        await self._emit(recipient_id, {"custom": json_message})

    async def send_image_url(
        self, recipient_id: Text, image: Text, **kwargs: Any
    ) -> None:
        """Send an image in the attachment format of Rasa's socket.io channel."""
        await self._emit(
            recipient_id, {"attachment": {"type": "image", "payload": {"src": image}}}
        )

    async def send_attachment(  # type: ignore[override]
        self, recipient_id: Text, attachment: Dict[Text, Any], **kwargs: Any
    ) -> None:
        """Send an attachment."""
        await self._emit(recipient_id, {"attachment": attachment})

    async def send_elements(
        self, recipient_id: Text, elements: Iterable[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Send generic-template elements, one message per element."""
        for element in elements:
            await self._emit(
                recipient_id,
                {
                    "attachment": {
                        "type": "template",
                        "payload": {"template_type": "generic", "elements": element},
                    }
                },
            )


class WidgetInput(InputChannel):
    """Socket.io channel of the web chat widget."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Create the channel from its block of credentials.yml.

        The human handoff is on unless the block sets ``handoff: false``; it
        reads its settings (HANDOFF_DATABASE_URL, REDIS_URL) from the
        environment.
        """
        credentials = credentials or {}
        bridge = None
        if str(credentials.get("handoff", "true")).strip().lower() not in ("false", "0", "no", "off"):
            bridge = HandoffBridge.from_environment()
            bridge.check_database()
        return cls(
            redis_url=credentials.get("redis_url") or "redis://127.0.0.1:6379/0",
            cors_allowed_origins=credentials.get("cors_allowed_origins") or "*",
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            max_message_chars=int(
                credentials.get("max_message_chars") or DEFAULT_MAX_MESSAGE_CHARS
            ),
            max_messages_per_minute=limit_from_setting(credentials.get("max_messages_per_minute")),
            handoff_bridge=bridge,
        )

    def __init__(
        self,
        redis_url: Text = "redis://127.0.0.1:6379/0",
        cors_allowed_origins: Text = "*",
        socketio_path: Text = "/socket.io",
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
        max_messages_per_minute: int = DEFAULT_MAX_MESSAGES_PER_MINUTE,
        user_message_evt: Text = "user_uttered",
        bot_message_evt: Text = "bot_uttered",
        handoff_bridge: Optional[HandoffBridge] = None,
    ) -> None:
        """Create the channel.

        Args:
            redis_url: Redis used for the socket.io message queue and the
                offered payloads.
            cors_allowed_origins: Comma-separated origins allowed to open a
                socket, or ``*`` for any.
            socketio_path: HTTP path of the socket.io endpoint.
            max_message_chars: Maximum length of a text handed to Rasa.
            max_messages_per_minute: Messages a session may send in one
                minute (`connectors.rate_limit`); 0 turns the limit off.
            user_message_evt: Event name of user messages.
            bot_message_evt: Event name of bot messages.
            handoff_bridge: The human handoff; None turns it off, and every
                message then goes to Rasa.
        """
        self.redis_url = redis_url
        self.cors_allowed_origins = _parse_origins(cors_allowed_origins)
        self.socketio_path = socketio_path
        self.max_message_chars = max_message_chars
        self.max_messages_per_minute = max_messages_per_minute
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.sio: Optional[socketio.AsyncServer] = None
        self.offered_payloads: Optional[OfferedPayloads] = None
        self.rate_limit: Optional[RateLimit] = None
        self.handoff_bridge = handoff_bridge

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Return an output channel, used by Rasa's API to reach this channel."""
        if self.sio is None:
            return None
        return WidgetOutput(self.sio, self.offered_payloads, self.bot_message_evt)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Create the Sanic blueprint that contains the socket.io server."""
        sio = socketio.AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.cors_allowed_origins,
            client_manager=socketio.AsyncRedisManager(
                self.redis_url, channel=WIDGET_SOCKETIO_CHANNEL
            ),
        )
        redis_client = aioredis.Redis.from_url(self.redis_url)
        logging.getLogger("sanic.error").addFilter(_SocketCloseErrorFilter())
        self.sio = sio
        self.offered_payloads = OfferedPayloads(redis_client, CHANNEL_NAME)
        self.rate_limit = RateLimit(redis_client, CHANNEL_NAME, self.max_messages_per_minute)
        handler = _MessageHandler(self, on_new_message)

        widget_webhook = SocketBlueprint(
            sio, self.socketio_path, "widget_webhook", __name__
        )

        @widget_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @widget_webhook.route("/helplines", methods=["GET", "OPTIONS"])
        async def helplines(request: Request) -> HTTPResponse:
            headers = self._cors_headers(request)
            if request.method == "OPTIONS":
                return response.empty(headers=headers)
            return response.json(load_helplines().to_dict(), headers=headers)

        @sio.on("connect")
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            logger.debug("Socket %s connected.", sid)
            return True

        @sio.on("disconnect")
        async def disconnect(sid: Text) -> None:
            logger.debug("Socket %s disconnected.", sid)

        @sio.on("session_request")
        async def session_request(sid: Text, data: Any = None) -> None:
            await handler.start_session(sid, data)

        @sio.on(self.user_message_evt)
        async def user_uttered(sid: Text, data: Any = None) -> None:
            await handler.handle(sid, data)

        @sio.on("message_ack")
        async def message_ack(sid: Text, data: Any = None) -> None:
            await handler.acknowledge(sid, data)

        @sio.on("user_typing")
        async def user_typing(sid: Text, data: Any = None) -> None:
            await handler.user_typing(sid)

        return widget_webhook

    def _cors_headers(self, request: Request) -> Dict[Text, Text]:
        origin = request.headers.get("origin")
        if self.cors_allowed_origins == "*":
            return {"Access-Control-Allow-Origin": "*"}
        if origin and origin in self.cors_allowed_origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {}


class _SocketCloseErrorFilter(logging.Filter):
    """Drop Sanic's error record for every closed socket.io WebSocket.

    python-engineio's Sanic driver returns no response when a WebSocket
    closes, and Sanic 21.12 logs that as a ServerError with a traceback,
    once per connection. The connection was closed normally.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            isinstance(error, ServerError) and "Invalid response type None" in str(error)
        )


def _parse_origins(value: Text) -> Any:
    value = (value or "").strip()
    if value in ("", "*"):
        return "*"
    return [origin.strip() for origin in value.split(",") if origin.strip()]


@dataclass
class _Incoming:
    """One user message, read and checked.

    Attributes:
        rasa_text: what Rasa receives: typed text cut to the length limit,
            or a payload.
        truncated: whether `rasa_text` was cut.
        handoff_text: what a counsellor reads: the whole typed text, the
            title of a button, or a note for a shared position.
        handoff_payload: structured content stored with `handoff_text`, or None.
    """

    rasa_text: Text
    truncated: bool
    handoff_text: Text
    handoff_payload: Optional[Dict[Text, Any]] = None


class _MessageHandler:
    """Turns socket events into handoff messages or Rasa user messages."""

    def __init__(
        self,
        channel: WidgetInput,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        self.channel = channel
        self.on_new_message = on_new_message

    @property
    def sio(self) -> socketio.AsyncServer:
        assert self.channel.sio is not None
        return self.channel.sio

    @property
    def bridge(self) -> Optional[HandoffBridge]:
        return self.channel.handoff_bridge

    async def _notify(self, room: Text, text: Text) -> None:
        await self.sio.emit(self.channel.bot_message_evt, {"text": text}, room=room)

    async def start_session(self, sid: Text, data: Any) -> Text:
        """Confirm a session id to a socket, make the socket join its room, and deliver pending messages."""
        requested = data.get("session_id") if isinstance(data, dict) else None
        session_id = valid_session_id(requested) or _new_session_id()
        if requested and requested != session_id:
            logger.info("Socket %s sent an invalid session id; issued a new one.", sid)

        previous = await self._confirmed_session(sid)
        if previous and previous != session_id:
            # « Nouvelle conversation » on a shared computer: the old
            # session's messages, a counsellor's included, must stop here.
            self.sio.leave_room(sid, previous)
        self.sio.enter_room(sid, session_id)
        await self.sio.save_session(sid, {"session_id": session_id})
        await self.sio.emit("session_confirm", session_id, room=sid)
        logger.debug("Socket %s joined session %s.", sid, session_id)
        await self._deliver_pending(sid, session_id)
        return session_id

    async def _deliver_pending(self, sid: Text, session_id: Text) -> None:
        """Send this socket the counsellor messages that no socket of the session acknowledged."""
        if self.bridge is None:
            return

        async def send(message: Dict[Text, Any]) -> None:
            await self.sio.emit(self.channel.bot_message_evt, message, room=sid)

        try:
            await self.bridge.deliver_pending(CHANNEL_NAME, session_id, send)
        except Exception:
            # The session works without them: they stay undelivered in SQL
            # and are sent again on the next connection.
            logger.exception("Delivering pending handoff messages to session %s failed.", session_id)

    async def _confirmed_session(self, sid: Text) -> Optional[Text]:
        try:
            session = await self.sio.get_session(sid)
        except KeyError:
            return None
        return session.get("session_id") if session else None

    async def _session_of(self, sid: Text, data: Dict) -> Text:
        confirmed = await self._confirmed_session(sid)
        if confirmed:
            return confirmed
        # A client that skipped session_request gets one implicitly, as
        # Rasa's own clients sometimes send the first message at once.
        return await self.start_session(sid, {"session_id": data.get("session_id")})

    async def handle(self, sid: Text, data: Any) -> None:
        """Handle one ``user_uttered`` event."""
        if not isinstance(data, dict):
            logger.warning("Socket %s sent a message that is not an object.", sid)
            await self._notify(sid, messages.MALFORMED_MESSAGE)
            return

        sender_id = await self._session_of(sid, data)
        if not await self._within_rate_limit(sender_id):
            return

        incoming = await self._read_message(sender_id, data)
        if incoming is None:
            return

        if await self._route_to_counsellor(sender_id, incoming):
            return

        if incoming.truncated:
            logger.info("Session %s sent a message longer than the limit.", sender_id)
            await self._notify(sender_id, messages.TRUNCATED_MESSAGE)

        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}

        output = WidgetOutput(
            self.sio, self.channel.offered_payloads, self.channel.bot_message_evt
        )
        message = UserMessage(
            incoming.rasa_text,
            output,
            sender_id,
            input_channel=CHANNEL_NAME,
            metadata=metadata,
        )
        try:
            await self.on_new_message(message)
        except Exception:
            logger.exception("Handling a message of session %s failed.", sender_id)
            await self._notify(sender_id, messages.TECHNICAL_PROBLEM)
            return

        if output.sent_count == 0:
            # Rasa logs faults of the action server and goes on, so the user
            # must be told that the message got no reply.
            logger.warning("A message of session %s produced no reply.", sender_id)
            await self._notify(sender_id, messages.TECHNICAL_PROBLEM)

    async def _within_rate_limit(self, sender_id: Text) -> bool:
        """Count the message against the session's rate limit; return False when it must be left out."""
        assert self.channel.rate_limit is not None

        async def notify(text: Text) -> None:
            await self._notify(sender_id, text)

        in_handoff: Optional[Callable[[], Awaitable[bool]]] = None
        if self.bridge is not None:
            in_handoff = functools.partial(self._in_handoff, sender_id)
        return await self.channel.rate_limit.admit(sender_id, notify, f"Session {sender_id}", in_handoff)

    async def _in_handoff(self, sender_id: Text) -> bool:
        """Return whether the session's conversation is queued for a counsellor or taken by one."""
        assert self.bridge is not None
        return await self.bridge.router.route(CHANNEL_NAME, sender_id) is not None

    async def _route_to_counsellor(self, sender_id: Text, incoming: _Incoming) -> bool:
        """Give the message to the human handoff; return True when a counsellor gets it instead of Rasa."""
        if self.bridge is None:
            return False
        async def send(message: Dict[Text, Any]) -> None:
            await self.sio.emit(self.channel.bot_message_evt, message, room=sender_id)

        try:
            routed = await self.bridge.handle_user_message(
                CHANNEL_NAME, sender_id, incoming.handoff_text, incoming.handoff_payload, send
            )
        except Exception:
            # A fault in the handoff must never silence the bot.
            logger.exception("The handoff failed on a message of session %s, Rasa handles it.", sender_id)
            return False
        if routed:
            await self.sio.emit(HANDOFF_STATUS_EVENT, {"with_counsellor": True}, room=sender_id)
        return routed

    async def acknowledge(self, sid: Text, data: Any) -> None:
        """Handle one ``message_ack`` event: the widget showed these counsellor messages."""
        sender_id = await self._confirmed_session(sid)
        if sender_id is None or self.bridge is None or not isinstance(data, dict):
            return
        message_ids = valid_message_ids(data.get("message_ids"))
        if not message_ids:
            return
        try:
            await self.bridge.acknowledge(CHANNEL_NAME, sender_id, message_ids)
        except Exception:
            logger.exception("Recording acknowledged messages of session %s failed.", sender_id)

    async def user_typing(self, sid: Text) -> None:
        """Handle one ``user_typing`` event: the console shows it while a counsellor has the conversation."""
        sender_id = await self._confirmed_session(sid)
        if sender_id is None or self.bridge is None:
            return
        try:
            await self.bridge.user_typing(CHANNEL_NAME, sender_id)
        except Exception:
            logger.exception("Forwarding typing of session %s failed.", sender_id)

    async def _read_message(self, sender_id: Text, data: Dict) -> Optional[_Incoming]:
        """Read a ``user_uttered`` event, or return None when the channel replied itself."""
        location = data.get("location")
        if location is not None:
            return await self._read_location(sender_id, location)

        raw = data.get("message")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            logger.warning("Session %s sent a message whose text is not a string.", sender_id)
            await self._notify(sender_id, messages.MALFORMED_MESSAGE)
            return None
        raw = replace_lone_surrogates(raw)

        if is_payload(raw):
            payload = raw.strip()
            if await self._payload_allowed(sender_id, payload):
                return _Incoming(
                    rasa_text=payload,
                    truncated=False,
                    handoff_text=_button_title(data.get("title")) or payload,
                    handoff_payload={"type": "button", "payload": payload},
                )
            logger.info(
                "Session %s sent a payload that was not offered; read as text.",
                sender_id,
            )

        text, truncated = clean_typed_text(raw, self.channel.max_message_chars)
        if not text:
            await self._notify(sender_id, messages.EMPTY_MESSAGE)
            return None
        # A counsellor reads the whole message: the limit protects the NLU
        # pipeline only.
        whole_text = clean_typed_text(raw, sys.maxsize)[0] if truncated else text
        return _Incoming(rasa_text=text, truncated=truncated, handoff_text=whole_text)

    async def _payload_allowed(self, sender_id: Text, payload: Text) -> bool:
        if payload in ALWAYS_ALLOWED_PAYLOADS:
            return True
        assert self.channel.offered_payloads is not None
        return await self.channel.offered_payloads.was_offered(sender_id, payload)

    async def _read_location(self, sender_id: Text, location: Any) -> Optional[_Incoming]:
        payload = None
        if isinstance(location, dict):
            payload = location_payload(location.get("latitude"), location.get("longitude"))
        if payload is None:
            logger.info("Session %s sent an invalid position.", sender_id)
            await self._notify(sender_id, messages.INVALID_POSITION)
            return None
        # location_payload accepted the values, so they convert to floats.
        coordinates = {
            "type": "location",
            "latitude": round(float(location["latitude"]), COORDINATE_DECIMALS),
            "longitude": round(float(location["longitude"]), COORDINATE_DECIMALS),
        }
        return _Incoming(
            rasa_text=payload,
            truncated=False,
            handoff_text=LOCATION_HANDOFF_TEXT,
            handoff_payload=coordinates,
        )


def _button_title(value: Any) -> Optional[Text]:
    """Return the cleaned title that the widget sent with a button press, or None."""
    if not isinstance(value, str):
        return None
    title, _ = clean_typed_text(value, MAX_BUTTON_TITLE_CHARS)
    return title or None
