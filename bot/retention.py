"""Delete conversations older than the retention period from Rasa's tracker store.

A conversation is deleted whole, once its latest event is older than the
period, so that no tracker is left with a partial history. Run it daily
(cron, systemd timer or a Kubernetes CronJob):

    python -m bot.retention --days 30

It works on the SQL tracker store that endpoints.yml configures (SQLite or
PostgreSQL), whose ``events`` table Rasa 3.6 creates.
"""

import errno
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from knowledge.french_argparse import FrenchArgumentParser

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30

# The tracker store of scripts/env.sh, when TRACKER_DB_URL is not set.
DEFAULT_TRACKER_URL = "sqlite:///{}".format(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "trackers.sqlite3")
)
SECONDS_PER_DAY = 86400

# Conversations are deleted in batches so that a large purge does not hold
# one long transaction on a production database.
BATCH_SIZE = 500


@dataclass(frozen=True)
class PurgeResult:
    """Counts of conversations and events deleted by a purge, or counted in a dry run."""

    conversations: int
    events: int


def purge_conversations(
    tracker_url: str, days: float, now: Optional[float] = None, dry_run: bool = False
) -> PurgeResult:
    """Delete every conversation whose latest event is older than ``days``.

    Args:
        tracker_url: SQLAlchemy URL of the tracker store.
        days: Retention period in days.
        now: Current Unix time; defaults to the clock.
        dry_run: Count what would be deleted without deleting it.

    Returns:
        The number of conversations and events deleted.

    Raises:
        ValueError: ``days`` is negative.
        FileNotFoundError: A SQLite tracker store file does not exist.
    """
    if days < 0:
        raise ValueError(f"retention period must not be negative, got {days}")
    url = make_url(tracker_url)
    if url.get_backend_name() == "sqlite" and url.database and not os.path.exists(url.database):
        # SQLite would create an empty file and report nothing to purge,
        # hiding a wrong path forever.
        raise FileNotFoundError(errno.ENOENT, "tracker store file not found", url.database)
    cutoff = (now if now is not None else time.time()) - days * SECONDS_PER_DAY

    engine = sa.create_engine(tracker_url, future=True)
    try:
        if not sa.inspect(engine).has_table("events"):
            logger.info("Tracker store has no events table yet; nothing to purge.")
            return PurgeResult(0, 0)
        events = sa.Table("events", sa.MetaData(), autoload_with=engine)

        expired = (
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < cutoff)
        )
        with engine.begin() as connection:
            sender_ids: List[str] = [row[0] for row in connection.execute(expired)]

        deleted_events = 0
        for start in range(0, len(sender_ids), BATCH_SIZE):
            batch = sender_ids[start:start + BATCH_SIZE]
            condition = events.c.sender_id.in_(batch)
            with engine.begin() as connection:
                if dry_run:
                    count = sa.select(sa.func.count()).select_from(events).where(condition)
                    deleted_events += connection.execute(count).scalar_one()
                else:
                    deleted_events += connection.execute(events.delete().where(condition)).rowcount
    finally:
        engine.dispose()

    logger.info(
        "Retention purge%s: %d conversations, %d events older than %s days.",
        " (dry run)" if dry_run else "", len(sender_ids), deleted_events, days,
    )
    return PurgeResult(len(sender_ids), deleted_events)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the purge from the command line."""
    parser = FrenchArgumentParser(
        prog="python -m bot.retention",
        description=(
            "Supprime les conversations dont le dernier message est plus ancien "
            "que la durée de conservation."
        ),
    )
    parser.add_argument(
        "--days", type=float, metavar="JOURS",
        default=float(os.environ.get("RETENTION_DAYS", DEFAULT_RETENTION_DAYS)),
        help="durée de conservation en jours (par défaut : RETENTION_DAYS, sinon 30)",
    )
    parser.add_argument(
        "--tracker-url", metavar="URL",
        default=os.environ.get("TRACKER_DB_URL") or DEFAULT_TRACKER_URL,
        help="URL SQLAlchemy du stockage des conversations "
        "(par défaut : TRACKER_DB_URL, sinon var/trackers.sqlite3 du dépôt)",
    )
    parser.add_argument(
        "--dry-run", action="store_true",
        help="compter ce qui serait supprimé, sans rien supprimer",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.days < 0:
        print(
            f"Erreur : durée de conservation négative ({args.days:g} jours). "
            "Donnez un nombre de jours positif ou nul.",
            file=sys.stderr,
        )
        return 2
    try:
        result = purge_conversations(args.tracker_url, args.days, dry_run=args.dry_run)
    except FileNotFoundError as error:
        print(
            f"Erreur : base de conversations introuvable ({error.filename}). "
            "Vérifiez --tracker-url ou TRACKER_DB_URL.",
            file=sys.stderr,
        )
        return 1
    except sa.exc.SQLAlchemyError as error:
        logger.error("Retention purge failed: %s", error)
        print(
            "Erreur : la base de conversations est inaccessible. "
            "Vérifiez --tracker-url ou TRACKER_DB_URL.",
            file=sys.stderr,
        )
        return 1

    verb = "seraient supprimés" if args.dry_run else "supprimés"
    days = f"{args.days:g} jour" + ("s" if args.days >= 2 else "")
    print(
        f"{result.conversations} conversation(s) et {result.events} événement(s) {verb} "
        f"(conservation : {days})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
