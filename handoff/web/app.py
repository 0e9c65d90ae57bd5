"""The Sanic application of the counsellor console.

`create_app(settings)` builds the app; `serve(settings, host=, port=)` runs
it in a single process without access log (request lines carry the
counsellors' IP addresses). Started with the app:

- a Redis client, the routing cache and the Rasa tracker client;
- the subscriber of the handoff events, which pushes them to the open pages;
- the heartbeat, which marks connected counsellors as present;
- the release task, which puts back in the queue the conversations of
  counsellors disconnected for longer than HANDOFF_GRACE_SECONDS.

Every response gets the security headers: a Content-Security-Policy without
inline script or style, `X-Frame-Options: DENY`, `Referrer-Policy:
no-referrer`, `X-Content-Type-Options: nosniff`, and `Cache-Control:
no-store` except on static files.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import warnings
from pathlib import Path
from typing import Optional

from redis.asyncio import Redis
from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler
from sanic.request import Request
from sanic.response import HTTPResponse

from .. import events
from ..config import HandoffSettings
from ..db import get_sessionmaker
from ..rasa_client import RasaClient
from ..routing import Router
from .auth import LoginRateLimiter, SessionStore, register_auth_routes, require_login
from .options import ConsoleOptions
from .places import PlaceSearch
from .rendering import Renderer, error_response
from .service import ConsoleService
from .views import register_views
from .ws import QUEUE_PERIODIC_REFRESH_SECONDS, Hub, register_websocket

__all__ = ["create_app", "serve"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Bodies of the console's forms and JSON calls are small: a message is at most 5,000 characters.
REQUEST_MAX_SIZE = 256 * 1024
# Browser → server WebSocket messages are typing notices.
WEBSOCKET_MAX_SIZE = 16 * 1024
EVENTS_RETRY_SECONDS = (1, 2, 5, 10, 30)
_HOST_PATTERN = re.compile(r"[A-Za-z0-9.\-:\[\]]+")
_app_numbers = itertools.count(1)

MESSAGE_SERVER_ERROR = "Une erreur est survenue sur le serveur. Réessayez ; si elle se répète, prévenez l'équipe technique."
ERROR_MESSAGES = {
    400: "Requête invalide.",
    404: "Cette page n'existe pas.",
    405: "Cette action n'est pas possible à cette adresse.",
    413: "Envoi trop volumineux.",
    503: "Le service est momentanément indisponible : réessayez dans un instant.",
}


class ConsoleErrorHandler(ErrorHandler):
    """Renders errors in French and logs them without the query string, which may carry a token."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        status = getattr(exception, "status_code", 500) if isinstance(exception, SanicException) else 500
        if status >= 500:
            logger.error(
                "Unhandled error on %s %s",
                getattr(request, "method", "?"),
                getattr(request, "path", "?"),
                exc_info=exception,
            )
        message = ERROR_MESSAGES.get(status, MESSAGE_SERVER_ERROR if status >= 500 else ERROR_MESSAGES[400])
        return error_response(request, status, message)

    @staticmethod
    def log(request: Request, exception: Exception) -> None:
        if getattr(exception, "quiet", False):
            return
        logger.error("Error on %s: %s", getattr(request, "path", "?"), type(exception).__name__, exc_info=exception)


class _WebSocketChatterFilter(logging.Filter):
    """Drops the « connection open » notices that the websockets library logs at INFO on `sanic.error`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not str(record.msg).startswith("connection ")


def content_security_policy(request: Request) -> str:
    """Return the CSP of a response: own origin only, and WebSockets to the host the page came from."""
    host = request.host if _HOST_PATTERN.fullmatch(request.host or "") else ""
    connect = "'self'" + (f" ws://{host} wss://{host}" if host else "")
    return (
        "default-src 'self'; "
        f"connect-src {connect}; "
        "img-src 'self'; style-src 'self'; script-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    )


async def add_security_headers(request: Request, response: HTTPResponse) -> None:
    """Response middleware: the security headers of every response."""
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(request)
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-cache"
    else:
        headers["Cache-Control"] = "no-store"


def _app_name() -> str:
    # Sanic keeps a registry of app names per process; tests build several apps.
    number = next(_app_numbers)
    return "handoff_console" if number == 1 else f"handoff_console_{number}"


def create_app(settings: HandoffSettings, options: Optional[ConsoleOptions] = None) -> Sanic:
    """Build the console application.

    Args:
        settings: handoff settings (database, Redis, Rasa, SMTP, grace period).
        options: console-only settings; None reads them from the environment.
    """
    options = options or ConsoleOptions.from_env()
    app = Sanic(_app_name(), error_handler=ConsoleErrorHandler(), configure_logging=False)
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_SIZE
    app.config.WEBSOCKET_MAX_SIZE = WEBSOCKET_MAX_SIZE
    app.config.ACCESS_LOG = False
    app.config.MOTD = False
    app.config.FALLBACK_ERROR_FORMAT = "html"

    app.ctx.settings = settings
    app.ctx.options = options
    app.ctx.renderer = Renderer()
    app.ctx.places = PlaceSearch()
    app.ctx.hub = Hub()
    app.ctx.sessions = SessionStore(get_sessionmaker(settings.database_url))
    app.ctx.tasks = []

    app.register_middleware(require_login, "request")
    app.register_middleware(add_security_headers, "response")
    app.static("/static", str(STATIC_DIR), name="static")
    register_auth_routes(app)
    register_views(app)
    register_websocket(app)

    @app.before_server_start
    async def start_services(app: Sanic, _loop) -> None:
        session_factory = get_sessionmaker(settings.database_url)
        redis = Redis.from_url(settings.redis_url)
        router = Router(redis, session_factory, key_prefix=options.redis_key_prefix)
        rasa = RasaClient.from_settings(settings)
        app.ctx.redis = redis
        app.ctx.rasa = rasa
        app.ctx.login_limiter = LoginRateLimiter(redis, options.redis_key_prefix)
        app.ctx.service = ConsoleService(
            settings, session_factory, redis, router, rasa, options.events_channel, app.ctx.hub
        )
        app.ctx.hub.service = app.ctx.service
        app.ctx.hub.sessions = app.ctx.sessions

    @app.after_server_start
    async def start_tasks(app: Sanic, _loop) -> None:
        app.ctx.tasks = [
            asyncio.ensure_future(_listen_events(app)),
            asyncio.ensure_future(_heartbeat_loop(app)),
            asyncio.ensure_future(_release_loop(app)),
        ]
        logger.info(
            "Handoff console started (grace period %d s, events channel %s)",
            settings.grace_seconds,
            options.events_channel,
        )

    @app.before_server_stop
    async def stop_tasks(app: Sanic, _loop) -> None:
        for task in app.ctx.tasks:
            task.cancel()
        await asyncio.gather(*app.ctx.tasks, return_exceptions=True)

    @app.after_server_stop
    async def stop_services(app: Sanic, _loop) -> None:
        await app.ctx.rasa.close()
        await app.ctx.redis.close()
        logger.info("Handoff console stopped")

    return app


async def _listen_events(app: Sanic) -> None:
    """Forward the handoff events from Redis to the open pages, resubscribing after a Redis failure."""
    hub: Hub = app.ctx.hub
    attempt = 0
    while True:
        try:
            async with events.subscribe(app.ctx.redis, channel=app.ctx.options.events_channel) as subscription:
                if attempt:
                    logger.info("Subscribed again to the handoff events")
                attempt = 0
                # Events published while the subscription was down are lost:
                # the pages reload the queue from SQL.
                hub.schedule_queue_refresh()
                async for event in subscription:
                    try:
                        await hub.handle_event(event)
                    except Exception:
                        logger.exception("Handoff event %s of conversation %s not handled",
                                         event.get("type"), event.get("conversation_id"))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - Redis errors, timeouts: retry
            delay = EVENTS_RETRY_SECONDS[min(attempt, len(EVENTS_RETRY_SECONDS) - 1)]
            attempt += 1
            logger.warning("Handoff events subscription failed (%s: %s); retrying in %d s",
                           type(error).__name__, error, delay)
            await asyncio.sleep(delay)


async def _heartbeat_loop(app: Sanic) -> None:
    """Mark connected counsellors as present and push the queue now and then."""
    hub: Hub = app.ctx.hub
    interval = app.ctx.options.heartbeat_seconds
    since_refresh = 0.0
    while True:
        await asyncio.sleep(interval)
        try:
            await hub.heartbeat()
        except Exception:
            logger.exception("Console heartbeat failed")
        since_refresh += interval
        if since_refresh >= QUEUE_PERIODIC_REFRESH_SECONDS:
            since_refresh = 0.0
            hub.schedule_queue_refresh()


async def _release_loop(app: Sanic) -> None:
    """Put back in the queue the conversations whose counsellor has been gone for the grace period,
    and give back to the bot those that waited in the queue longer than the queue timeout."""
    options: ConsoleOptions = app.ctx.options
    await asyncio.sleep(options.release_startup_delay_seconds)
    while True:
        try:
            await app.ctx.service.release_idle()
        except Exception:
            logger.exception("Release of idle conversations failed")
        try:
            await app.ctx.service.expire_waiting()
        except Exception:
            logger.exception("Expiry of waiting conversations failed")
        await asyncio.sleep(options.release_interval_seconds)


def serve(settings: HandoffSettings, *, host: str, port: int) -> None:
    """Run the console in this process until SIGINT or SIGTERM."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sanic.error").addFilter(_WebSocketChatterFilter())
    # Sanic 21.12 passes coroutines to asyncio.wait, which Python 3.10 warns about on every WebSocket message.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"sanic\.")
    app = create_app(settings)
    app.run(host=host, port=port, workers=1, access_log=False, auto_reload=False, debug=False, motd=False)
