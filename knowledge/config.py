"""Settings of the knowledge package, read from environment variables."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPO_ROOT", "Settings", "load_settings"]

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent

DATA_DIR_ENV = "SECONDE_CHANCE_DATA"
DATABASE_URL_ENV = "KNOWLEDGE_DATABASE_URL"
FALLBACK_DATABASE_URL_ENV = "DATABASE_URL"
POINT_DISTANCE_ENV = "KNOWLEDGE_MAX_POINT_DISTANCE_KM"

DEFAULT_MAX_POINT_DISTANCE_KM = 30.0


@dataclass(frozen=True)
class Settings:
    """Configuration of the knowledge base.

    Attributes:
        data_dir: directory that contains communes/, academies/, onisep/ and places/.
        database_url: SQLAlchemy URL of the knowledge database.
        max_point_distance_km: a latitude/longitude query farther than this from every
            commune centroid resolves to "not_found".
    """

    data_dir: Path
    database_url: str
    max_point_distance_km: float = DEFAULT_MAX_POINT_DISTANCE_KM


def default_database_url() -> str:
    """Return the default SQLite URL, `<repo>/var/knowledge.sqlite3`."""
    return f"sqlite:///{REPO_ROOT / 'var' / 'knowledge.sqlite3'}"


def load_settings() -> Settings:
    """Build the settings from the environment.

    Environment variables:
        SECONDE_CHANCE_DATA: data directory (default: `shared/data` in the
            parent directory of the repository).
        KNOWLEDGE_DATABASE_URL, then DATABASE_URL: database URL (default: SQLite
            file `<repo>/var/knowledge.sqlite3`; `var/` is created when the engine is).
        KNOWLEDGE_MAX_POINT_DISTANCE_KM: see `Settings.max_point_distance_km`.

    Raises:
        ValueError: KNOWLEDGE_MAX_POINT_DISTANCE_KM is not a positive number.
    """
    data_dir = Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT.parent / "shared" / "data")
    database_url = (
        os.environ.get(DATABASE_URL_ENV)
        or os.environ.get(FALLBACK_DATABASE_URL_ENV)
        or default_database_url()
    )
    raw_distance = os.environ.get(POINT_DISTANCE_ENV)
    max_point_distance_km = DEFAULT_MAX_POINT_DISTANCE_KM
    if raw_distance:
        try:
            max_point_distance_km = float(raw_distance)
        except ValueError:
            raise ValueError(
                f"Invalid {POINT_DISTANCE_ENV}={raw_distance!r}: expected a number of kilometres."
            ) from None
        if max_point_distance_km <= 0:
            raise ValueError(
                f"Invalid {POINT_DISTANCE_ENV}={raw_distance!r}: expected a positive number of kilometres."
            )
    return Settings(
        data_dir=data_dir.expanduser(),
        database_url=database_url,
        max_point_distance_km=max_point_distance_km,
    )
