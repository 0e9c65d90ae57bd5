"""Console accounts: argon2id password hashes, login checks and lockout.

Hashes use argon2-cffi's `PasswordHasher` with its defaults (argon2id, the
RFC 9106 low-memory profile in argon2-cffi 25: 3 passes over 64 MiB, 4
lanes). A hash made with older parameters is replaced at the next successful
login.

Lockout: 5 wrong passwords in a row lock the account for 15 minutes; the
counter restarts after a success or a lockout. An unknown or deactivated
login still costs one hash verification, so response times do not reveal
which logins exist.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .models import ROLES, Counsellor, CounsellorSession, utc_now

__all__ = [
    "AccountError",
    "DEFAULT_DISPLAY_NAME",
    "InvalidLogin",
    "LOCKOUT_DURATION",
    "LoginExists",
    "LoginResult",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "PasswordTooShort",
    "UnknownLogin",
    "authenticate",
    "create_counsellor",
    "deactivate_counsellor",
    "get_counsellor_by_login",
    "hash_password",
    "list_counsellors",
    "normalize_login",
    "set_password",
    "verify_password",
]

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
# Longer passwords are rejected to bound the hashing work an attacker can request.
MAX_PASSWORD_LENGTH = 1024
MAX_FAILED_LOGINS = 5
LOCKOUT_DURATION = timedelta(minutes=15)
DEFAULT_DISPLAY_NAME = "Conseiller"
MAX_DISPLAY_NAME_LENGTH = 80

_LOGIN_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")

_hasher = PasswordHasher()


class AccountError(ValueError):
    """Base class of the errors raised when an account cannot be created or changed."""


class InvalidLogin(AccountError):
    """The login is not 2 to 64 characters among lower-case letters, digits, '.', '_' and '-'."""


class LoginExists(AccountError):
    """An account already has this login."""


class UnknownLogin(AccountError, LookupError):
    """No account has this login."""


class PasswordTooShort(AccountError):
    """The password is shorter than MIN_PASSWORD_LENGTH (or longer than MAX_PASSWORD_LENGTH)."""


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a login attempt.

    Attributes:
        status: "ok", "invalid" (unknown login, deactivated account or wrong
            password) or "locked" (too many failures, until `locked_until`).
        counsellor: the account, for "ok" only.
        locked_until: end of the lockout, for "locked" only.
    """

    status: str
    counsellor: Optional[Counsellor] = None
    locked_until: Optional[datetime] = None

    @property
    def ok(self) -> bool:
        """Whether the login succeeded."""
        return self.status == "ok"


def normalize_login(login: str) -> str:
    """Return the stored form of a login: stripped and lower case."""
    return (login or "").strip().lower()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(f"password shorter than {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordTooShort(f"password longer than {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password, in PHC string format (salt included)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether a password matches a hash; a malformed hash never matches."""
    try:
        return _hasher.verify(password_hash, password)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        logger.warning("Password hash could not be verified: unreadable or unsupported hash")
        return False


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified for unknown logins so that they cost as much time as known ones:
    # one verification with the same parameters. It is made once, because
    # hashing it at every attempt would make unknown logins the slower ones.
    return _hasher.hash(secrets.token_urlsafe(16))


def get_counsellor_by_login(session: Session, login: str) -> Optional[Counsellor]:
    """Return the account with this login (any case), or None."""
    statement = select(Counsellor).where(Counsellor.login == normalize_login(login))
    return session.execute(statement).scalars().first()


def list_counsellors(session: Session, *, include_inactive: bool = True) -> list[Counsellor]:
    """Return the accounts sorted by login."""
    statement = select(Counsellor).order_by(Counsellor.login)
    if not include_inactive:
        statement = statement.where(Counsellor.active.is_(True))
    return list(session.execute(statement).scalars())


def create_counsellor(
    session: Session,
    login: str,
    password: str,
    *,
    role: str = "counsellor",
    display_name: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Counsellor:
    """Create an account and return it; the caller commits.

    Args:
        session: database session.
        login: stored lower case.
        password: at least 12 characters.
        role: "counsellor" or "admin".
        display_name: name shown to colleagues and users; default « Conseiller ».
        now: creation time; None reads the clock.

    Raises:
        InvalidLogin: the login has another form than `_LOGIN_PATTERN`.
        LoginExists: an account already has this login.
        PasswordTooShort: the password is too short (or too long).
        ValueError: the role or display name is invalid.
    """
    normalized = normalize_login(login)
    if _LOGIN_PATTERN.fullmatch(normalized) is None:
        raise InvalidLogin(f"invalid login {login!r}")
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r}; expected one of {', '.join(ROLES)}")
    name = (display_name or "").strip() or DEFAULT_DISPLAY_NAME
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise ValueError(f"display name longer than {MAX_DISPLAY_NAME_LENGTH} characters")
    _check_password(password)
    if get_counsellor_by_login(session, normalized) is not None:
        raise LoginExists(f"login {normalized!r} already exists")
    counsellor = Counsellor(
        login=normalized,
        display_name=name,
        password_hash=hash_password(password),
        role=role,
        active=True,
        failed_logins=0,
        created_at=now or utc_now(),
    )
    session.add(counsellor)
    session.flush()
    logger.info("Created %s account %s", role, counsellor.id)
    return counsellor


def set_password(session: Session, login: str, password: str) -> Counsellor:
    """Replace an account's password, clear its lockout and end its console sessions; the caller commits.

    Raises:
        UnknownLogin: no account has this login.
        PasswordTooShort: the password is too short (or too long).
    """
    _check_password(password)
    counsellor = get_counsellor_by_login(session, login)
    if counsellor is None:
        raise UnknownLogin(f"unknown login {normalize_login(login)!r}")
    counsellor.password_hash = hash_password(password)
    counsellor.failed_logins = 0
    counsellor.locked_until = None
    ended = _delete_sessions(session, counsellor.id)
    session.flush()
    logger.info("Password changed for account %s; %d console session(s) ended", counsellor.id, ended)
    return counsellor


def deactivate_counsellor(session: Session, login: str) -> Counsellor:
    """Deactivate an account and end its console sessions; the caller commits.

    The account can no longer log in. Its conversations and messages are kept.

    Raises:
        UnknownLogin: no account has this login.
    """
    counsellor = get_counsellor_by_login(session, login)
    if counsellor is None:
        raise UnknownLogin(f"unknown login {normalize_login(login)!r}")
    counsellor.active = False
    ended = _delete_sessions(session, counsellor.id)
    session.flush()
    logger.info("Deactivated account %s; %d console session(s) ended", counsellor.id, ended)
    return counsellor


def _delete_sessions(session: Session, counsellor_id: int) -> int:
    statement = (
        delete(CounsellorSession)
        .where(CounsellorSession.counsellor_id == counsellor_id)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount


def authenticate(session: Session, login: str, password: str, *, now: Optional[datetime] = None) -> LoginResult:
    """Check a login and password, count failures and apply the lockout.

    It returns instead of raising, so that the caller commits the failure
    count. A locked account is refused even with the right password, and the
    attempt does not extend the lockout.

    Args:
        session: database session; the caller commits, whatever the result.
        login: as typed (case and surrounding spaces ignored).
        password: as typed.
        now: current time (a fake clock in tests); None reads the clock.

    Returns:
        A LoginResult. The console should show the same message for
        "invalid" whatever the cause.
    """
    now = now or utc_now()
    counsellor = get_counsellor_by_login(session, login)
    if counsellor is None or not counsellor.active or len(password) > MAX_PASSWORD_LENGTH:
        verify_password(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        logger.info("Login failed: unknown login or inactive account")
        return LoginResult("invalid")

    if counsellor.locked_until is not None and counsellor.locked_until > now:
        verify_password(_dummy_hash(), password)
        logger.info("Login rejected for account %s: locked until %s", counsellor.id, counsellor.locked_until.isoformat())
        return LoginResult("locked", locked_until=counsellor.locked_until)

    if not verify_password(counsellor.password_hash, password):
        return _record_failure(session, counsellor, now)

    counsellor.failed_logins = 0
    counsellor.locked_until = None
    counsellor.last_login_at = now
    if _hasher.check_needs_rehash(counsellor.password_hash):
        counsellor.password_hash = hash_password(password)
        logger.info("Rehashed the password of account %s with the current parameters", counsellor.id)
    session.flush()
    logger.info("Account %s logged in", counsellor.id)
    return LoginResult("ok", counsellor=counsellor)


def _record_failure(session: Session, counsellor: Counsellor, now: datetime) -> LoginResult:
    # Incremented in SQL so that concurrent failures are all counted.
    session.execute(
        update(Counsellor)
        .where(Counsellor.id == counsellor.id)
        .values(failed_logins=Counsellor.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(counsellor)
    if counsellor.failed_logins >= MAX_FAILED_LOGINS:
        counsellor.locked_until = now + LOCKOUT_DURATION
        counsellor.failed_logins = 0
        session.flush()
        logger.warning(
            "Account %s locked until %s after %d failed logins",
            counsellor.id,
            counsellor.locked_until.isoformat(),
            MAX_FAILED_LOGINS,
        )
        return LoginResult("locked", locked_until=counsellor.locked_until)
    session.flush()
    logger.info("Login failed for account %s (%d failure(s) in a row)", counsellor.id, counsellor.failed_logins)
    return LoginResult("invalid")
