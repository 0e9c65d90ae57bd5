"""Command line of the knowledge package: `python -m knowledge COMMAND`.

Commands:
    import     load the open data files into the database.
    resolve    resolve a location query and print the Resolution as JSON.
    nearest    resolve a location and print the nearest places as JSON.
    trainings  search the Onisep catalogue and print the trainings as JSON.

Exit codes: 0 success (for `resolve`, found), 1 failure or nothing found,
2 ambiguous location (and command line errors, as argparse does), 3 database
missing or never imported.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from sqlalchemy.orm import Session

from .config import load_settings
from .db import DatabaseNotReadyError, require_imported_database
from .importer import MissingDataFileError, run_import
from .index import get_index
from .loaders.report import DataFormatError
from .place_types import load_place_types
from .resolve import AMBIGUOUS, FOUND, resolve_location
from .search import UnknownDiplomaError, nearest_places, place_types, search_trainings

__all__ = ["main"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_AMBIGUOUS = 2
EXIT_DATABASE_NOT_READY = 3


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected an integer of at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a positive number")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of `python -m knowledge`."""
    parser = argparse.ArgumentParser(
        prog="python -m knowledge",
        description="Knowledge base of the seconde chance chatbot: communes, places for young people, trainings.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages (INFO level) on stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    database_help = "database URL (default: KNOWLEDGE_DATABASE_URL, DATABASE_URL, then var/knowledge.sqlite3)"

    import_parser = commands.add_parser("import", help="import the open data files into the database")
    import_parser.add_argument("--data-dir", type=Path, help="data directory (default: SECONDE_CHANCE_DATA, else shared/data in the parent directory of the repository)")
    import_parser.add_argument("--database-url", help=database_help)
    import_parser.add_argument(
        "--if-changed", action="store_true", help="skip the import when the source files are those of the last successful import"
    )
    import_parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    import_parser.set_defaults(handler=_command_import)

    resolve_parser = commands.add_parser("resolve", help="resolve a location query (name, postal code, département, lat/lon)")
    resolve_parser.add_argument("query", help='for example "Villeurbanne", "69100", "Lyon 3e", "45.767, 4.88"')
    resolve_parser.add_argument("--database-url", help=database_help)
    resolve_parser.set_defaults(handler=_command_resolve)

    nearest_parser = commands.add_parser("nearest", help="list the places nearest to a location")
    nearest_parser.add_argument("query", help="location query, as for resolve")
    nearest_parser.add_argument("--type", dest="place_type", help="place type, e.g. mission_locale, cio, e2c (default: all)")
    nearest_parser.add_argument("--limit", type=_positive_int, default=3, help="maximum number of places (default: 3)")
    nearest_parser.add_argument(
        "--max-distance",
        type=_positive_float,
        help="maximum distance in km (default: the default radius of --type from place_types.yml, no limit without --type)",
    )
    nearest_parser.add_argument("--database-url", help=database_help)
    nearest_parser.set_defaults(handler=_command_nearest)

    trainings_parser = commands.add_parser("trainings", help="search the Onisep training catalogue")
    trainings_parser.add_argument("field", help='field of study, e.g. "cuisine", "petite enfance", "CAP coiffure"')
    trainings_parser.add_argument("--diploma", help="diploma family, e.g. CAP, bac pro, TP, MC, BP")
    trainings_parser.add_argument("--limit", type=_positive_int, default=5, help="maximum number of trainings (default: 5)")
    trainings_parser.add_argument("--database-url", help=database_help)
    trainings_parser.set_defaults(handler=_command_trainings)
    return parser


def _command_import(args: argparse.Namespace) -> int:
    try:
        result = run_import(
            database_url=args.database_url,
            data_dir=args.data_dir,
            if_changed=args.if_changed,
            progress=False if args.no_progress else None,
        )
    except MissingDataFileError as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except DataFormatError as error:
        print(f"Error: invalid data file: {error}", file=sys.stderr)
        return EXIT_FAILURE
    if result.skipped:
        print(f"Source files unchanged since import run {result.run_id}; nothing imported.")
        return EXIT_OK
    for report in result.reports:
        for line in report.format_lines():
            print(line)
    tables = ", ".join(f"{table} {count}" for table, count in result.table_counts.items())
    print(f"Import run {result.run_id} succeeded in {result.duration_seconds:.1f} s: {tables}.")
    return EXIT_OK


def _command_resolve(args: argparse.Namespace) -> int:
    index = get_index(args.database_url)
    resolution = resolve_location(index, args.query)
    _print_json(resolution.to_dict())
    if resolution.status == FOUND:
        return EXIT_OK
    if resolution.status == AMBIGUOUS:
        return EXIT_AMBIGUOUS
    return EXIT_FAILURE


def _command_nearest(args: argparse.Namespace) -> int:
    index = get_index(args.database_url)
    known_types = place_types(index)
    if args.place_type is not None and args.place_type not in known_types:
        print(
            f"Error: unknown place type {args.place_type!r}. Known types: {', '.join(known_types)}.",
            file=sys.stderr,
        )
        return EXIT_FAILURE

    resolution = resolve_location(index, args.query)
    if resolution.status == AMBIGUOUS:
        _print_json({"location": resolution.to_dict(), "places": []})
        return EXIT_AMBIGUOUS
    if resolution.status != FOUND or resolution.latitude is None:
        _print_json({"location": resolution.to_dict(), "places": []})
        return EXIT_FAILURE

    descriptions = load_place_types(known_types)
    max_distance = args.max_distance
    if max_distance is None and args.place_type is not None:
        max_distance = descriptions[args.place_type].default_radius_km
    places = nearest_places(
        index,
        resolution.latitude,
        resolution.longitude,
        place_type=args.place_type,
        limit=args.limit,
        max_distance_km=max_distance,
    )
    output = {
        "location": resolution.to_dict(),
        "place_type": args.place_type,
        "max_distance_km": max_distance,
        "places": [place.to_dict() for place in places],
    }
    if not places and args.place_type is not None:
        output["locator"] = descriptions[args.place_type].to_dict()
    _print_json(output)
    return EXIT_OK


def _command_trainings(args: argparse.Namespace) -> int:
    engine = require_imported_database(args.database_url or load_settings().database_url)
    with Session(engine, future=True) as session:
        try:
            hits = search_trainings(session, args.field, diploma=args.diploma, limit=args.limit)
        except UnknownDiplomaError as error:
            print(f"Error: {error}", file=sys.stderr)
            return EXIT_FAILURE
    _print_json([hit.to_dict() for hit in hits])
    return EXIT_OK if hits else EXIT_FAILURE


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.handler(args)
    except DatabaseNotReadyError as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_DATABASE_NOT_READY
