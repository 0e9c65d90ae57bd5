"""Login sessions, CSRF tokens, Origin checks and the login rate limit of the console.

Sessions live in the `counsellor_sessions` table. The cookie `sc_session`
contains a random token; the table stores only its SHA-256 digest, so a copy of
the database gives no usable cookie. A session ends 12 hours after the login,
or after 2 hours without a request.

Every POST and the WebSocket handshake must carry:

- an `Origin` header naming this host, so that another site cannot make the
  browser act for a counsellor (or, when the browser sends `Origin: null`
  because of the no-referrer policy, `Sec-Fetch-Site: same-origin`);
- the session's CSRF token, in the `X-CSRF-Token` header (fetch calls of
  console.js), the `csrf_token` form field (HTML forms) or the `csrf_token`
  query parameter (WebSocket).

The login form has no session yet. It uses a double-submit token instead:
a random value in the cookie `sc_login_csrf` and its HMAC, keyed with
HANDOFF_SECRET_KEY, in a hidden field. A site that can set cookies for this
domain still cannot compute the matching field.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import accounts
from ..models import CounsellorSession, utc_now
from .rendering import error_response

__all__ = [
    "ConsoleUser",
    "LOGIN_CSRF_COOKIE",
    "LoginRateLimiter",
    "SESSION_COOKIE",
    "SessionStore",
    "check_login_csrf",
    "new_login_csrf",
    "origin_matches",
    "register_auth_routes",
    "require_login",
]

logger = logging.getLogger(__name__)

SESSION_COOKIE = "sc_session"
LOGIN_CSRF_COOKIE = "sc_login_csrf"
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE_TIMEOUT = timedelta(hours=2)
# last_seen_at is written at most this often, not on every request.
LAST_SEEN_UPDATE_INTERVAL = timedelta(minutes=1)
LOGIN_CSRF_MAX_AGE_SECONDS = 3600
# secrets.token_urlsafe(32) gives 43 characters of this alphabet; anything
# else is rejected before the database is read.
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
LOGIN_FIELD_MAX_LENGTH = 1024

# Paths that need no session.
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

MESSAGE_INVALID_LOGIN = "Identifiant ou mot de passe incorrect."
# A locked account gets the same answer as a wrong password, so that the
# form does not tell a stranger which logins exist.
MESSAGE_INVALID_OR_LOCKED = (
    f"Identifiant ou mot de passe incorrect. Après {accounts.MAX_FAILED_LOGINS} échecs de suite, le compte est "
    f"verrouillé {int(accounts.LOCKOUT_DURATION.total_seconds() // 60)} minutes, même avec le bon mot de passe."
)
MESSAGE_RATE_LIMITED = "Trop de tentatives de connexion depuis votre adresse : réessayez dans {minutes} minutes."
MESSAGE_LOGIN_FORM_EXPIRED = "Le formulaire de connexion a expiré. Rechargez la page, puis réessayez."
MESSAGE_FORBIDDEN = "Action refusée : la demande ne vient pas de la console. Rechargez la page, puis réessayez."
MESSAGE_SESSION_EXPIRED = "Votre session a expiré : reconnectez-vous."


@dataclass(frozen=True)
class ConsoleUser:
    """The counsellor of a valid session.

    Attributes:
        session_id: SHA-256 hex digest of the cookie token (the table's key).
        counsellor_id: the account.
        login: the account's login.
        display_name: name shown to colleagues and users.
        role: "counsellor" or "admin".
        csrf_token: the session's CSRF token.
    """

    session_id: str
    counsellor_id: int
    login: str
    display_name: str
    role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        """Whether the account may manage the canned replies."""
        return self.role == "admin"


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest of a cookie token, the session's key in the table."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def tokens_equal(expected: str, given: Optional[str]) -> bool:
    """Compare two tokens in constant time; a missing or non-ASCII value never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


class SessionStore:
    """Creates, reads and ends console sessions; every method runs its SQL in a thread.

    Args:
        session_factory: returns a new SQLAlchemy Session.
    """

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self.session_factory = session_factory

    async def login(self, login: str, password: str, old_token: Optional[str] = None) -> tuple[accounts.LoginResult, Optional[str]]:
        """Check the credentials and open a session when they are right.

        The argon2 check is slow on purpose, so it runs in a thread. A
        session the browser still had is ended, so a login always gets a new
        token.

        Returns:
            The login result and, when it is "ok", the new cookie token.
        """
        return await asyncio.to_thread(self._login, login, password, old_token)

    def _login(self, login: str, password: str, old_token: Optional[str]) -> tuple[accounts.LoginResult, Optional[str]]:
        now = utc_now()
        with self.session_factory() as session:
            result = accounts.authenticate(session, login, password, now=now)
            token = None
            if result.ok:
                if old_token and _TOKEN_PATTERN.fullmatch(old_token):
                    session.execute(
                        delete(CounsellorSession)
                        .where(CounsellorSession.id == hash_token(old_token))
                        .execution_options(synchronize_session=False)
                    )
                token = secrets.token_urlsafe(32)
                session.add(
                    CounsellorSession(
                        id=hash_token(token),
                        counsellor_id=result.counsellor.id,
                        csrf_token=secrets.token_hex(32),
                        created_at=now,
                        expires_at=now + SESSION_LIFETIME,
                        last_seen_at=now,
                    )
                )
            # authenticate() counts failures and lockouts: they are committed too.
            session.commit()
        if token is not None:
            logger.info("Console session opened for counsellor %s", result.counsellor.id)
        return result, token

    async def load(self, token: Optional[str]) -> Optional[ConsoleUser]:
        """Return the user of a cookie token, or None when it is missing, forged, expired or idle."""
        if not token or not _TOKEN_PATTERN.fullmatch(token):
            return None
        return await asyncio.to_thread(self._load, hash_token(token))

    def _load(self, session_id: str) -> Optional[ConsoleUser]:
        now = utc_now()
        with self.session_factory() as session:
            row = session.get(CounsellorSession, session_id)
            if row is None:
                return None
            counsellor = row.counsellor
            expired = row.expires_at <= now or row.last_seen_at + SESSION_IDLE_TIMEOUT <= now
            if expired or counsellor is None or not counsellor.active:
                session.delete(row)
                session.commit()
                logger.info("Console session of counsellor %s ended: expired or account inactive", row.counsellor_id)
                return None
            if now - row.last_seen_at >= LAST_SEEN_UPDATE_INTERVAL:
                row.last_seen_at = now
                session.commit()
            return ConsoleUser(
                session_id=row.id,
                counsellor_id=counsellor.id,
                login=counsellor.login,
                display_name=counsellor.display_name,
                role=counsellor.role,
                csrf_token=row.csrf_token,
            )

    async def end(self, session_id: str) -> None:
        """Delete a session (logout)."""
        await asyncio.to_thread(self._end, session_id)

    def _end(self, session_id: str) -> None:
        with self.session_factory() as session:
            session.execute(
                delete(CounsellorSession)
                .where(CounsellorSession.id == session_id)
                .execution_options(synchronize_session=False)
            )
            session.commit()

    async def still_valid(self, session_ids: Iterable[str]) -> set[str]:
        """Return those of the given sessions that exist and are neither expired nor idle."""
        ids = sorted(set(session_ids))
        if not ids:
            return set()
        return await asyncio.to_thread(self._still_valid, ids)

    def _still_valid(self, session_ids: list[str]) -> set[str]:
        now = utc_now()
        with self.session_factory() as session:
            rows = session.execute(
                select(CounsellorSession.id, CounsellorSession.expires_at, CounsellorSession.last_seen_at).where(
                    CounsellorSession.id.in_(session_ids)
                )
            ).all()
        return {
            session_id
            for session_id, expires_at, last_seen_at in rows
            if expires_at > now and last_seen_at + SESSION_IDLE_TIMEOUT > now
        }


def new_login_csrf(secret_key: str) -> tuple[str, str]:
    """Return a new login CSRF pair: the cookie value and the hidden field value (its HMAC)."""
    cookie_value = secrets.token_urlsafe(32)
    return cookie_value, _login_csrf_field(secret_key, cookie_value)


def _login_csrf_field(secret_key: str, cookie_value: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), cookie_value.encode("utf-8"), hashlib.sha256).hexdigest()


def check_login_csrf(secret_key: str, cookie_value: Optional[str], field_value: Optional[str]) -> bool:
    """Return whether the login form's hidden field matches its cookie."""
    if not cookie_value or not _TOKEN_PATTERN.fullmatch(cookie_value):
        return False
    return tokens_equal(_login_csrf_field(secret_key, cookie_value), field_value)


def origin_matches(request: Request) -> bool:
    """Return whether the request comes from a page of this host.

    The Origin header must name the host the request was sent to. Pages of
    the console send `Referrer-Policy: no-referrer`, and with that policy a
    browser sends `Origin: null` on its own same-origin POSTs (Fetch
    standard, "serializing a request origin"). For those, the
    `Sec-Fetch-Site: same-origin` header, which page scripts cannot set,
    proves the origin instead. A missing Origin with no such header is
    rejected.
    """
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return request.headers.get("sec-fetch-site") == "same-origin"
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return parts.netloc.lower() == (request.host or "").lower()


def client_address(request: Request) -> str:
    """Return the client's IP address (the proxy's, unless Sanic is configured to trust forwarding headers)."""
    return request.remote_addr or request.ip or "unknown"


class LoginRateLimiter:
    """Counts failed logins per client address in Redis: after 20 in 15 minutes, logins are rejected.

    The key contains a hash of the address, not the address itself. When Redis
    is unavailable, logins are allowed (the per-account lockout in SQL still
    applies) and the error is logged.

    Args:
        redis: Redis client.
        key_prefix: prefix of the keys.
        limit: failures allowed per window.
        window_seconds: length of the window, which starts at the first failure.
    """

    def __init__(self, redis: Redis, key_prefix: str, *, limit: int = 20, window_seconds: int = 15 * 60) -> None:
        self.redis = redis
        self.key_prefix = key_prefix
        self.limit = limit
        self.window_seconds = window_seconds

    def key(self, address: str) -> str:
        """Return the Redis key of an address."""
        digest = hashlib.sha256(address.encode("utf-8")).hexdigest()[:32]
        return f"{self.key_prefix}console:login_failures:{digest}"

    async def retry_after(self, address: str) -> Optional[int]:
        """Return the seconds before this address may try again, or None when it may try now."""
        key = self.key(address)
        try:
            count = await self.redis.get(key)
            if count is None or int(count) < self.limit:
                return None
            ttl = await self.redis.ttl(key)
        except RedisError as error:
            logger.error("Login rate limit not checked, Redis failed: %s", error)
            return None
        return ttl if ttl and ttl > 0 else self.window_seconds

    async def record_failure(self, address: str) -> None:
        """Count one failed login of an address."""
        key = self.key(address)
        try:
            count = await self.redis.incr(key)
            if count == 1:
                await self.redis.expire(key, self.window_seconds)
            if count == self.limit:
                logger.warning("Login rate limit reached for a client address (%d failures)", count)
        except RedisError as error:
            logger.error("Failed login not counted, Redis failed: %s", error)


def _set_cookie(resp: HTTPResponse, name: str, value: str, *, secure: bool, path: str, max_age: int) -> None:
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = path
    cookie["max-age"] = max_age
    if secure:
        cookie["secure"] = True


def _delete_cookie(resp: HTTPResponse, name: str, *, secure: bool, path: str) -> None:
    _set_cookie(resp, name, "", secure=secure, path=path, max_age=0)


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _is_websocket(request: Request) -> bool:
    return request.path == "/ws"


async def forbidden(request: Request, reason: str) -> HTTPResponse:
    """Log why a request is refused (never a token) and return 403 in French."""
    logger.warning("Rejected %s %s: %s", request.method, request.path, reason)
    return await error_response(request, 403, MESSAGE_FORBIDDEN)


async def _unauthenticated(request: Request) -> HTTPResponse:
    if request.method == "GET" and not _is_websocket(request) and not request.path.startswith("/api/"):
        return response.redirect("/login", status=303)
    return await error_response(request, 401, MESSAGE_SESSION_EXPIRED)


async def require_login(request: Request) -> Optional[HTTPResponse]:
    """Request middleware: attach `request.ctx.user`, and check Origin and CSRF token of unsafe requests.

    Public paths (/login, /healthz, /static/) pass without a session. Other
    pages redirect to /login without a valid session; the API, the
    WebSocket and POST requests get 401.
    """
    request.ctx.user = None
    if _is_public(request.path):
        return None
    sessions: SessionStore = request.app.ctx.sessions
    user = await sessions.load(request.cookies.get(SESSION_COOKIE))
    if user is None:
        return await _unauthenticated(request)
    request.ctx.user = user

    websocket = _is_websocket(request)
    if request.method in UNSAFE_METHODS or websocket:
        if not origin_matches(request):
            return await forbidden(request, "Origin header missing or naming another host")
        if websocket:
            token = request.args.get("csrf_token")
        else:
            token = request.headers.get("x-csrf-token")
            if token is None and request.content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                token = request.form.get("csrf_token")
        if not tokens_equal(user.csrf_token, token):
            return await forbidden(request, "CSRF token missing or wrong")
    return None


def register_auth_routes(app) -> None:
    """Add /login and /logout to the app."""

    @app.get("/login")
    async def login_page(request: Request) -> HTTPResponse:
        if await request.app.ctx.sessions.load(request.cookies.get(SESSION_COOKIE)) is not None:
            return response.redirect("/", status=303)
        return await _login_form(request)

    @app.post("/login")
    async def login_submit(request: Request) -> HTTPResponse:
        settings = request.app.ctx.settings
        if not origin_matches(request):
            return await forbidden(request, "login form posted without a matching Origin")
        form = request.form
        if not check_login_csrf(settings.secret_key, request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
            logger.warning("Rejected POST /login: login CSRF token missing or wrong")
            return await _login_form(request, error=MESSAGE_LOGIN_FORM_EXPIRED, status=403)

        login = (form.get("login") or "")[:LOGIN_FIELD_MAX_LENGTH]
        password = (form.get("password") or "")[:LOGIN_FIELD_MAX_LENGTH]
        address = client_address(request)
        limiter: LoginRateLimiter = request.app.ctx.login_limiter
        wait = await limiter.retry_after(address)
        if wait is not None:
            return await _login_form(
                request, error=MESSAGE_RATE_LIMITED.format(minutes=_minutes(wait)), login=login, status=429
            )
        if not login.strip() or not password:
            await limiter.record_failure(address)
            return await _login_form(request, error=MESSAGE_INVALID_LOGIN, login=login, status=401)

        result, token = await request.app.ctx.sessions.login(login, password, request.cookies.get(SESSION_COOKIE))
        if token is None:
            # "locked" and "invalid" look the same from outside (see MESSAGE_INVALID_OR_LOCKED).
            await limiter.record_failure(address)
            return await _login_form(request, error=MESSAGE_INVALID_OR_LOCKED, login=login, status=401)

        resp = response.redirect("/", status=303)
        _set_cookie(
            resp,
            SESSION_COOKIE,
            token,
            secure=settings.cookie_secure,
            path="/",
            max_age=int(SESSION_LIFETIME.total_seconds()),
        )
        _delete_cookie(resp, LOGIN_CSRF_COOKIE, secure=settings.cookie_secure, path="/login")
        return resp

    @app.post("/logout")
    async def logout(request: Request) -> HTTPResponse:
        user: ConsoleUser = request.ctx.user
        await request.app.ctx.sessions.end(user.session_id)
        await request.app.ctx.hub.end_session(user.session_id)
        logger.info("Console session closed by counsellor %s", user.counsellor_id)
        resp = response.redirect("/login", status=303)
        _delete_cookie(resp, SESSION_COOKIE, secure=request.app.ctx.settings.cookie_secure, path="/")
        return resp


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


async def _login_form(request: Request, *, error: Optional[str] = None, login: str = "", status: int = 200) -> HTTPResponse:
    settings = request.app.ctx.settings
    # A cookie from an earlier rendering is kept, so that two tabs, or a
    # page and a request the browser makes on its own, do not replace the
    # value that an open form was made with.
    cookie_value = request.cookies.get(LOGIN_CSRF_COOKIE)
    if cookie_value and _TOKEN_PATTERN.fullmatch(cookie_value):
        field_value = _login_csrf_field(settings.secret_key, cookie_value)
    else:
        cookie_value, field_value = new_login_csrf(settings.secret_key)
    page = await request.app.ctx.renderer.page(
        request, "login.html", status=status, error=error, login=login, login_csrf=field_value
    )
    _set_cookie(
        page,
        LOGIN_CSRF_COOKIE,
        cookie_value,
        secure=settings.cookie_secure,
        path="/login",
        max_age=LOGIN_CSRF_MAX_AGE_SECONDS,
    )
    return page
