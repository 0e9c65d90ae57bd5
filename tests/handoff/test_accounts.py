"""Tests of handoff.accounts on a migrated SQLite database, with a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import func, select

from handoff import accounts
from handoff.db import get_sessionmaker
from handoff.models import CounsellorSession
from tests.handoff.conftest import utc

PASSWORD = "un mot de passe solide"
T0 = utc(2026, 12, 7, 9, 0)


@pytest.fixture
def session(sqlite_url):
    with get_sessionmaker(sqlite_url)() as db_session:
        yield db_session


@pytest.fixture
def marie(session):
    counsellor = accounts.create_counsellor(session, "Marie", PASSWORD, role="admin", display_name="Marie", now=T0)
    session.commit()
    return counsellor


def test_hash_differs_from_password():
    password_hash = accounts.hash_password(PASSWORD)
    assert password_hash != PASSWORD
    assert password_hash.startswith("$argon2id$")
    assert accounts.verify_password(password_hash, PASSWORD)


def test_hash_salted():
    assert accounts.hash_password(PASSWORD) != accounts.hash_password(PASSWORD)


def test_verify_malformed_hash():
    assert accounts.verify_password("not-a-hash", PASSWORD) is False


def test_create_normalizes_login(marie):
    assert marie.login == "marie"
    assert marie.role == "admin"
    assert marie.password_hash != PASSWORD


def test_create_default_display_name(session):
    counsellor = accounts.create_counsellor(session, "paul", PASSWORD)
    assert counsellor.display_name == "Conseiller"


def test_create_short_password(session):
    with pytest.raises(accounts.PasswordTooShort):
        accounts.create_counsellor(session, "paul", "court")


def test_create_duplicate_login(session, marie):
    with pytest.raises(accounts.LoginExists):
        accounts.create_counsellor(session, "MARIE", PASSWORD)


@pytest.mark.parametrize("login", ["", "a", "marie dupont", "marié", "-marie", "x" * 65])
def test_create_invalid_login(session, login):
    with pytest.raises(accounts.InvalidLogin):
        accounts.create_counsellor(session, login, PASSWORD)


def test_authenticate_ok(session, marie):
    result = accounts.authenticate(session, " MARIE ", PASSWORD, now=T0)
    session.commit()
    assert result.ok
    assert result.counsellor.id == marie.id
    assert result.counsellor.last_login_at == T0


def test_authenticate_wrong_password(session, marie):
    result = accounts.authenticate(session, "marie", "mauvais mot de passe", now=T0)
    session.commit()
    assert result.status == "invalid"
    assert result.counsellor is None
    assert marie.failed_logins == 1


def test_authenticate_unknown_login(session):
    assert accounts.authenticate(session, "inconnu", PASSWORD, now=T0).status == "invalid"


def test_unknown_login_costs_a_verification(session, marie, monkeypatch):
    verified_hashes = []
    real_verify = PasswordHasher.verify

    def counting_verify(hasher, password_hash, password):
        verified_hashes.append(password_hash)
        return real_verify(hasher, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    for login in ("marie", "inconnu", "inconnu"):
        accounts.authenticate(session, login, "mauvais mot de passe", now=T0)
        session.rollback()

    # One argon2 verification each, with the same cost parameters, so that the
    # response time does not tell whether a login exists.
    known_hash, *dummy_hashes = verified_hashes
    assert len(dummy_hashes) == 2
    assert extract_parameters(dummy_hashes[0]) == extract_parameters(known_hash)
    assert dummy_hashes[0] == dummy_hashes[1]


def test_lockout_after_five_failures(session, marie):
    results = []
    for attempt in range(5):
        results.append(accounts.authenticate(session, "marie", "mauvais", now=T0 + timedelta(seconds=attempt)))
        session.commit()
    locked = accounts.authenticate(session, "marie", PASSWORD, now=T0 + timedelta(minutes=1))
    session.commit()
    assert [result.status for result in results] == ["invalid"] * 4 + ["locked"]
    assert locked.status == "locked"
    assert locked.locked_until == T0 + timedelta(seconds=4) + accounts.LOCKOUT_DURATION


def test_unlock_after_fifteen_minutes(session, marie):
    for attempt in range(5):
        accounts.authenticate(session, "marie", "mauvais", now=T0)
        session.commit()
    still_locked = accounts.authenticate(session, "marie", PASSWORD, now=T0 + timedelta(minutes=14, seconds=59))
    unlocked = accounts.authenticate(session, "marie", PASSWORD, now=T0 + timedelta(minutes=15))
    session.commit()
    assert still_locked.status == "locked"
    assert unlocked.ok
    assert marie.failed_logins == 0
    assert marie.locked_until is None


def test_success_resets_failures(session, marie):
    for _ in range(4):
        accounts.authenticate(session, "marie", "mauvais", now=T0)
    accounts.authenticate(session, "marie", PASSWORD, now=T0)
    session.commit()
    assert marie.failed_logins == 0


def test_rehash_old_parameters(session, marie):
    marie.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    session.commit()
    old_hash = marie.password_hash
    result = accounts.authenticate(session, "marie", PASSWORD, now=T0)
    session.commit()
    assert result.ok
    assert marie.password_hash != old_hash
    assert not PasswordHasher().check_needs_rehash(marie.password_hash)


def test_deactivated_cannot_log_in(session, marie):
    accounts.deactivate_counsellor(session, "marie")
    session.commit()
    assert accounts.authenticate(session, "marie", PASSWORD, now=T0).status == "invalid"


def add_console_session(session, counsellor_id):
    session.add(
        CounsellorSession(id="a" * 64, counsellor_id=counsellor_id, csrf_token="b" * 32, expires_at=T0 + timedelta(hours=12))
    )
    session.commit()


def count_console_sessions(session):
    return session.execute(select(func.count()).select_from(CounsellorSession)).scalar_one()


def test_deactivate_ends_sessions(session, marie):
    add_console_session(session, marie.id)
    accounts.deactivate_counsellor(session, "marie")
    session.commit()
    assert count_console_sessions(session) == 0


def test_set_password_replaces_and_unlocks(session, marie):
    for _ in range(5):
        accounts.authenticate(session, "marie", "mauvais", now=T0)
    add_console_session(session, marie.id)
    accounts.set_password(session, "marie", "un autre mot de passe")
    session.commit()
    assert accounts.authenticate(session, "marie", "un autre mot de passe", now=T0).ok
    assert count_console_sessions(session) == 0


def test_set_password_unknown_login(session):
    with pytest.raises(accounts.UnknownLogin):
        accounts.set_password(session, "inconnu", PASSWORD)


def test_list_counsellors_sorted(session, marie):
    accounts.create_counsellor(session, "alice", PASSWORD)
    session.commit()
    assert [counsellor.login for counsellor in accounts.list_counsellors(session)] == ["alice", "marie"]
