"""Modified copies of the data directory for the importer and command line tests."""

from __future__ import annotations

from pathlib import Path

PLACE_HEADER = "type,name,address,postal_code,commune,code_insee,latitude,longitude,coord_source,phone,email,website,source,source_date\n"


def linked_data_dir(source: Path, target: Path, extra_places: dict[str, str] | None = None) -> Path:
    """Build a data directory of symbolic links to the real files plus extra place files."""
    target.mkdir()
    for name in ("communes", "academies", "onisep"):
        (target / name).symlink_to(source / name, target_is_directory=True)
    (target / "places").mkdir()
    for path in (source / "places").glob("*.csv"):
        (target / "places" / path.name).symlink_to(path)
    for name, content in (extra_places or {}).items():
        (target / "places" / name).write_text(content, encoding="utf-8")
    return target
