"""Reader for the places/*.csv files (missions locales, CIO, E2C, EPIDE...)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterable, Optional

from .report import FileReport, parse_coordinate, read_csv

__all__ = ["PLACE_COLUMNS", "load_places", "place_files"]

logger = logging.getLogger(__name__)

PLACES_DIR = "places"

# Common header of every places/*.csv file.
PLACE_COLUMNS = (
    "type", "name", "address", "postal_code", "commune", "code_insee", "latitude",
    "longitude", "coord_source", "phone", "email", "website", "source", "source_date",
)

_TYPE_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


def place_files(data_dir: Path) -> list[Path]:
    """Return the places/*.csv files, sorted by name."""
    return sorted((data_dir / PLACES_DIR).glob("*.csv"))


def load_places(
    data_dir: Path, commune_codes: Iterable[str], progress: Optional[bool]
) -> tuple[list[dict], list[FileReport]]:
    """Read every places/*.csv file.

    The place type is the row's own `type` column, so a new file with a new type
    needs no code change. A row needs a type, a name, a known INSEE code and valid
    coordinates, because the searches rank places by distance.

    Args:
        commune_codes: INSEE codes of the current communes and arrondissements.
    """
    known_codes = set(commune_codes)
    rows: list[dict] = []
    reports: list[FileReport] = []
    seen: set[tuple[str, str, str, str]] = set()
    for path in place_files(data_dir):
        display_name = f"{PLACES_DIR}/{path.name}"
        report = FileReport(display_name)
        for record in read_csv(
            path,
            delimiter=",",
            required_columns=PLACE_COLUMNS,
            display_name=display_name,
            progress=progress,
        ):
            report.read += 1
            place_type = record["type"]
            if not place_type:
                report.reject("missing type")
                continue
            if not _TYPE_SLUG.match(place_type):
                report.reject("invalid type")
                continue
            if not record["name"]:
                report.reject("missing name")
                continue
            if record["code_insee"] not in known_codes:
                report.reject("unknown INSEE code")
                continue
            latitude, latitude_valid = parse_coordinate(record["latitude"], -90.0, 90.0)
            if latitude is None or not latitude_valid:
                report.reject("invalid latitude")
                continue
            longitude, longitude_valid = parse_coordinate(record["longitude"], -180.0, 180.0)
            if longitude is None or not longitude_valid:
                report.reject("invalid longitude")
                continue
            key = (place_type, record["name"], record["address"], record["code_insee"])
            if key in seen:
                report.reject("duplicate")
                continue
            seen.add(key)
            row = {column: (record[column] or None) for column in PLACE_COLUMNS}
            row["latitude"] = latitude
            row["longitude"] = longitude
            row["source_file"] = path.name
            rows.append(row)
            report.keep()
        reports.append(report)
    return rows, reports
