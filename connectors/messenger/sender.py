"""Deliver counsellor and system messages to Messenger users, from any process.

The handoff service gets this sender through `connectors.senders.get_sender`
("messenger"), which calls `sender_from_environment`. A message is a
widget-protocol dict built by `connectors.handoff_bridge.message_for_user`;
it is rendered by `connectors.messenger.render.handoff_messages`.

A counsellor reply goes out with ``messaging_type: RESPONSE`` within 24
hours of the user's last message, and with the ``HUMAN_AGENT`` tag after
that (or when the time is unknown), which Messenger accepts for 7 days.
When Messenger reports that a RESPONSE came outside the window, the message
is sent again once with the tag. Rejections raise `DeliveryError` with a
French reason for the counsellor.

Environment: MESSENGER_PAGES_FILE (unset: no sender), the token variables
that the file names, MESSENGER_GRAPH_API_URL, MESSENGER_APP_SECRET
(optional, for ``appsecret_proof``), and the retry settings of
`connectors.messenger.graph_api.retry_policy_from_environment`.
"""

import logging
import os
import time
from typing import Any, Dict, Mapping, Optional, Text, Tuple

from redis.asyncio import Redis

from connectors.messenger import messages, render
from connectors.messenger.graph_api import (
    DEFAULT_GRAPH_API_URL,
    GraphApiClient,
    GraphApiError,
    retry_policy_from_environment,
)
from connectors.messenger.ids import split_sender_id, user_ref
from connectors.messenger.pages import Page, PagesConfigError, load_pages
from connectors.messenger.window import HUMAN_AGENT_TAG, MESSAGE_TAG, RESPONSE, MessagingWindow
from connectors.senders import DeliveryError, SentParts

logger = logging.getLogger(__name__)

# How long after the user's last message Meta's policy allows a reply with
# the HUMAN_AGENT tag.
HUMAN_AGENT_WINDOW_SECONDS = 7 * 24 * 3600

# Subcodes of Meta's error 10 that mean « outside the allowed messaging window ».
# NOTE: 2018065 and 2018001 below were not checked against Meta's current
# error-code page.
WINDOW_SUBCODES = frozenset({2018065, 2018108, 2018278})
# Error 551: « This person isn't available right now »; 100/2018001: « No matching user found ».
BLOCKED_CODE = 551
NO_MATCHING_USER = (100, 2018001)
INVALID_TOKEN_CODE = 190
PERMISSION_CODES = frozenset({10, *range(200, 300)})
INVALID_PARAMETER_CODE = 100


def is_window_error(error: GraphApiError) -> bool:
    """Return whether Meta rejected a message because the messaging window is closed."""
    return error.subcode in WINDOW_SUBCODES


def delivery_error(error: GraphApiError) -> DeliveryError:
    """Map a Graph API error to the `DeliveryError` and the French reason the counsellor reads."""
    if error.transient:
        return DeliveryError(messages.DELIVERY_UNAVAILABLE, permanent=False)
    if error.code == BLOCKED_CODE or (error.code, error.subcode) == NO_MATCHING_USER:
        reason = messages.DELIVERY_BLOCKED
    elif is_window_error(error):
        reason = messages.DELIVERY_WINDOW_CLOSED
    elif error.code == INVALID_TOKEN_CODE:
        reason = messages.DELIVERY_TOKEN_INVALID
    elif error.code in PERMISSION_CODES:
        reason = messages.DELIVERY_NOT_ALLOWED
    elif error.code == INVALID_PARAMETER_CODE:
        reason = messages.DELIVERY_INVALID_MESSAGE
    else:
        reason = messages.delivery_rejected(error.code if error.code is not None else f"HTTP {error.status}")
    return DeliveryError(reason, permanent=True)


class MessengerSender:
    """Sends widget-protocol messages to Messenger users of the configured pages.

    Args:
        pages: The pages by id, with their access tokens.
        graph_api: The Graph API client.
        window: When each user last wrote, to choose the messaging type.
    """

    confirms_delivery = True

    def __init__(self, pages: Dict[Text, Page], graph_api: GraphApiClient, window: MessagingWindow) -> None:
        self.pages = pages
        self.graph_api = graph_api
        self.window = window
        self.sent_parts = SentParts()

    def _recipient(self, sender_id: Text) -> Tuple[Page, Text]:
        parts = split_sender_id(sender_id)
        page = self.pages.get(parts[0]) if parts else None
        if parts is None or page is None:
            logger.error("No configured Messenger page for conversation user %s.", user_ref(str(sender_id)))
            raise DeliveryError(messages.DELIVERY_UNKNOWN_PAGE, permanent=True)
        return page, parts[1]

    async def send(self, sender_id: Text, message: Dict[Text, Any]) -> None:
        """Send one counsellor or system message, in as many Messenger messages as it needs.

        Raises:
            DeliveryError: Messenger refused it, or the retries ran out.
        """
        page, psid = self._recipient(sender_id)
        outgoing = render.handoff_messages(message)
        if not outgoing:
            logger.warning("Handoff message %s has nothing to show on Messenger.", message.get("message_id"))
            return
        messaging_type, tag = await self.window.messaging_type(sender_id)
        message_id = message.get("message_id")
        if tag is not None and message.get("author") != "counsellor":
            # Meta reserves the HUMAN_AGENT tag for what a person writes: an
            # automatic notice outside the 24-hour window is not sent.
            logger.info("Handoff notice %s not sent to Messenger: the 24-hour window is closed.", message_id)
            raise DeliveryError(messages.DELIVERY_NOTICE_TOO_LATE, permanent=True)
        start = self.sent_parts.already_sent(message_id)
        for index, item in enumerate(outgoing[start:], start=start):
            try:
                messaging_type, tag = await self._send_one(page, psid, sender_id, item, messaging_type, tag)
            except DeliveryError as error:
                self.sent_parts.record(message_id, index)
                if error.reason == messages.DELIVERY_WINDOW_CLOSED:
                    raise await self._window_failure(sender_id) from None
                raise
        self.sent_parts.complete(message_id)
        logger.info(
            "Handoff message %s sent to Messenger page %s (%s).", message.get("message_id"), page.page_id, tag or messaging_type
        )

    async def _send_one(
        self, page: Page, psid: Text, sender_id: Text, item: Dict[Text, Any], messaging_type: Text, tag: Optional[Text]
    ) -> Tuple[Text, Optional[Text]]:
        """Send one Messenger message; return the messaging type and tag that worked."""
        try:
            await self.graph_api.send_message(page.access_token, psid, item, messaging_type=messaging_type, tag=tag)
            return messaging_type, tag
        except GraphApiError as error:
            if messaging_type != RESPONSE or not is_window_error(error):
                raise self._delivery_failure(page, sender_id, error) from None
            logger.info(
                "Messenger page %s: the 24-hour window of user %s is closed, sending with the HUMAN_AGENT tag.",
                page.page_id, user_ref(sender_id),
            )
        try:
            await self.graph_api.send_message(
                page.access_token, psid, item, messaging_type=MESSAGE_TAG, tag=HUMAN_AGENT_TAG
            )
        except GraphApiError as error:
            raise self._delivery_failure(page, sender_id, error) from None
        return MESSAGE_TAG, HUMAN_AGENT_TAG

    async def _window_failure(self, sender_id: Text) -> DeliveryError:
        """Say why Messenger refused a reply outside the window, from the time of the user's last message.

        Within 7 days the tagged reply is allowed by Meta's policy, so the
        refusal means that the app lacks the Human Agent permission.
        """
        last = await self.window.last_user_message(sender_id)
        if last is None:
            return DeliveryError(messages.DELIVERY_WINDOW_UNKNOWN, permanent=True)
        if time.time() - last < HUMAN_AGENT_WINDOW_SECONDS:
            return DeliveryError(messages.DELIVERY_HUMAN_AGENT_REFUSED, permanent=True)
        return DeliveryError(messages.DELIVERY_WINDOW_CLOSED, permanent=True)

    @staticmethod
    def _delivery_failure(page: Page, sender_id: Text, error: GraphApiError) -> DeliveryError:
        delivery = delivery_error(error)
        logger.error(
            "Messenger page %s did not take a message to user %s (%s, trace %s): %s",
            page.page_id, user_ref(sender_id), "permanent" if delivery.permanent else "retries exhausted",
            error.fbtrace_id, error,
        )
        return delivery

    async def send_typing(self, sender_id: Text, typing: bool) -> None:
        """Show or hide the typing indicator. A Graph API failure is logged and not raised."""
        try:
            page, psid = self._recipient(sender_id)
        except DeliveryError:
            return
        action = "typing_on" if typing else "typing_off"
        try:
            await self.graph_api.send_action(page.access_token, psid, action)
        except GraphApiError as error:
            logger.info("Messenger page %s: %s not sent to user %s: %s", page.page_id, action, user_ref(sender_id), error)


def sender_from_environment(redis_url: Text, environ: Optional[Mapping[Text, Text]] = None) -> Optional[MessengerSender]:
    """Build the sender from the environment, or return None when Messenger is not configured.

    Args:
        redis_url: Redis holding the time of each user's last message.
        environ: The environment; the process environment by default.
    """
    environ = os.environ if environ is None else environ
    path = (environ.get("MESSENGER_PAGES_FILE") or "").strip()
    if not path:
        return None
    try:
        pages = load_pages(path, environ)
    except PagesConfigError as error:
        logger.error("Messenger sender unavailable: %s", error)
        return None
    if not pages:
        logger.error("Messenger sender unavailable: no page of %s has an access token.", path)
        return None
    try:
        graph_api = GraphApiClient(
            (environ.get("MESSENGER_GRAPH_API_URL") or "").strip() or DEFAULT_GRAPH_API_URL,
            retry_policy_from_environment(environ),
            app_secret=(environ.get("MESSENGER_APP_SECRET") or "").strip() or None,
        )
    except ValueError as error:
        logger.error("Messenger sender unavailable: %s", error)
        return None
    return MessengerSender(pages, graph_api, MessagingWindow(Redis.from_url(redis_url)))
