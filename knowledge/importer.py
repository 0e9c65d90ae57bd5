"""Import the open data files into the knowledge database.

The import replaces the content of every data table in one transaction, so
running it twice gives the same rows and readers never see a half-loaded base.
Each run is recorded in `import_runs` with a fingerprint of the source files;
`if_changed=True` skips the work when the fingerprint equals the last successful run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from .config import DATA_DIR_ENV, load_settings
from .db import create_schema, get_engine, last_successful_run, outdated_tables, rebuild_outdated_tables
from .loaders.geography import (
    ACADEMIES_CSV,
    COMMUNES_CSV,
    COMMUNES_JSON,
    CURRENT_TYPES,
    DEPARTEMENTS_JSON,
    HEXASMAL_CSV,
    POSTAL_CODES_CSV,
    build_aliases,
    load_communes,
    load_departements,
    load_postal_codes,
)
from .loaders.places import PLACES_DIR, load_places, place_files
from .loaders.report import FileReport
from .loaders.trainings import TRAININGS_CSV, load_trainings
from .models import Commune, CommuneAlias, Departement, ImportRun, Place, PostalCode, Training

__all__ = ["ImportResult", "MissingDataFileError", "compute_fingerprint", "required_files", "run_import"]

logger = logging.getLogger(__name__)

# Part of the fingerprint: raise it when the importer starts producing different
# rows from the same files, so that `--if-changed` imports again.
# Version 2 drops invalid websites and e-mails, adds places.address_checked and
# stores the Onisep links with https.
IMPORTER_VERSION = 2

REQUIRED_FILES = (
    DEPARTEMENTS_JSON,
    ACADEMIES_CSV,
    COMMUNES_CSV,
    COMMUNES_JSON,
    POSTAL_CODES_CSV,
    HEXASMAL_CSV,
    TRAININGS_CSV,
)

# Deleted and filled in this order; the tables have no foreign keys between them.
_DATA_MODELS = (Departement, Commune, PostalCode, CommuneAlias, Place, Training)

_INSERT_CHUNK_ROWS = 5000


class MissingDataFileError(FileNotFoundError):
    """A source file or the places/ directory is missing from the data directory."""


@dataclass
class ImportResult:
    """Outcome of `run_import`.

    Attributes:
        run_id: id of the import run (the previous successful one when skipped).
        skipped: True when `if_changed` found the same fingerprint as the last run.
        fingerprint: fingerprint of the source files.
        reports: one report per source file (empty when skipped).
        table_counts: rows per table after the import (empty when skipped).
        duration_seconds: wall-clock time of the run.
    """

    run_id: int
    skipped: bool
    fingerprint: str
    reports: list[FileReport] = field(default_factory=list)
    table_counts: dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0

    def summary(self) -> dict:
        """Return the JSON-ready summary stored in `import_runs.summary`."""
        return {
            "files": [report.to_dict() for report in self.reports],
            "tables": self.table_counts,
            "duration_seconds": round(self.duration_seconds, 2),
        }


def required_files(data_dir: Path) -> list[Path]:
    """Return every source file of an import, checking that each one exists.

    Raises:
        MissingDataFileError: names the missing path and how to point to the data.
    """
    paths = [data_dir / relative for relative in REQUIRED_FILES]
    for path in paths:
        if not path.is_file():
            raise MissingDataFileError(_missing_message(path))
    places = place_files(data_dir)
    if not places:
        raise MissingDataFileError(_missing_message(data_dir / PLACES_DIR / "*.csv"))
    return paths + places


def _missing_message(path: Path) -> str:
    # The command line prints this message to the operators, so it is in French.
    return (
        f"fichier de données absent ({path}). Indiquez le dossier qui contient communes/, "
        f"academies/, onisep/ et places/ avec la variable {DATA_DIR_ENV} ou l'option --data-dir."
    )


def compute_fingerprint(data_dir: Path, paths: Sequence[Path]) -> str:
    """Hash the relative path, size and SHA-256 of each file, plus IMPORTER_VERSION."""
    digest = hashlib.sha256(f"importer-version:{IMPORTER_VERSION}\n".encode())
    for path in sorted(paths):
        content = hashlib.sha256(path.read_bytes()).hexdigest()
        relative = path.relative_to(data_dir).as_posix()
        digest.update(f"{relative}\t{path.stat().st_size}\t{content}\n".encode())
    return digest.hexdigest()


def run_import(
    database_url: Optional[str] = None,
    data_dir: Optional[Path] = None,
    *,
    if_changed: bool = False,
    progress: Optional[bool] = None,
) -> ImportResult:
    """Import every source file into the database.

    Args:
        database_url: target database; None uses the configured one.
        data_dir: data directory; None uses the configured one.
        if_changed: skip the import when the source files have the fingerprint of
            the last successful run.
        progress: show tqdm progress bars on stderr; None shows them only when
            stderr is a terminal.

    Raises:
        MissingDataFileError: a source file is missing (nothing is written).
        DataFormatError: a source file lacks an expected column (the run is
            recorded as failed and the previous data stays in place).
    """
    settings = load_settings()
    data_dir = Path(data_dir) if data_dir is not None else settings.data_dir
    database_url = database_url or settings.database_url
    started = time.monotonic()

    paths = required_files(data_dir)
    fingerprint = compute_fingerprint(data_dir, paths)
    engine = get_engine(database_url)
    create_schema(engine)

    # Tables of an older importer version cannot be read, so they are imported
    # again whatever the fingerprint.
    if if_changed and not outdated_tables(engine):
        with Session(engine, future=True) as session:
            previous = last_successful_run(session)
            if previous is not None and previous.fingerprint == fingerprint:
                logger.info("Source files unchanged since import run %s; import skipped", previous.id)
                return ImportResult(
                    run_id=previous.id,
                    skipped=True,
                    fingerprint=fingerprint,
                    duration_seconds=time.monotonic() - started,
                )

    run_id = _start_run(engine, fingerprint, data_dir)
    logger.info("Import run %s started from %s", run_id, data_dir)
    try:
        result = _import_in_transaction(engine, run_id, fingerprint, data_dir, progress, started)
    except Exception as error:
        _record_failure(engine, run_id, error)
        logger.exception("Import run %s failed", run_id)
        raise
    logger.info("Import run %s succeeded in %.1f s", run_id, result.duration_seconds)
    return result


def _start_run(engine, fingerprint: str, data_dir: Path) -> int:
    with Session(engine, future=True) as session, session.begin():
        run = ImportRun(
            fingerprint=fingerprint,
            data_dir=str(data_dir),
            started_at=datetime.now(timezone.utc),
            status="running",
        )
        session.add(run)
        session.flush()
        return run.id


def _record_failure(engine, run_id: int, error: Exception) -> None:
    with Session(engine, future=True) as session, session.begin():
        run = session.get(ImportRun, run_id)
        run.status = "failed"
        run.finished_at = datetime.now(timezone.utc)
        run.summary = json.dumps({"error": f"{type(error).__name__}: {error}"}, ensure_ascii=False)


def _import_in_transaction(
    engine, run_id: int, fingerprint: str, data_dir: Path, progress: Optional[bool], started: float
) -> ImportResult:
    departements, reports = load_departements(data_dir, progress)
    communes, commune_reports = load_communes(data_dir, (row["code"] for row in departements), progress)
    reports += commune_reports
    postal_codes, postal_report = load_postal_codes(data_dir, communes, progress)
    aliases, alias_report = build_aliases(data_dir, communes, progress)
    current_codes = {row["insee_code"] for row in communes if row["type"] in CURRENT_TYPES}
    postal_code_communes: dict[str, set[str]] = {}
    for row in postal_codes:
        postal_code_communes.setdefault(row["postal_code"], set()).add(row["insee_code"])
    arrondissement_parents = {
        row["insee_code"]: row["parent_code"]
        for row in communes
        if row["type"] == "arrondissement-municipal" and row["parent_code"]
    }
    places, place_reports = load_places(
        data_dir,
        current_codes,
        progress,
        postal_codes=postal_code_communes,
        arrondissement_parents=arrondissement_parents,
    )
    trainings, training_report = load_trainings(data_dir, progress)
    reports += [postal_report, alias_report, *place_reports, training_report]

    # Only now that every file has been read: a data format error leaves the
    # old tables in place.
    # NOTE: the rebuild is not part of the transaction below, so a database error
    # during the inserts leaves the rebuilt tables empty until the next import.
    rebuild_outdated_tables(engine)

    rows_by_model = {
        Departement: departements,
        Commune: communes,
        PostalCode: postal_codes,
        CommuneAlias: aliases,
        Place: places,
        Training: trainings,
    }
    with Session(engine, future=True) as session, session.begin():
        for model in _DATA_MODELS:
            session.execute(delete(model))
        total = sum(len(rows) for rows in rows_by_model.values())
        disable = None if progress is None else not progress
        with tqdm(total=total, desc="base de données", unit=" lignes", disable=disable, leave=False) as bar:
            for model in _DATA_MODELS:
                rows = rows_by_model[model]
                for start in range(0, len(rows), _INSERT_CHUNK_ROWS):
                    chunk = rows[start : start + _INSERT_CHUNK_ROWS]
                    session.execute(insert(model), chunk)
                    bar.update(len(chunk))
        table_counts = {
            model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in _DATA_MODELS
        }
        result = ImportResult(
            run_id=run_id,
            skipped=False,
            fingerprint=fingerprint,
            reports=reports,
            table_counts=table_counts,
            duration_seconds=time.monotonic() - started,
        )
        run = session.get(ImportRun, run_id)
        run.status = "succeeded"
        run.finished_at = datetime.now(timezone.utc)
        run.summary = json.dumps(result.summary(), ensure_ascii=False)
    return result
