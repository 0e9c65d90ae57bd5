"""Jinja2 pages and French error responses of the console.

Templates are rendered with autoescaping on, so any text from a user or a
counsellor reaches the page as text, never as markup.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from . import formatting

__all__ = ["Renderer", "error_response", "wants_json"]

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

ERROR_TITLES = {
    400: "Requête invalide",
    401: "Session expirée",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action impossible",
    409: "Action impossible",
    410: "Conversation terminée",
    413: "Envoi trop volumineux",
    429: "Trop de tentatives",
    500: "Erreur du serveur",
    502: "Service indisponible",
    503: "Service indisponible",
}


def wants_json(request: Request) -> bool:
    """Return whether the client expects JSON: API paths, fetch calls of console.js and the WebSocket."""
    if request.path.startswith("/api/") or request.path == "/ws":
        return True
    if (request.content_type or "").startswith("application/json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


class Renderer:
    """Renders the templates of `templates/` with the context every page needs."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.environment = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(["html"], default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.globals.update(
            format_datetime=formatting.format_datetime,
            format_time=formatting.format_time,
            since_label=formatting.since_label,
            since_iso=formatting.since_iso,
            status_labels=formatting.STATUS_LABELS,
            channel_labels=formatting.CHANNEL_LABELS,
            reason_labels=formatting.REASON_LABELS,
        )

    def render(self, template: str, **context: Any) -> str:
        """Return the HTML of a template."""
        return self.environment.get_template(template).render(**context)

    async def page(self, request: Request, template: str, *, status: int = 200, **context: Any) -> HTTPResponse:
        """Return an HTML response with the logged-in user, the CSRF token and the navigation counts.

        The template is rendered in a thread when it is large (the follow-up
        page may quote long questions), so the event loop keeps serving.
        """
        user = getattr(request.ctx, "user", None)
        pending_followups = None
        service = getattr(request.app.ctx, "service", None)
        if user is not None and service is not None:
            pending_followups = await service.count_pending_followups()
        context.setdefault("active_nav", None)
        full_context = {
            "user": user,
            "csrf_token": user.csrf_token if user is not None else None,
            "pending_followups": pending_followups,
            **context,
        }
        html = await asyncio.to_thread(self.render, template, **full_context)
        return response.html(html, status=status)


async def error_response(
    request: Request, status: int, message: str, *, title: Optional[str] = None, headers: Optional[dict] = None
) -> HTTPResponse:
    """Return a French error: `{"error": message}` for JSON clients, an error page otherwise."""
    if wants_json(request):
        return response.json({"error": message}, status=status, headers=headers)
    renderer: Optional[Renderer] = getattr(request.app.ctx, "renderer", None)
    if renderer is None:
        return response.text(message, status=status, headers=headers)
    page = await renderer.page(
        request,
        "error.html",
        status=status,
        title=title or ERROR_TITLES.get(status, "Erreur"),
        message=message,
    )
    if headers:
        page.headers.update(headers)
    return page
