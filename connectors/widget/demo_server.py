"""Demo web server of the chat widget.

Serves the French demo page at ``/`` with the widget embedded, the widget's
static files at ``/static/``, and the socket.io client that npm installs in
``connectors/widget/node_modules`` at ``/static/socket.io.min.js``. The chat
itself goes from the browser straight to the Rasa server, whose URL is
written into the page.

Run from the repository root::

    python -m connectors.widget.demo_server [--host 127.0.0.1] [--port 8080] \
        [--rasa-url http://127.0.0.1:5005]

The Rasa URL can also be set with the environment variable ``RASA_URL``; the
command-line option wins over it.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Awaitable, Callable, Optional, Sequence
from urllib.parse import urlsplit

from aiohttp import web

logger = logging.getLogger(__name__)

WIDGET_DIR = Path(__file__).resolve().parent
STATIC_DIR = WIDGET_DIR / "static"
DEMO_DIR = WIDGET_DIR / "demo"
SOCKET_IO_DIST_DIR = WIDGET_DIR / "node_modules" / "socket.io-client" / "dist"
SOCKET_IO_FILES = ("socket.io.min.js", "socket.io.min.js.map")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
RASA_URL_PLACEHOLDER = "{{RASA_URL}}"

# Host names and IP literals only: anything else could break out of the
# Content-Security-Policy header, where the origin is written unescaped.
_HOST_PATTERN = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DemoServerError(Exception):
    """Configuration or installation problem that prevents the server from starting."""


def rasa_origins(rasa_url: str) -> tuple[str, str]:
    """Return the HTTP and WebSocket origins of the Rasa server.

    Args:
        rasa_url: Base URL of the Rasa server, such as ``http://127.0.0.1:5005``.

    Returns:
        The origin for HTTP requests and the one for WebSocket connections,
        for example ``("http://127.0.0.1:5005", "ws://127.0.0.1:5005")``.

    Raises:
        DemoServerError: The URL is not an http(s) URL with a valid host.
    """
    try:
        parts = urlsplit(rasa_url)
        port = parts.port
    except ValueError as error:
        raise DemoServerError(f"invalid Rasa URL {rasa_url!r}: {error}") from error
    if parts.scheme not in ("http", "https"):
        raise DemoServerError(f"invalid Rasa URL {rasa_url!r}: the scheme must be http or https")
    host = parts.netloc.rpartition("@")[2]
    if port is not None:
        host = host[: -len(f":{port}")]
    if not host or not _HOST_PATTERN.match(host):
        raise DemoServerError(f"invalid Rasa URL {rasa_url!r}: the host name is missing or invalid")
    if parts.username or parts.password:
        raise DemoServerError(f"invalid Rasa URL {rasa_url!r}: user names and passwords are not allowed")
    authority = host if port is None else f"{host}:{port}"
    websocket_scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{parts.scheme}://{authority}", f"{websocket_scheme}://{authority}"


def content_security_policy(rasa_url: str) -> str:
    """Build the Content-Security-Policy of the demo page.

    Scripts, styles and images come from this server only. connect-src also
    allows the Rasa server, over HTTP for the helplines and socket.io polling
    and over WebSocket for socket.io.
    """
    http_origin, websocket_origin = rasa_origins(rasa_url)
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {http_origin} {websocket_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def check_installation(socket_io_dir: Path = SOCKET_IO_DIST_DIR) -> None:
    """Raise DemoServerError when the files the page needs are missing.

    Raises:
        DemoServerError: socket.io.min.js or a file of the widget is missing.
    """
    socket_io_file = socket_io_dir / SOCKET_IO_FILES[0]
    if not socket_io_file.is_file():
        raise DemoServerError(
            f"socket.io client not found at {socket_io_file}: "
            f"run `npm ci` in {WIDGET_DIR} to install the front-end packages"
        )
    for required in (DEMO_DIR / "index.html", DEMO_DIR / "demo.css",
                     STATIC_DIR / "widget.js", STATIC_DIR / "widget.css"):
        if not required.is_file():
            raise DemoServerError(f"widget file not found: {required}")


def render_page(rasa_url: str) -> str:
    """Return the demo page with the HTML-escaped Rasa URL written into it."""
    template = (DEMO_DIR / "index.html").read_text(encoding="utf-8")
    return template.replace(RASA_URL_PLACEHOLDER, html.escape(rasa_url, quote=True))


def build_app(rasa_url: str) -> web.Application:
    """Create the aiohttp application of the demo server.

    Args:
        rasa_url: Base URL of the Rasa server that the widget connects to.

    Raises:
        DemoServerError: The Rasa URL is invalid or a required file is missing.
    """
    check_installation()
    csp = content_security_policy(rasa_url)
    page = render_page(rasa_url)

    @web.middleware
    async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as error:
            response = error
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        # The demo serves files under development, so the browser revalidates them each time.
        response.headers["Cache-Control"] = "no-cache"
        if isinstance(response, web.HTTPException):
            raise response
        return response

    async def demo_page(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def file_route(path: Path) -> Handler:
        async def send_file(request: web.Request) -> web.FileResponse:
            if not path.is_file():
                raise web.HTTPNotFound()
            return web.FileResponse(path)

        return send_file

    app = web.Application(middlewares=[security_headers])
    app.router.add_get("/", demo_page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/demo/demo.css", file_route(DEMO_DIR / "demo.css"))
    # Registered before the static folder, so that these paths resolve to node_modules.
    for name in SOCKET_IO_FILES:
        app.router.add_get(f"/static/{name}", file_route(SOCKET_IO_DIST_DIR / name))
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    return app


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve app on host:port until SIGINT or SIGTERM."""
    # No access log: request lines carry client IP addresses, which are personal data.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = port
    server = getattr(site, "_server", None)
    if server is not None and server.sockets:
        bound_port = server.sockets[0].getsockname()[1]
    logger.info("Demo server started on http://%s:%d", host, bound_port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await stop.wait()
    finally:
        logger.info("Demo server stopping")
        await runner.cleanup()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line, with RASA_URL from the environment as the default Rasa URL."""
    parser = argparse.ArgumentParser(
        prog="python -m connectors.widget.demo_server",
        description="Serve the demo page of the seconde chance chat widget.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface to listen on (default: {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port to listen on, 0 for any free port (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--rasa-url",
        default=os.environ.get("RASA_URL") or DEFAULT_RASA_URL,
        help=f"base URL of the Rasa server that the widget connects to "
             f"(default: $RASA_URL, else {DEFAULT_RASA_URL})",
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo server and return the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        app = build_app(args.rasa_url)
    except DemoServerError as error:
        logger.error("Cannot start the demo server: %s", error)
        return 1
    logger.info("Widget connects to the Rasa server at %s", args.rasa_url)
    try:
        asyncio.run(serve(app, args.host, args.port))
    except OSError as error:
        logger.error("Cannot listen on %s:%d: %s", args.host, args.port, error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
