"""Reader for the places/*.csv files (missions locales, CIO, E2C, EPIDE...)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterable, Mapping, Optional

from .contact import is_valid_email, is_valid_website
from .report import FileReport, parse_coordinate, read_csv

__all__ = ["PLACE_COLUMNS", "address_checked", "load_places", "place_files"]

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


def address_checked(
    postal_code: Optional[str],
    insee_code: str,
    postal_codes: Mapping[str, Iterable[str]],
    arrondissement_parents: Mapping[str, str],
) -> bool:
    """Tell whether a place's postal code is consistent with its commune.

    It is False only when the postal code is a regular one (listed in
    codes_postaux_2026.csv) whose communes include neither the row's INSEE code
    nor, for Paris, Lyon and Marseille, a district of the row's city. A CEDEX
    code, an empty field or an unknown code gives True, because there is
    nothing to compare with. A row filed under one district of Lyon with the
    postal code of another district gives False.

    Args:
        postal_codes: postal code -> INSEE codes of its communes and districts.
        arrondissement_parents: district INSEE code -> INSEE code of its city.
    """
    listed = postal_codes.get(postal_code or "")
    if not listed:
        return True
    return any(code == insee_code or arrondissement_parents.get(code) == insee_code for code in listed)


def load_places(
    data_dir: Path,
    commune_codes: Iterable[str],
    progress: Optional[bool],
    *,
    postal_codes: Optional[Mapping[str, Iterable[str]]] = None,
    arrondissement_parents: Optional[Mapping[str, str]] = None,
) -> tuple[list[dict], list[FileReport]]:
    """Read every places/*.csv file.

    The place type is the row's own `type` column, so a new file with a new type
    needs no code change. A row needs a type, a name, a known INSEE code and valid
    coordinates, because the searches rank places by distance.

    An invalid website or e-mail address is set to None and the row is kept (see
    `knowledge.loaders.contact`). `address_checked` is computed by
    `address_checked()`, and a False value is counted as a warning. The data
    itself is never changed.

    Args:
        commune_codes: INSEE codes of the current communes and arrondissements.
        postal_codes: postal code -> INSEE codes; None skips the postal code check.
        arrondissement_parents: district INSEE code -> INSEE code of its city.
    """
    known_codes = set(commune_codes)
    postal_codes = postal_codes or {}
    arrondissement_parents = arrondissement_parents or {}
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
            if row["website"] and not is_valid_website(row["website"]):
                row["website"] = None
                report.correct("invalid website")
            if row["email"] and not is_valid_email(row["email"]):
                row["email"] = None
                report.correct("invalid email")
            row["address_checked"] = address_checked(
                row["postal_code"], row["code_insee"], postal_codes, arrondissement_parents
            )
            if not row["address_checked"]:
                report.warn("postal code not of the commune")
            rows.append(row)
            report.keep()
        reports.append(report)
    return rows, reports
