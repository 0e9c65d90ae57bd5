"""Per-file import report and small parsing helpers shared by the readers."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional

from tqdm import tqdm

__all__ = ["REASON_LABELS", "DataFormatError", "FileReport", "parse_coordinate", "read_csv"]

logger = logging.getLogger(__name__)

# French labels of the reasons for the operators' summary. The reasons themselves
# stay English identifiers, because they are the keys of `FileReport.to_dict()`
# stored in `import_runs.summary`.
REASON_LABELS = {
    "Monaco or foreign row": "ligne de Monaco ou de l'étranger",
    "commune not in communes_france_2026.csv": "commune absente de communes_france_2026.csv",
    "duplicate": "doublon",
    "invalid INSEE code": "code INSEE invalide",
    "invalid email": "adresse e-mail invalide, retirée",
    "invalid latitude": "latitude invalide",
    "invalid longitude": "longitude invalide",
    "invalid population": "population invalide",
    "invalid postal code": "code postal invalide",
    "invalid type": "type invalide",
    "invalid website": "site web invalide, retiré",
    "missing code or name": "code ou nom manquant",
    "missing name": "nom manquant",
    "missing type": "type manquant",
    "name already known": "nom déjà connu",
    "no anciensCodes": "liste anciensCodes vide",
    "no ligne_5 and current INSEE code": "ligne_5 vide et code INSEE en vigueur",
    "postal code not of the commune": "code postal sans rapport avec la commune",
    "unknown INSEE code": "code INSEE inconnu",
    "unknown commune type": "type de commune inconnu",
    "unknown département": "département inconnu",
}


class DataFormatError(ValueError):
    """A source file does not have the expected structure (missing columns...)."""


@dataclass
class FileReport:
    """Counts of one source file.

    Every row read ends up in exactly one bucket: kept, rejected (invalid or
    unusable, with a reason) or ignored (valid, but carries nothing this importer
    needs, with a reason). So `read == kept + sum(rejected) + sum(ignored)`.

    Two more counters describe kept rows and are outside that sum: `corrected`
    counts the fields dropped from a kept row (an invalid website...), and
    `warnings` the kept rows whose content looks wrong but is left as it is. A row
    can count once per dropped field and once per warning.
    """

    path: str
    read: int = 0
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    ignored: Counter = field(default_factory=Counter)
    corrected: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)

    def keep(self) -> None:
        self.kept += 1

    def reject(self, reason: str) -> None:
        self.rejected[reason] += 1

    def ignore(self, reason: str) -> None:
        self.ignored[reason] += 1

    def correct(self, reason: str) -> None:
        """Count a field dropped from a row that is kept."""
        self.corrected[reason] += 1

    def warn(self, reason: str) -> None:
        """Count a kept row whose content is suspicious but left unchanged."""
        self.warnings[reason] += 1

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def ignored_total(self) -> int:
        return sum(self.ignored.values())

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data (reasons sorted by count)."""
        return {
            "path": self.path,
            "read": self.read,
            "kept": self.kept,
            "rejected": dict(self.rejected.most_common()),
            "ignored": dict(self.ignored.most_common()),
            "corrected": dict(self.corrected.most_common()),
            "warnings": dict(self.warnings.most_common()),
        }

    def format_lines(self) -> list[str]:
        """Return the French summary lines that the command line prints for operators.

        A reason missing from REASON_LABELS is printed as its English identifier.
        """
        lines = [
            f"{self.path} : lues {self.read}, gardées {self.kept}, "
            f"rejetées {self.rejected_total}, ignorées {self.ignored_total}"
        ]
        for reason, count in self.rejected.most_common():
            lines.append(f"    rejetées ({REASON_LABELS.get(reason, reason)}) : {count}")
        for reason, count in self.ignored.most_common():
            lines.append(f"    ignorées ({REASON_LABELS.get(reason, reason)}) : {count}")
        for reason, count in self.corrected.most_common():
            lines.append(f"    corrigées ({REASON_LABELS.get(reason, reason)}) : {count}")
        for reason, count in self.warnings.most_common():
            lines.append(f"    avertissements ({REASON_LABELS.get(reason, reason)}) : {count}")
        return lines


def read_csv(
    path: Path,
    *,
    delimiter: str,
    required_columns: Iterable[str],
    display_name: str,
    progress: Optional[bool],
) -> Iterator[dict[str, str]]:
    """Yield the rows of a UTF-8 CSV file (a leading BOM is skipped) as dictionaries.

    Raises:
        DataFormatError: a required column is missing from the header.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = reader.fieldnames or []
        missing = [column for column in required_columns if column not in header]
        if missing:
            raise DataFormatError(
                f"{path} : colonne(s) manquante(s) {', '.join(missing)} "
                f"(colonnes lues dans l'en-tête : {', '.join(header) or 'aucune'})."
            )
        rows = tqdm(reader, desc=display_name, unit=" lignes", disable=_tqdm_disable(progress), leave=False)
        for row in rows:
            # Short rows give None values; treat them as empty fields.
            yield {key: (value or "").strip() for key, value in row.items() if key is not None}


def _tqdm_disable(progress: Optional[bool]) -> Optional[bool]:
    # tqdm hides the bar when disable is None and stderr is not a terminal.
    return None if progress is None else not progress


def parse_coordinate(raw: str, minimum: float, maximum: float) -> tuple[Optional[float], bool]:
    """Parse a latitude or longitude.

    Returns:
        (value, valid): (None, True) for an empty field, (None, False) for text
        that is not a number within [minimum, maximum].
    """
    if not raw:
        return None, True
    try:
        value = float(raw)
    except ValueError:
        return None, False
    # The chained comparison is also false for NaN, so NaN is rejected too.
    if not minimum <= value <= maximum:
        return None, False
    return value, True
