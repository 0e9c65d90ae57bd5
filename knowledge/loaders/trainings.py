"""Reader for the Onisep catalogue "Idéo-Formations initiales en France"."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Optional

from ..normalize import normalize_name
from .report import FileReport, read_csv

__all__ = ["TRAININGS_CSV", "load_trainings", "onisep_https_url"]

logger = logging.getLogger(__name__)

TRAININGS_CSV = "onisep/ideo-formations_initiales_en_france.csv"

_COLUMNS = {
    "cnis_code": "code CNIS",
    "type_acronym": "sigle type formation",
    "type_label": "libellé type formation",
    "name": "libellé formation principal",
    "acronym": "sigle formation",
    "duration": "durée",
    "rncp_code": "code RNCP",
    "rncp_level_code": "niveau RNCP",
    "rncp_level_label": "libellé niveau RNCP",
    "supervision": "tutelle",
    "onisep_url": "lien site onisep.fr",
    "domains": "domaine/sous-domaine",
}

# "niveau 3 (niveau CAP)" -> 3. The label carries the current nomenclature,
# whereas the "niveau RNCP" code uses the older one (5 for CAP).
_LEVEL = re.compile(r"niveau\s+(\d)")
# The 2022 export links to http://www.onisep.fr/, whereas the Onisep lycée files
# of the same data directory already link to https://www.onisep.fr/.
_ONISEP_HTTP = re.compile(r"^http://((?:www\.)?onisep\.fr/)", re.IGNORECASE)


def onisep_https_url(url: Optional[str]) -> Optional[str]:
    """Return an onisep.fr link with the https scheme; other values are returned unchanged."""
    if not url:
        return url
    return _ONISEP_HTTP.sub(r"https://\1", url)


def load_trainings(data_dir: Path, progress: Optional[bool]) -> tuple[list[dict], FileReport]:
    """Read the catalogue (UTF-8 with BOM, ";"-separated) into `trainings` rows."""
    report = FileReport(TRAININGS_CSV)
    rows: list[dict] = []
    seen_urls: set[str] = set()
    for record in read_csv(
        data_dir / TRAININGS_CSV,
        delimiter=";",
        required_columns=_COLUMNS.values(),
        display_name=TRAININGS_CSV,
        progress=progress,
    ):
        report.read += 1
        row = {field: (record[column] or None) for field, column in _COLUMNS.items()}
        if not row["name"]:
            report.reject("missing name")
            continue
        url = row["onisep_url"] = onisep_https_url(row["onisep_url"])
        if url and url in seen_urls:
            report.reject("duplicate")
            continue
        if url:
            seen_urls.add(url)
        level_match = _LEVEL.search(row["rncp_level_label"] or "")
        row["level"] = int(level_match.group(1)) if level_match else None
        row["search_text"] = normalize_name(f"{row['name']} {row['domains'] or ''}")
        rows.append(row)
        report.keep()
    return rows, report
