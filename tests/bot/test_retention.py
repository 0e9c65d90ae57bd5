"""Tests of bot.retention on a tracker store written by Rasa's own SQLTrackerStore."""

import asyncio
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.retention import PurgeResult, purge_conversations

DAY = 86400


def _save(store: SQLTrackerStore, sender_id: str, timestamps) -> None:
    tracker = DialogueStateTracker(sender_id, slots=[])
    for stamp in timestamps:
        tracker.update(UserUttered("bonjour", timestamp=stamp))
        tracker.update(ActionExecuted("utter_greet", timestamp=stamp))
    asyncio.run(store.save(tracker))


@pytest.fixture
def tracker_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'trackers.sqlite3'}"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "trackers.sqlite3"))
    now = time.time()
    _save(store, "old", [now - 40 * DAY, now - 35 * DAY])
    _save(store, "recent", [now - 40 * DAY, now - 1 * DAY])
    _save(store, "new", [now - 60])
    store.engine.dispose()
    return url


def _senders(url: str):
    engine = sa.create_engine(url, future=True)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT DISTINCT sender_id FROM events")).all()
    engine.dispose()
    return {row[0] for row in rows}


def test_purge_deletes_only_expired_conversations(tracker_url):
    result = purge_conversations(tracker_url, days=30)
    assert result.conversations == 1
    assert result.events == 4
    assert _senders(tracker_url) == {"recent", "new"}


def test_purge_keeps_whole_conversation_with_recent_event(tracker_url):
    purge_conversations(tracker_url, days=30)
    engine = sa.create_engine(tracker_url, future=True)
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT COUNT(*) FROM events WHERE sender_id = 'recent'")
        ).scalar_one()
    engine.dispose()
    assert count == 4


def test_purge_dry_run_deletes_nothing(tracker_url):
    result = purge_conversations(tracker_url, days=30, dry_run=True)
    assert result.conversations == 1
    assert _senders(tracker_url) == {"old", "recent", "new"}


def test_purge_zero_days_deletes_everything_older_than_now(tracker_url):
    result = purge_conversations(tracker_url, days=0)
    assert result.conversations == 3
    assert _senders(tracker_url) == set()


def test_purge_negative_days_rejected(tracker_url):
    with pytest.raises(ValueError):
        purge_conversations(tracker_url, days=-1)


def test_purge_store_without_events_table(tmp_path):
    path = tmp_path / "empty.sqlite3"
    sa.create_engine(f"sqlite:///{path}").connect().close()
    result = purge_conversations(f"sqlite:///{path}", days=30)
    assert result == PurgeResult(0, 0)


def test_purge_missing_sqlite_file_rejected(tmp_path):
    path = tmp_path / "typo.sqlite3"
    with pytest.raises(FileNotFoundError):
        purge_conversations(f"sqlite:///{path}", days=30, dry_run=True)
    assert not path.exists()


def test_cli_reports_in_french(tracker_url):
    completed = subprocess.run(
        [sys.executable, "-m", "bot.retention", "--days", "30", "--tracker-url", tracker_url],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0
    assert "1 conversation(s) et 4 événement(s) supprimés (conservation : 30 jours)." in completed.stdout


def test_cli_missing_file_fails_clearly(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "bot.retention", "--tracker-url", f"sqlite:///{tmp_path / 'typo.sqlite3'}"],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 1
    assert "introuvable" in completed.stderr
    assert "TRACKER_DB_URL" in completed.stderr


def test_cli_negative_days_in_french(tracker_url):
    completed = subprocess.run(
        [sys.executable, "-m", "bot.retention", "--days", "-3", "--tracker-url", tracker_url],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert "négative" in completed.stderr


def test_cli_help_in_french():
    completed = subprocess.run(
        [sys.executable, "-m", "bot.retention", "--help"],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0
    assert "Utilisation" in completed.stdout
    assert "durée de conservation en jours" in completed.stdout
