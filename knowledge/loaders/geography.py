"""Readers for départements, communes, postal codes and commune aliases.

Sources (all under the data directory):
    communes/decoupage-administratif-6.0.0/departements.json: départements and chefs-lieux.
    academies/departements_academies.csv: région and académie of each département.
    communes/communes_france_2026.csv: one row per commune object of the 2026 COG.
    communes/decoupage-administratif-6.0.0/communes.json: only `anciensCodes`.
    communes/codes_postaux_2026.csv: (postal code, commune) pairs.
    communes/laposte_hexasmal_2023.csv: only `ligne_5` names and the names of old INSEE codes.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Iterable, Optional

from ..normalize import normalize_name
from .report import DataFormatError, FileReport, parse_coordinate, read_csv

__all__ = [
    "CURRENT_TYPES",
    "build_aliases",
    "load_communes",
    "load_departements",
    "load_postal_codes",
]

logger = logging.getLogger(__name__)

CURRENT_TYPES = ("commune-actuelle", "arrondissement-municipal")
MEMBER_TYPES = ("commune-deleguee", "commune-associee")
COMMUNE_TYPES = CURRENT_TYPES + MEMBER_TYPES

_INSEE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_POSTAL_CODE = re.compile(r"^\d{5}$")
_INTEGER = re.compile(r"^\d+$")

_MEMBER_ALIAS_KIND = {"commune-deleguee": "delegated", "commune-associee": "associated"}

# Words that cannot start or end one side of a compound name. "Saint-Étienne-de-Tinée"
# split after "Étienne" leaves "de Tinée", so "Saint-Étienne" is not one of the
# communes merged into it, whereas "Évry-Courcouronnes" splits into two former names.
_CONNECTOR_WORDS = frozenset(
    "de du des d la le les l sur sous en et aux au a les lez saint sainte saints saintes".split()
)

DEPARTEMENTS_JSON = "communes/decoupage-administratif-6.0.0/departements.json"
ACADEMIES_CSV = "academies/departements_academies.csv"
COMMUNES_CSV = "communes/communes_france_2026.csv"
COMMUNES_JSON = "communes/decoupage-administratif-6.0.0/communes.json"
POSTAL_CODES_CSV = "communes/codes_postaux_2026.csv"
HEXASMAL_CSV = "communes/laposte_hexasmal_2023.csv"


def _load_json_list(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, list):
        raise DataFormatError(f"{path}: expected a JSON array of objects.")
    return data


def load_departements(
    data_dir: Path, progress: Optional[bool]
) -> tuple[list[dict], list[FileReport]]:
    """Read départements.json and merge in the académie table.

    Returns:
        Rows for the `departements` table and the reports of both files.
    """
    json_report = FileReport(DEPARTEMENTS_JSON)
    rows: dict[str, dict] = {}
    for item in _load_json_list(data_dir / DEPARTEMENTS_JSON):
        json_report.read += 1
        code = str(item.get("code") or "").strip()
        name = str(item.get("nom") or "").strip()
        if not code or not name:
            json_report.reject("missing code or name")
            continue
        if code in rows:
            json_report.reject("duplicate")
            continue
        rows[code] = {
            "code": code,
            "name": name,
            "region_code": item.get("region"),
            "region_name": None,
            "academie_code": None,
            "academie_name": None,
            "zone": item.get("zone"),
            "chef_lieu_code": item.get("chefLieu"),
        }
        json_report.keep()

    csv_report = FileReport(ACADEMIES_CSV)
    columns = ("code_departement", "nom_region", "code_academie", "nom_academie")
    for record in read_csv(
        data_dir / ACADEMIES_CSV,
        delimiter=",",
        required_columns=columns,
        display_name=ACADEMIES_CSV,
        progress=progress,
    ):
        csv_report.read += 1
        row = rows.get(record["code_departement"])
        if row is None:
            csv_report.reject("unknown département")
            continue
        if row["region_name"] is not None:
            csv_report.reject("duplicate")
            continue
        row["region_name"] = record["nom_region"] or None
        row["academie_code"] = record["code_academie"] or None
        row["academie_name"] = record["nom_academie"] or None
        csv_report.keep()
    return list(rows.values()), [json_report, csv_report]


def _read_former_codes(data_dir: Path) -> tuple[dict[tuple[str, str], list[str]], FileReport]:
    """Map (INSEE code, type) to the `anciensCodes` list of communes.json."""
    report = FileReport(COMMUNES_JSON)
    former: dict[tuple[str, str], list[str]] = {}
    for item in _load_json_list(data_dir / COMMUNES_JSON):
        report.read += 1
        codes = item.get("anciensCodes") or []
        if not codes:
            report.ignore("no anciensCodes")
            continue
        key = (str(item.get("code")), str(item.get("type")))
        former[key] = [str(code) for code in codes]
    return former, report


def load_communes(
    data_dir: Path, departement_codes: Iterable[str], progress: Optional[bool]
) -> tuple[list[dict], list[FileReport]]:
    """Read communes_france_2026.csv, add former codes and coordinate fallbacks.

    A commune déléguée or associée without coordinates gets those of its parent,
    and `coord_source` becomes "parent_commune:<INSEE code>".
    """
    known_departements = set(departement_codes)
    former_codes, json_report = _read_former_codes(data_dir)
    report = FileReport(COMMUNES_CSV)
    columns = (
        "code_insee", "nom", "type", "commune_parent", "code_departement", "nom_departement",
        "code_region", "nom_region", "code_academie", "nom_academie", "codes_postaux",
        "population", "latitude", "longitude", "coord_source",
    )
    rows: dict[tuple[str, str], dict] = {}
    for record in read_csv(
        data_dir / COMMUNES_CSV,
        delimiter=",",
        required_columns=columns,
        display_name=COMMUNES_CSV,
        progress=progress,
    ):
        report.read += 1
        code = record["code_insee"]
        commune_type = record["type"]
        if not _INSEE_CODE.match(code):
            report.reject("invalid INSEE code")
            continue
        if commune_type not in COMMUNE_TYPES:
            report.reject("unknown commune type")
            continue
        if not record["nom"]:
            report.reject("missing name")
            continue
        if record["code_departement"] not in known_departements:
            report.reject("unknown département")
            continue
        latitude, latitude_valid = parse_coordinate(record["latitude"], -90.0, 90.0)
        if not latitude_valid:
            report.reject("invalid latitude")
            continue
        longitude, longitude_valid = parse_coordinate(record["longitude"], -180.0, 180.0)
        if not longitude_valid:
            report.reject("invalid longitude")
            continue
        if record["population"] and not _INTEGER.match(record["population"]):
            report.reject("invalid population")
            continue
        key = (code, commune_type)
        if key in rows:
            report.reject("duplicate")
            continue
        has_point = latitude is not None and longitude is not None
        rows[key] = {
            "insee_code": code,
            "name": record["nom"],
            "type": commune_type,
            "parent_code": record["commune_parent"] or None,
            "departement_code": record["code_departement"],
            "departement_name": record["nom_departement"] or None,
            "region_code": record["code_region"] or None,
            "region_name": record["nom_region"] or None,
            "academie_code": record["code_academie"] or None,
            "academie_name": record["nom_academie"] or None,
            "postal_codes": record["codes_postaux"],
            "population": int(record["population"]) if record["population"] else None,
            "latitude": latitude if has_point else None,
            "longitude": longitude if has_point else None,
            "coord_source": (record["coord_source"] or "source") if has_point else "unknown",
            "former_codes": "|".join(former_codes.get(key, [])),
        }
        report.keep()

    for key in former_codes:
        if key in rows:
            json_report.keep()
        else:
            json_report.reject("commune not in communes_france_2026.csv")

    _fill_member_coordinates(rows)
    return list(rows.values()), [report, json_report]


def _fill_member_coordinates(rows: dict[tuple[str, str], dict]) -> None:
    # Déléguées and associées mostly lack coordinates, and their parent's centroid
    # is the best available point for them.
    for row in rows.values():
        if row["type"] not in MEMBER_TYPES or row["latitude"] is not None:
            continue
        parent = rows.get((row["parent_code"] or "", "commune-actuelle"))
        if parent is None or parent["latitude"] is None:
            continue
        row["latitude"] = parent["latitude"]
        row["longitude"] = parent["longitude"]
        row["coord_source"] = f"parent_commune:{parent['insee_code']}"


def load_postal_codes(
    data_dir: Path, communes: Iterable[dict], progress: Optional[bool]
) -> tuple[list[dict], FileReport]:
    """Read codes_postaux_2026.csv, keeping pairs whose commune is a current commune."""
    current = {
        row["insee_code"]: row for row in communes if row["type"] in CURRENT_TYPES
    }
    report = FileReport(POSTAL_CODES_CSV)
    seen: set[tuple[str, str]] = set()
    rows: list[dict] = []
    for record in read_csv(
        data_dir / POSTAL_CODES_CSV,
        delimiter=",",
        required_columns=("code_postal", "code_insee"),
        display_name=POSTAL_CODES_CSV,
        progress=progress,
    ):
        report.read += 1
        postal_code = record["code_postal"]
        code = record["code_insee"]
        if not _POSTAL_CODE.match(postal_code):
            report.reject("invalid postal code")
            continue
        commune = current.get(code)
        if commune is None:
            report.reject("unknown INSEE code")
            continue
        if (postal_code, code) in seen:
            report.reject("duplicate")
            continue
        seen.add((postal_code, code))
        rows.append(
            {
                "postal_code": postal_code,
                "insee_code": code,
                "commune_name": commune["name"],
                "commune_type": commune["type"],
                "departement_code": commune["departement_code"],
            }
        )
        report.keep()
    return rows, report


def _is_compound_part(alias: str, official: str) -> bool:
    """Tell whether `alias` is the first or last words of the official name.

    Both arguments are normalised names. The words on each side of the cut must
    not be connectors, so "saint etienne" is not a part of "saint etienne de tinee".
    """
    words = official.split()
    alias_words = alias.split()
    size = len(alias_words)
    if size == 0 or size >= len(words):
        return False
    if words[:size] == alias_words:
        rest = words[size:]
        return words[size - 1] not in _CONNECTOR_WORDS and rest[0] not in _CONNECTOR_WORDS
    if words[-size:] == alias_words:
        rest = words[:-size]
        return alias_words[0] not in _CONNECTOR_WORDS and rest[-1] not in _CONNECTOR_WORDS
    return False


def build_aliases(
    data_dir: Path, communes: Iterable[dict], progress: Optional[bool]
) -> tuple[list[dict], FileReport]:
    """Build the alias table: official names, déléguées/associées and La Poste names.

    From laposte_hexasmal_2023.csv only two things are used: `ligne_5`, and the
    commune name of rows whose INSEE code is an old code (`anciensCodes`), which
    is a former name. A `ligne_5` that is the name of an old code is a former name.
    So is a `ligne_5` that is the first or last words of the current name ("EVRY"
    in Évry-Courcouronnes). Any other `ligne_5` is a locality. Monaco and foreign
    rows (INSEE 99xxx) are rejected.
    """
    communes = list(communes)
    current = {row["insee_code"]: row for row in communes if row["type"] in CURRENT_TYPES}
    member_parent = {
        row["insee_code"]: row["parent_code"] for row in communes if row["type"] in MEMBER_TYPES
    }
    former_to_current: dict[str, str] = {}
    for row in communes:
        for old_code in filter(None, row["former_codes"].split("|")):
            former_to_current[old_code] = row["insee_code"]

    aliases: list[dict] = []
    known: set[tuple[str, str]] = set()

    def add(alias: str, insee_code: str, kind: str, source: str) -> bool:
        normalized = normalize_name(alias)
        if not normalized or (normalized, insee_code) in known:
            return False
        known.add((normalized, insee_code))
        aliases.append(
            {
                "alias_normalized": normalized,
                "alias": alias,
                "insee_code": insee_code,
                "kind": kind,
                "source": source,
            }
        )
        return True

    for row in current.values():
        add(row["name"], row["insee_code"], "official", COMMUNES_CSV)
    for row in communes:
        if row["type"] in MEMBER_TYPES and row["parent_code"] in current:
            add(row["name"], row["parent_code"], _MEMBER_ALIAS_KIND[row["type"]], COMMUNES_CSV)

    rows = list(
        read_csv(
            data_dir / HEXASMAL_CSV,
            delimiter=";",
            required_columns=("code_commune_insee", "nom_de_la_commune", "code_postal", "ligne_5"),
            display_name=HEXASMAL_CSV,
            progress=progress,
        )
    )
    report = FileReport(HEXASMAL_CSV)
    report.read = len(rows)

    # Names of old INSEE codes first, so that a ligne_5 repeating one of them is
    # classified as a former name wherever it appears.
    former_names: dict[str, set[str]] = {}
    for record in rows:
        old_code = record["code_commune_insee"]
        if old_code in former_to_current and old_code not in current:
            target = former_to_current[old_code]
            former_names.setdefault(target, set()).add(normalize_name(record["nom_de_la_commune"]))

    for record in rows:
        code = record["code_commune_insee"]
        if code.startswith("99") or record["code_postal"] == "98000":
            report.reject("Monaco or foreign row")
            continue
        if code in current:
            target = code
        elif code in former_to_current:
            target = former_to_current[code]
        elif member_parent.get(code) in current:
            target = member_parent[code]
        else:
            report.reject("unknown INSEE code")
            continue

        added = False
        if code != target:
            added |= add(record["nom_de_la_commune"], target, "former_name", HEXASMAL_CSV)
        locality = record["ligne_5"]
        if locality:
            normalized = normalize_name(locality)
            official = normalize_name(current[target]["name"])
            is_former = normalized in former_names.get(target, set()) or _is_compound_part(
                normalized, official
            )
            added |= add(locality, target, "former_name" if is_former else "locality", HEXASMAL_CSV)

        if added:
            report.keep()
        elif locality or code != target:
            report.ignore("name already known")
        else:
            report.ignore("no ligne_5 and current INSEE code")
    return aliases, report
