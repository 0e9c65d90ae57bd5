"""Pages and JSON endpoints of the console.

Pages (HTML, French): `/` the queue, `/conversations/<id>` the chat view,
`/followups` the e-mail follow-ups, `/admin/canned-replies` the canned
replies (administrators only).

JSON endpoints, called by console.js with the `X-CSRF-Token` header:
`GET /api/queue`, `GET /api/conversations/<id>?after=<message id>`,
`GET /api/places?q=<ville ou code postal>&type=<type>` (or `&insee=<code>`),
and the actions `POST /conversations/<id>/claim`, `/messages`, `/transfer`,
`/hand-back` and `/close`. Errors are `{"error": "<French message>"}`.
An action posted by an HTML form gets a redirect or an error page instead.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from redis.exceptions import RedisError
from sanic import response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.user_input import replace_lone_surrogates

from .. import mailer, store
from ..rasa_client import RasaClientError
from . import queries
from .auth import ConsoleUser
from .formatting import canned_reply_data, followup_data
from .places import PlaceSearchError
from .rendering import error_response, wants_json
from .service import MAX_MESSAGE_LENGTH
from .ws import valid_conversation_id

__all__ = ["register_views"]

logger = logging.getLogger(__name__)

MESSAGE_NOT_FOUND = "Cette conversation n'existe pas ou a été supprimée."
MESSAGE_CLOSED = "Cette conversation est terminée."
MESSAGE_CLAIMED_BY = "Cette conversation a déjà été prise par {name}."
MESSAGE_NOT_YOURS = "Cette conversation est suivie par {name} : vous ne pouvez pas agir dessus."
MESSAGE_NOT_CLAIMED = "Prenez d'abord cette conversation."
MESSAGE_EMPTY = "Le message est vide."
MESSAGE_TOO_LONG = (
    f"Votre message dépasse {MAX_MESSAGE_LENGTH:,} caractères : raccourcissez-le ou envoyez-le en plusieurs fois."
).replace(",", "\u202f")
MESSAGE_BAD_REQUEST = "Requête invalide."
MESSAGE_RASA_DOWN = (
    "L'assistant n'a pas pu reprendre la conversation (serveur de l'assistant injoignable). "
    "La conversation reste avec vous : réessayez dans un instant."
)
MESSAGE_UNKNOWN_COUNSELLOR = "Ce conseiller n'existe pas ou son compte est désactivé."
MESSAGE_ADMIN_ONLY = "Cette page est réservée aux administrateurs."
MESSAGE_PLACE_NOT_FOUND = "Ce lieu n'existe plus dans la base des lieux."
MESSAGE_FOLLOWUP_NOT_FOUND = "Cette demande n'existe pas ou a été supprimée."
# Largest value of a signed 64-bit SQL integer: ids above it cannot exist.
MAX_DATABASE_ID = 2**63 - 1
MESSAGE_FOLLOWUP_DONE = "Cette demande a déjà été traitée (réponse envoyée, annulée ou expirée)."
MESSAGE_FOLLOWUP_BUSY = "Un autre conseiller est en train de répondre à cette demande."
MESSAGE_ANSWER_EMPTY = "La réponse est vide."
MESSAGE_ANSWER_TOO_LONG = "La réponse dépasse 10\u202f000 caractères."
MESSAGE_MAIL_NOT_CONFIGURED = (
    "L'envoi d'e-mails n'est pas configuré sur ce serveur : la demande reste en attente. "
    "Prévenez l'équipe technique (réglages SMTP_HOST et SMTP_FROM)."
)
MESSAGE_MAIL_FAILED = (
    "L'e-mail n'a pas pu être envoyé (serveur de messagerie injoignable ou refus). "
    "La demande reste en attente : réessayez plus tard."
)
MESSAGE_CANNED_INVALID = (
    "Indiquez un titre (120 caractères au plus) et un texte (5\u202f000 caractères au plus)."
)
MESSAGE_CANNED_NOT_FOUND = "Cette réponse type n'existe plus."
FOLLOWUP_ANSWER_MAX_LENGTH = 10_000
FOLLOWUP_LOCK_SECONDS = 120
NOTE_MAX_LENGTH = 5000

FOLLOWUP_NOTICES = {
    "answered": "Réponse envoyée par e-mail. L'adresse du jeune a été effacée.",
    "cancelled": "Demande annulée. L'adresse du jeune a été effacée.",
}
CANNED_NOTICES = {
    "created": "Réponse type ajoutée.",
    "updated": "Réponse type enregistrée.",
    "deleted": "Réponse type supprimée.",
}


def _user(request: Request) -> ConsoleUser:
    return request.ctx.user


def _service(request: Request):
    return request.app.ctx.service


async def _store_error(request: Request, error: store.HandoffError) -> HTTPResponse:
    if isinstance(error, store.ConversationNotFound):
        return await error_response(request, 404, MESSAGE_NOT_FOUND)
    if isinstance(error, store.ConversationClosed):
        return await error_response(request, 410, MESSAGE_CLOSED)
    if isinstance(error, store.AlreadyClaimed):
        return await error_response(request, 409, MESSAGE_CLAIMED_BY.format(name=error.owner_name))
    if isinstance(error, store.NotAssigned):
        if error.owner_name:
            return await error_response(request, 409, MESSAGE_NOT_YOURS.format(name=error.owner_name))
        return await error_response(request, 409, MESSAGE_NOT_CLAIMED)
    if isinstance(error, store.CounsellorNotFound):
        return await error_response(request, 400, MESSAGE_UNKNOWN_COUNSELLOR)
    raise error


def _body(request: Request) -> dict[str, Any]:
    """Return the JSON object or the form fields of a POST (first value of each field).

    Lone UTF-16 surrogates in strings are replaced, because SQL and Redis
    cannot store them.
    """
    if (request.content_type or "").startswith("application/json"):
        try:
            data = request.json
        except InvalidUsage:
            return {}
        if not isinstance(data, dict):
            return {}
        return {key: replace_lone_surrogates(value) if isinstance(value, str) else value
                for key, value in data.items()}
    return {key: replace_lone_surrogates(values[0]) for key, values in request.form.items() if values}


def _database_id(value: Any) -> Optional[int]:
    """Return a non-negative integer that fits a 64-bit SQL column, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 <= number <= MAX_DATABASE_ID else None


def _done(request: Request, location: str, payload: dict[str, Any]) -> HTTPResponse:
    if wants_json(request):
        return response.json(payload)
    return response.redirect(location, status=303)


def register_views(app) -> None:
    """Add the pages and the JSON endpoints to the app."""

    @app.get("/healthz")
    async def health(request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/favicon.ico")
    async def favicon(request: Request) -> HTTPResponse:
        # Browsers ask for it on their own; without a session it would
        # redirect to /login, which is needless work.
        return response.empty()

    # ----- Queue -----

    @app.get("/")
    async def queue_page(request: Request) -> HTTPResponse:
        conversations = await _service(request).queue()
        return await request.app.ctx.renderer.page(
            request,
            "queue.html",
            active_nav="queue",
            conversations=conversations,
        )

    @app.get("/api/queue")
    async def queue_api(request: Request) -> HTTPResponse:
        return response.json(await request.app.ctx.hub.queue_snapshot())

    @app.post("/conversations/<conversation_id:str>/claim")
    async def claim(request: Request, conversation_id: str) -> HTTPResponse:
        if valid_conversation_id(conversation_id) is None:
            return await error_response(request, 404, MESSAGE_NOT_FOUND)
        try:
            await _service(request).claim(conversation_id, _user(request).counsellor_id)
        except store.HandoffError as error:
            return await _store_error(request, error)
        location = f"/conversations/{conversation_id}"
        return _done(request, location, {"redirect": location})

    # ----- Chat view -----

    @app.get("/conversations/<conversation_id:str>")
    async def conversation_page(request: Request, conversation_id: str) -> HTTPResponse:
        if valid_conversation_id(conversation_id) is None:
            return await error_response(request, 404, MESSAGE_NOT_FOUND)
        service = _service(request)
        try:
            data = await service.conversation(conversation_id, after_id=None)
        except store.ConversationNotFound:
            return await error_response(request, 404, MESSAGE_NOT_FOUND)
        user = _user(request)
        colleagues = await service.run(queries.list_active_counsellors)
        online = request.app.ctx.hub.online_counsellor_ids()
        transfer_choices = sorted(
            (
                {"id": c.id, "name": c.display_name, "login": c.login, "online": c.id in online}
                for c in colleagues
                if c.id != user.counsellor_id
            ),
            key=lambda choice: (not choice["online"], choice["name"].lower(), choice["login"]),
        )
        canned = [canned_reply_data(reply) for reply in await service.run(queries.list_canned_replies)]
        return await request.app.ctx.renderer.page(
            request,
            "conversation.html",
            active_nav="queue",
            conversation=data["conversation"],
            transfer_choices=transfer_choices,
            canned_replies=canned,
            place_types=request.app.ctx.places.type_choices(),
            max_message_length=MAX_MESSAGE_LENGTH,
        )

    @app.get("/api/conversations/<conversation_id:str>")
    async def conversation_api(request: Request, conversation_id: str) -> HTTPResponse:
        if valid_conversation_id(conversation_id) is None:
            return await error_response(request, 404, MESSAGE_NOT_FOUND)
        after = _database_id(request.args.get("after", "0"))
        if after is None:
            return await error_response(request, 400, MESSAGE_BAD_REQUEST)
        try:
            return response.json(await _service(request).conversation(conversation_id, after_id=after))
        except store.ConversationNotFound:
            return await error_response(request, 404, MESSAGE_NOT_FOUND)

    @app.post("/conversations/<conversation_id:str>/messages")
    async def send_message(request: Request, conversation_id: str) -> HTTPResponse:
        if valid_conversation_id(conversation_id) is None:
            return await error_response(request, 404, MESSAGE_NOT_FOUND)
        body = _body(request)
        service = _service(request)
        counsellor_id = _user(request).counsellor_id
        try:
            if "place_id" in body:
                place_id = body.get("place_id")
                insee = body.get("insee")
                if not isinstance(place_id, int) or _database_id(place_id) is None:
                    return await error_response(request, 400, MESSAGE_BAD_REQUEST)
                if insee is not None and not isinstance(insee, str):
                    return await error_response(request, 400, MESSAGE_BAD_REQUEST)
                try:
                    card = await request.app.ctx.places.card(place_id, insee)
                except PlaceSearchError as error:
                    return await error_response(request, 503, str(error))
                if card is None:
                    return await error_response(request, 404, MESSAGE_PLACE_NOT_FOUND)
                message, sent = await service.send_place(conversation_id, counsellor_id, card)
            else:
                text = body.get("text")
                if not isinstance(text, str):
                    return await error_response(request, 400, MESSAGE_BAD_REQUEST)
                text = text.rstrip()
                if not text.strip():
                    return await error_response(request, 400, MESSAGE_EMPTY)
                if len(text) > MAX_MESSAGE_LENGTH:
                    return await error_response(request, 400, MESSAGE_TOO_LONG)
                message, sent = await service.send_text(conversation_id, counsellor_id, text)
        except store.HandoffError as error:
            return await _store_error(request, error)
        return response.json({"message": message, "sent": sent})

    @app.post("/conversations/<conversation_id:str>/transfer")
    async def transfer(request: Request, conversation_id: str) -> HTTPResponse:
        if valid_conversation_id(conversation_id) is None:
            return await error_response(request, 404, MESSAGE_NOT_FOUND)
        target = _database_id(_body(request).get("counsellor_id"))
        if target is None:
            return await error_response(request, 400, MESSAGE_UNKNOWN_COUNSELLOR)
        try:
            await _service(request).transfer(conversation_id, _user(request).counsellor_id, target)
        except store.HandoffError as error:
            return await _store_error(request, error)
        return _done(request, "/", {"redirect": "/"})

    async def finish(request: Request, conversation_id: str, *, hand_back: bool) -> HTTPResponse:
        if valid_conversation_id(conversation_id) is None:
            return await error_response(request, 404, MESSAGE_NOT_FOUND)
        note = None
        if not hand_back:
            raw_note = _body(request).get("note")
            if raw_note is not None and not isinstance(raw_note, str):
                return await error_response(request, 400, MESSAGE_BAD_REQUEST)
            note = (raw_note or "").strip()[:NOTE_MAX_LENGTH] or None
        try:
            await _service(request).finish(
                conversation_id, _user(request).counsellor_id, hand_back=hand_back, note=note
            )
        except store.HandoffError as error:
            return await _store_error(request, error)
        except RasaClientError as error:
            logger.error("Conversation %s not finished: %s", conversation_id, error)
            return await error_response(request, 502, MESSAGE_RASA_DOWN)
        return _done(request, "/", {"redirect": "/"})

    @app.post("/conversations/<conversation_id:str>/hand-back")
    async def hand_back(request: Request, conversation_id: str) -> HTTPResponse:
        return await finish(request, conversation_id, hand_back=True)

    @app.post("/conversations/<conversation_id:str>/close")
    async def close(request: Request, conversation_id: str) -> HTTPResponse:
        return await finish(request, conversation_id, hand_back=False)

    @app.get("/api/places")
    async def places(request: Request) -> HTTPResponse:
        query = request.args.get("q", "")
        place_type = request.args.get("type", "")
        insee = request.args.get("insee") or None
        try:
            result = await request.app.ctx.places.search(query, place_type, insee)
        except PlaceSearchError as error:
            return await error_response(request, 400, str(error))
        return response.json(result)

    # ----- E-mail follow-ups -----

    async def followups_page(
        request: Request, *, status: int = 200, error: Optional[str] = None, error_id: Optional[int] = None,
        draft: str = "",
    ) -> HTTPResponse:
        service = _service(request)
        pending = await service.run(lambda session: [followup_data(f) for f in store.list_followups(session)])
        recent = await service.run(
            lambda session: [followup_data(f) for f in store.list_followups(session, status="answered", limit=10)]
        )
        return await request.app.ctx.renderer.page(
            request,
            "followups.html",
            status=status,
            active_nav="followups",
            pending=pending,
            recent=recent,
            notice=FOLLOWUP_NOTICES.get(request.args.get("done", "")),
            error=error,
            error_id=error_id,
            draft=draft,
        )

    @app.get("/followups")
    async def followups(request: Request) -> HTTPResponse:
        return await followups_page(request)

    @app.post("/followups/<followup_id:int>/answer")
    async def answer_followup(request: Request, followup_id: int) -> HTTPResponse:
        raw_answer = _body(request).get("answer")
        answer = raw_answer.strip() if isinstance(raw_answer, str) else ""
        if not answer:
            return await followups_page(request, status=400, error=MESSAGE_ANSWER_EMPTY, error_id=followup_id)
        if len(answer) > FOLLOWUP_ANSWER_MAX_LENGTH:
            return await followups_page(
                request, status=400, error=MESSAGE_ANSWER_TOO_LONG, error_id=followup_id, draft=answer
            )
        service = _service(request)
        settings = request.app.ctx.settings
        user = _user(request)
        try:
            followup = await service.run(store.get_followup, followup_id)
        except store.FollowupNotFound:
            return await followups_page(request, status=404, error=MESSAGE_FOLLOWUP_NOT_FOUND)
        if followup.status != "pending" or not followup.email:
            return await followups_page(request, status=409, error=MESSAGE_FOLLOWUP_DONE)

        # Two counsellors answering at once would both send an e-mail: the
        # lock lets one through.
        lock_key = f"{request.app.ctx.options.redis_key_prefix}console:followup_lock:{followup_id}"
        redis = request.app.ctx.redis
        try:
            locked = await redis.set(lock_key, str(user.counsellor_id), nx=True, ex=FOLLOWUP_LOCK_SECONDS)
        except RedisError as error:
            logger.error("Follow-up lock unavailable, answering follow-up %s without it: %s", followup_id, error)
            locked = True
        if not locked:
            return await followups_page(
                request, status=409, error=MESSAGE_FOLLOWUP_BUSY, error_id=followup_id, draft=answer
            )
        try:
            try:
                await mailer.send_followup_answer(
                    settings,
                    to=followup.email,
                    answer=answer,
                    question=followup.question,
                    asked_at=followup.created_at,
                    reference=followup.id,
                )
            except mailer.MailerNotConfigured:
                logger.error("Follow-up %s not answered: SMTP is not configured", followup_id)
                return await followups_page(
                    request, status=503, error=MESSAGE_MAIL_NOT_CONFIGURED, error_id=followup_id, draft=answer
                )
            except mailer.MailerError:
                return await followups_page(
                    request, status=502, error=MESSAGE_MAIL_FAILED, error_id=followup_id, draft=answer
                )
            try:
                await service.run(store.answer_followup, followup_id, user.counsellor_id, answer, commit=True)
            except store.FollowupNotPending:
                return await followups_page(request, status=409, error=MESSAGE_FOLLOWUP_DONE)
        finally:
            try:
                await redis.delete(lock_key)
            except RedisError:
                pass
        return response.redirect("/followups?done=answered", status=303)

    @app.post("/followups/<followup_id:int>/cancel")
    async def cancel_followup(request: Request, followup_id: int) -> HTTPResponse:
        try:
            await _service(request).run(store.cancel_followup, followup_id, commit=True)
        except store.FollowupNotFound:
            return await followups_page(request, status=404, error=MESSAGE_FOLLOWUP_NOT_FOUND)
        except store.FollowupNotPending:
            return await followups_page(request, status=409, error=MESSAGE_FOLLOWUP_DONE)
        logger.info("Counsellor %s cancelled follow-up %s", _user(request).counsellor_id, followup_id)
        return response.redirect("/followups?done=cancelled", status=303)

    # ----- Canned replies (administrators) -----

    async def canned_page(
        request: Request, *, status: int = 200, error: Optional[str] = None, error_id: Optional[int] = None
    ) -> HTTPResponse:
        replies = [canned_reply_data(reply) for reply in await _service(request).run(queries.list_canned_replies)]
        return await request.app.ctx.renderer.page(
            request,
            "canned_replies.html",
            status=status,
            active_nav="canned",
            replies=replies,
            notice=CANNED_NOTICES.get(request.args.get("done", "")),
            error=error,
            error_id=error_id,
        )

    async def admin_only(request: Request) -> Optional[HTTPResponse]:
        if not _user(request).is_admin:
            logger.warning("Counsellor %s denied access to %s: not an administrator",
                           _user(request).counsellor_id, request.path)
            return await error_response(request, 403, MESSAGE_ADMIN_ONLY)
        return None

    @app.get("/admin/canned-replies")
    async def canned_replies(request: Request) -> HTTPResponse:
        return await admin_only(request) or await canned_page(request)

    @app.post("/admin/canned-replies")
    async def create_canned(request: Request) -> HTTPResponse:
        denied = await admin_only(request)
        if denied is not None:
            return denied
        body = _body(request)
        try:
            await _service(request).run(
                queries.create_canned_reply,
                str(body.get("title") or ""),
                str(body.get("text") or ""),
                _user(request).counsellor_id,
                commit=True,
            )
        except ValueError:
            return await canned_page(request, status=400, error=MESSAGE_CANNED_INVALID)
        return response.redirect("/admin/canned-replies?done=created", status=303)

    @app.post("/admin/canned-replies/<reply_id:int>")
    async def update_canned(request: Request, reply_id: int) -> HTTPResponse:
        denied = await admin_only(request)
        if denied is not None:
            return denied
        body = _body(request)
        try:
            reply = await _service(request).run(
                queries.update_canned_reply,
                reply_id,
                str(body.get("title") or ""),
                str(body.get("text") or ""),
                _user(request).counsellor_id,
                commit=True,
            )
        except ValueError:
            return await canned_page(request, status=400, error=MESSAGE_CANNED_INVALID, error_id=reply_id)
        if reply is None:
            return await canned_page(request, status=404, error=MESSAGE_CANNED_NOT_FOUND)
        return response.redirect("/admin/canned-replies?done=updated", status=303)

    @app.post("/admin/canned-replies/<reply_id:int>/delete")
    async def delete_canned(request: Request, reply_id: int) -> HTTPResponse:
        denied = await admin_only(request)
        if denied is not None:
            return denied
        if not await _service(request).run(queries.delete_canned_reply, reply_id, commit=True):
            return await canned_page(request, status=404, error=MESSAGE_CANNED_NOT_FOUND)
        return response.redirect("/admin/canned-replies?done=deleted", status=303)
