"""Rasa input and output channel for Facebook Messenger.

Routes, under ``/webhooks/messenger/``:

* ``GET /webhook``: Meta's verification request. With ``hub.mode=subscribe``
  and the configured ``hub.verify_token``, the response is ``hub.challenge``
  as plain text, and anything else gets 403.
* ``POST /webhook``: event notifications. A missing or wrong
  ``X-Hub-Signature-256`` gets 403, a body that is not JSON or not a page
  notification gets 400. A valid notification gets 200 at once, and its
  events are handled in the background by `connectors.messenger.handler`.
* ``GET /``: health, 200 when the channel is enabled.

Every rejection is logged with its reason (at most once a minute per reason,
with the number of repeats). Without an app secret or a usable pages file
the channel is disabled: Rasa starts, a warning is logged, and the routes
respond with 503 and the reason.

The Rasa sender id of a user is ``"<page id>_<PSID>"``; each message carries
the metadata ``{"page_id": ..., "territory": {...}}`` of its page
(`connectors.messenger.pages`).
"""

import hmac
import json
import logging
import time
from collections import Counter
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from redis import asyncio as aioredis
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.handoff_bridge import HandoffBridge
from connectors.messenger import render
from connectors.messenger.dedup import DEFAULT_KEY_PREFIX as DEDUP_KEY_PREFIX
from connectors.messenger.dedup import EventDeduplicator
from connectors.messenger.events import WebhookError, parse_webhook
from connectors.messenger.graph_api import (
    DEFAULT_GRAPH_API_URL,
    GraphApiClient,
    GraphApiError,
    retry_policy_from_environment,
)
from connectors.messenger.handler import CHANNEL_NAME, EventHandler
from connectors.messenger.ids import split_sender_id, user_ref
from connectors.messenger.pages import Page, PagesConfigError, load_pages
from connectors.messenger.signature import SIGNATURE_HEADER, signature_problem
from connectors.messenger.window import KEY_PREFIX as WINDOW_KEY_PREFIX
from connectors.messenger.window import RESPONSE, MessagingWindow
from connectors.rate_limit import DEFAULT_MAX_MESSAGES_PER_MINUTE, RateLimit, limit_from_setting
from connectors.user_input import DEFAULT_MAX_MESSAGE_CHARS, OfferedPayloads

logger = logging.getLogger(__name__)

# A Redis server that stops answering must not stall the updates: after this
# many seconds a call fails, and the channel goes on without de-duplication.
REDIS_TIMEOUT_SECONDS = 5.0

# Body of the 200 response to a notification, as in Meta's examples.
EVENT_RECEIVED = "EVENT_RECEIVED"
# Minimum interval between two log lines for the same rejection reason.
REJECTION_LOG_INTERVAL_SECONDS = 60.0


class MessengerOutput(OutputChannel):
    """Sends Rasa's replies to a Messenger user through the Send API (``messaging_type: RESPONSE``).

    Graph API errors are logged and not raised, so that one rejected message
    does not stop the next ones. ``reply_count`` counts the messages whose
    sending was attempted, accepted by Meta or not.
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(
        self,
        graph_api: GraphApiClient,
        pages: Dict[Text, Page],
        offered_payloads: Optional[OfferedPayloads] = None,
    ) -> None:
        self.graph_api = graph_api
        self.pages = pages
        self.offered_payloads = offered_payloads
        self.reply_count = 0

    def _recipient(self, recipient_id: Text) -> Optional[Tuple[Page, Text]]:
        parts = split_sender_id(recipient_id)
        page = self.pages.get(parts[0]) if parts else None
        if parts is None or page is None:
            logger.error("Cannot reply to Messenger user %s: no configured page.", user_ref(str(recipient_id)))
            return None
        return page, parts[1]

    async def _send(self, recipient_id: Text, items: Iterable[Dict[Text, Any]]) -> None:
        target = self._recipient(recipient_id)
        if target is None:
            return
        page, psid = target
        for item in items:
            self.reply_count += 1
            try:
                await self.graph_api.send_message(page.access_token, psid, item, messaging_type=RESPONSE)
            except GraphApiError as error:
                logger.error(
                    "Messenger page %s did not take a reply to user %s (trace %s): %s",
                    page.page_id, user_ref(recipient_id), error.fbtrace_id, error,
                )

    async def send_typing_on(self, recipient_id: Text) -> None:
        """Show the typing indicator while Rasa works; Messenger hides it at the next message."""
        target = self._recipient(recipient_id)
        if target is None:
            return
        page, psid = target
        try:
            await self.graph_api.send_action(page.access_token, psid, "typing_on")
        except GraphApiError as error:
            logger.info("Messenger page %s: typing_on not sent to user %s: %s", page.page_id, user_ref(recipient_id), error)

    async def _remember(self, recipient_id: Text, replies: List[Dict[Text, Any]]) -> None:
        if self.offered_payloads is None:
            return
        payloads = [reply["payload"] for item in replies for reply in item.get("quick_replies", [])]
        await self.offered_payloads.remember(recipient_id, payloads)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Send a text, split at Messenger's 2000-character limit on paragraph boundaries."""
        await self._send(recipient_id, render.text_messages(text))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Send a text with its buttons as quick replies, and remember their payloads."""
        items = render.text_with_quick_replies(text, buttons)
        await self._remember(recipient_id, items)
        await self._send(recipient_id, items)

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Send quick replies, as buttons are sent."""
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Send place or training cards as generic templates, and notices as text."""
        await self._send(recipient_id, render.custom_messages(json_message))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        """Send an image by URL."""
        item = render.image_message(image)
        if item is None:
            logger.warning("An image whose URL is not http(s) was left out.")
            return
        await self._send(recipient_id, [item])

    async def send_attachment(  # type: ignore[override]
        self, recipient_id: Text, attachment: Any, **kwargs: Any
    ) -> None:
        """Send an image attachment (``{"type": "image", "payload": {"src" or "url": ...}}``); other kinds are left out."""
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        if isinstance(attachment, dict) and attachment.get("type") == "image" and isinstance(payload, dict):
            await self.send_image_url(recipient_id, payload.get("url") or payload.get("src"))
            return
        logger.warning("An attachment that is not an image was left out.")

    async def send_elements(self, recipient_id: Text, elements: Iterable[Dict[Text, Any]], **kwargs: Any) -> None:
        """Send Messenger generic-template elements as they are, 10 per message."""
        await self._send(recipient_id, render.generic_templates([e for e in elements if isinstance(e, dict)]))


class _RejectionLog:
    """Logs rejected requests at most once per interval and reason, with the number of repeats."""

    def __init__(self, interval_seconds: float = REJECTION_LOG_INTERVAL_SECONDS) -> None:
        self._interval = interval_seconds
        self._last: Dict[Text, float] = {}
        self._repeats: Counter = Counter()

    def warning(self, status: int, reason: Text) -> None:
        now = time.monotonic()
        last = self._last.get(reason)
        if last is not None and now - last < self._interval:
            self._repeats[reason] += 1
            return
        self._last[reason] = now
        repeats = self._repeats.pop(reason, 0)
        suffix = f" ({repeats} more since the last report)" if repeats else ""
        logger.warning("Messenger webhook responded with HTTP %d: %s%s", status, reason, suffix)


class MessengerInput(InputChannel):
    """Webhook of Facebook Messenger, for one or several pages of the same app."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Create the channel from its block of credentials.yml.

        Keys: ``app_secret``, ``verify_token``, ``pages_file``,
        ``graph_api_url`` (default Meta's), ``redis_url``,
        ``max_message_chars``, ``max_messages_per_minute`` and ``handoff`` (``false`` turns the human
        handoff off; its settings come from the environment). An empty
        ``app_secret`` or ``pages_file``, or a pages file that cannot be
        used, disables the channel with a warning instead of stopping Rasa.
        """
        credentials = credentials or {}

        def setting(key: Text) -> Text:
            value = credentials.get(key)
            return str(value).strip() if value is not None else ""

        app_secret = setting("app_secret")
        pages_file = setting("pages_file")
        pages: Dict[Text, Page] = {}
        graph_api: Optional[GraphApiClient] = None
        disabled_reason: Optional[Text] = None
        if not app_secret:
            disabled_reason = "app_secret is empty (set MESSENGER_APP_SECRET)"
        elif not pages_file:
            disabled_reason = "pages_file is empty (set MESSENGER_PAGES_FILE)"
        else:
            try:
                pages = load_pages(pages_file)
                graph_api = GraphApiClient(
                    setting("graph_api_url") or DEFAULT_GRAPH_API_URL,
                    retry_policy_from_environment(),
                    app_secret=app_secret,
                )
            except (PagesConfigError, ValueError) as error:
                disabled_reason = str(error)
            else:
                if not pages:
                    disabled_reason = f"no page of {pages_file} has an access token"

        bridge = None
        handoff_on = setting("handoff").lower() not in ("false", "0", "no", "off")
        if disabled_reason is None and handoff_on:
            bridge = HandoffBridge.from_environment()
            bridge.check_database()
        return cls(
            app_secret=app_secret,
            verify_token=setting("verify_token"),
            pages=pages,
            graph_api=graph_api,
            redis_url=setting("redis_url") or "redis://127.0.0.1:6379/0",
            handoff_bridge=bridge,
            max_message_chars=int(setting("max_message_chars") or DEFAULT_MAX_MESSAGE_CHARS),
            max_messages_per_minute=limit_from_setting(setting("max_messages_per_minute")),
            disabled_reason=disabled_reason,
        )

    def __init__(
        self,
        app_secret: Text = "",
        verify_token: Text = "",
        pages: Optional[Dict[Text, Page]] = None,
        graph_api: Optional[GraphApiClient] = None,
        redis_url: Text = "redis://127.0.0.1:6379/0",
        handoff_bridge: Optional[HandoffBridge] = None,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
        max_messages_per_minute: int = DEFAULT_MAX_MESSAGES_PER_MINUTE,
        disabled_reason: Optional[Text] = None,
        dedup_key_prefix: Text = DEDUP_KEY_PREFIX,
        window_key_prefix: Text = WINDOW_KEY_PREFIX,
    ) -> None:
        """Create the channel.

        Args:
            app_secret: The Facebook app secret, which signs the notifications.
            verify_token: The token typed in the app's webhook settings.
            pages: The pages by id, with their tokens and territories.
            graph_api: The Graph API client.
            redis_url: Redis for de-duplication, offered payloads and the messaging window.
            handoff_bridge: The human handoff; None sends every message to Rasa.
            max_message_chars: Maximum length of a text handed to Rasa.
            max_messages_per_minute: Messages a user may send in one minute
                (`connectors.rate_limit`); 0 turns the limit off.
            disabled_reason: Why the channel is disabled, or None.
            dedup_key_prefix: Prefix of the de-duplication keys; tests use their own.
            window_key_prefix: Prefix of the keys of the users' last message times.
        """
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.pages = pages or {}
        self.graph_api = graph_api
        self.redis_url = redis_url
        self.handoff_bridge = handoff_bridge
        self.max_message_chars = max_message_chars
        self.max_messages_per_minute = max_messages_per_minute
        self.dedup_key_prefix = dedup_key_prefix
        self.window_key_prefix = window_key_prefix
        if disabled_reason is None and (not app_secret or not self.pages or graph_api is None):
            disabled_reason = "app secret, pages or Graph API client missing"
        self.disabled_reason = disabled_reason
        if disabled_reason:
            logger.warning("Messenger channel disabled: %s.", disabled_reason)
        self.offered_payloads: Optional[OfferedPayloads] = None
        self.handler: Optional[EventHandler] = None
        self._rejections = _RejectionLog()

    def _output(self) -> MessengerOutput:
        assert self.graph_api is not None
        return MessengerOutput(self.graph_api, self.pages, self.offered_payloads)

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Return an output channel, used by Rasa's API to reach a Messenger user."""
        if self.disabled_reason or self.offered_payloads is None:
            return None
        return self._output()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Create the Sanic blueprint of the webhook."""
        messenger_webhook = Blueprint("messenger_webhook", __name__)

        if not self.disabled_reason:
            redis_client = aioredis.Redis.from_url(
                self.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self.offered_payloads = OfferedPayloads(redis_client, CHANNEL_NAME)
            self.handler = EventHandler(
                pages=self.pages,
                on_new_message=on_new_message,
                output_factory=self._output,
                offered_payloads=self.offered_payloads,
                deduplicator=EventDeduplicator(redis_client, key_prefix=self.dedup_key_prefix),
                window=MessagingWindow(redis_client, key_prefix=self.window_key_prefix),
                rate_limit=RateLimit(redis_client, CHANNEL_NAME, self.max_messages_per_minute),
                bridge=self.handoff_bridge,
                max_message_chars=self.max_message_chars,
            )

        @messenger_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            if self.disabled_reason:
                return response.json({"status": "disabled", "reason": self.disabled_reason}, status=503)
            return response.json({"status": "ok"})

        @messenger_webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return self._verify(request)

        @messenger_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return self._receive(request)

        return messenger_webhook

    def _reject(self, status: int, reason: Text) -> HTTPResponse:
        self._rejections.warning(status, reason)
        return response.text(reason, status=status)

    def _verify(self, request: Request) -> HTTPResponse:
        """Respond to Meta's verification request."""
        if self.disabled_reason:
            return self._reject(503, f"Messenger channel disabled: {self.disabled_reason}")
        if not self.verify_token:
            return self._reject(403, "verification rejected: no verify token is configured (MESSENGER_VERIFY_TOKEN)")
        if request.args.get("hub.mode") != "subscribe":
            return self._reject(403, "verification rejected: hub.mode is not subscribe")
        token = request.args.get("hub.verify_token") or ""
        if not hmac.compare_digest(token.encode("utf-8"), self.verify_token.encode("utf-8")):
            return self._reject(403, "verification rejected: hub.verify_token does not match")
        challenge = request.args.get("hub.challenge")
        if not challenge:
            return self._reject(400, "verification rejected: hub.challenge is missing")
        logger.info("Messenger webhook verified.")
        return response.text(challenge)

    def _receive(self, request: Request) -> HTTPResponse:
        """Check, parse and schedule a notification, and respond before its events are handled."""
        if self.disabled_reason or self.handler is None:
            return self._reject(503, f"Messenger channel disabled: {self.disabled_reason}")
        body = request.body or b""
        problem = signature_problem(self.app_secret, body, request.headers.get(SIGNATURE_HEADER))
        if problem:
            return self._reject(403, f"invalid signature: {problem}")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return self._reject(400, "the body is not valid JSON")
        try:
            parsed = parse_webhook(data)
        except WebhookError as error:
            return self._reject(400, f"not a Messenger page notification: {error}")

        if parsed.ignored:
            counts = Counter(parsed.ignored)
            logger.info(
                "Messenger notification: left out %d event(s): %s",
                len(parsed.ignored), "; ".join(f"{reason} ×{count}" for reason, count in counts.items()),
            )
        for event in parsed.events:
            self.handler.schedule(event)
        return response.text(EVENT_RECEIVED)
