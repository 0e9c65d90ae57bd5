"""Command line of the knowledge package: `python -m knowledge COMMAND`.

Commands:
    import     load the open data files into the database.
    resolve    resolve a location query and print the Resolution as JSON.
    nearest    resolve a location and print the nearest places as JSON.
    trainings  search the Onisep catalogue and print the trainings as JSON.
    nlu-names  write the commune names that the NLU model gets as a feature.

Exit codes: 0 success (for `resolve`, found), 1 failure or nothing found,
2 ambiguous location (and command line errors, as argparse does), 3 database
missing or never imported.

Operators read the help, the messages and the import summary, so they are in
French; the JSON output keeps its English keys.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from .config import load_settings
from .french_argparse import FrenchArgumentParser
from .db import DatabaseNotReadyError, get_engine, outdated_tables, require_imported_database, sqlite_file_path
from .importer import MissingDataFileError, run_import
from .index import get_index
from .loaders.report import DataFormatError
from .nlu_names import write_names_file
from .place_types import load_place_types
from .resolve import AMBIGUOUS, FOUND, resolve_location
from .search import UnknownDiplomaError, known_diplomas, nearest_places, place_types, search_trainings

__all__ = ["main"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_AMBIGUOUS = 2
EXIT_DATABASE_NOT_READY = 3
# Same code as argparse for command line errors.
EXIT_USAGE_ERROR = 2

IMPORT_COMMAND = "python -m knowledge import"

def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _positive_int(text: str) -> int:
    message = f"valeur « {text} » invalide, un entier supérieur ou égal à 1 est attendu"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    if value < 1:
        raise argparse.ArgumentTypeError(message)
    return value


def _positive_float(text: str) -> float:
    message = f"valeur « {text} » invalide, un nombre strictement positif est attendu"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    # `not value > 0` is also true for NaN, which would make every distance comparison false.
    if not value > 0:
        raise argparse.ArgumentTypeError(message)
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of `python -m knowledge`."""
    parser = FrenchArgumentParser(
        prog="python -m knowledge",
        description=(
            "Base de connaissances du chatbot « seconde chance » : communes, "
            "lieux d'accueil des jeunes et formations."
        ),
        epilog=(
            "Codes de sortie : 0 succès, 1 échec ou aucun résultat, 2 lieu ambigu "
            "ou erreur dans la ligne de commande, 3 base de données absente ou jamais importée."
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="afficher le journal de progression (niveau INFO) sur la sortie d'erreur"
    )
    commands = parser.add_subparsers(dest="command", required=True, title="commandes", metavar="COMMANDE")

    database_help = (
        "URL SQLAlchemy de la base de données (par défaut : KNOWLEDGE_DATABASE_URL, "
        "sinon DATABASE_URL, sinon var/knowledge.sqlite3)"
    )

    import_parser = commands.add_parser(
        "import",
        help="importer les fichiers de données ouvertes dans la base",
        description="Importe les fichiers de données ouvertes dans la base et affiche le bilan de chaque fichier.",
    )
    import_parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DOSSIER",
        help="dossier des fichiers de données (par défaut : SECONDE_CHANCE_DATA, sinon shared/data dans le dossier parent du dépôt)",
    )
    import_parser.add_argument("--database-url", metavar="URL", help=database_help)
    import_parser.add_argument(
        "--if-changed",
        action="store_true",
        help="ne rien importer si les fichiers sources sont ceux du dernier import réussi",
    )
    import_parser.add_argument("--no-progress", action="store_true", help="masquer les barres de progression")
    import_parser.set_defaults(handler=_command_import)

    resolve_parser = commands.add_parser(
        "resolve",
        help="identifier un lieu (nom, code postal, département, latitude/longitude) et l'afficher en JSON",
        description="Identifie le lieu désigné par une requête et l'affiche en JSON.",
    )
    resolve_parser.add_argument(
        "query", metavar="LIEU", help="lieu recherché, par exemple « Villeurbanne », « 69100 », « Lyon 3e », « 45.767, 4.88 »"
    )
    resolve_parser.add_argument("--database-url", metavar="URL", help=database_help)
    resolve_parser.set_defaults(handler=_command_resolve)

    nearest_parser = commands.add_parser(
        "nearest",
        help="lister en JSON les lieux d'accueil les plus proches d'un lieu",
        description="Identifie un lieu, puis affiche en JSON les lieux d'accueil les plus proches.",
    )
    nearest_parser.add_argument("query", metavar="LIEU", help="lieu recherché, comme pour la commande resolve")
    nearest_parser.add_argument(
        "--type",
        dest="place_type",
        metavar="TYPE",
        help="type de lieu, par exemple mission_locale, cio, e2c (par défaut : tous les types)",
    )
    nearest_parser.add_argument(
        "--limit", type=_positive_int, default=3, metavar="N", help="nombre maximal de lieux (par défaut : 3)"
    )
    nearest_parser.add_argument(
        "--max-distance",
        type=_positive_float,
        metavar="KM",
        help=(
            "distance maximale en km (par défaut : le rayon défini pour le type --type "
            "dans place_types.yml, sans limite si --type est absent)"
        ),
    )
    nearest_parser.add_argument("--database-url", metavar="URL", help=database_help)
    nearest_parser.set_defaults(handler=_command_nearest)

    trainings_parser = commands.add_parser(
        "trainings",
        help="rechercher des formations dans le catalogue Onisep et les afficher en JSON",
        description="Recherche des formations dans le catalogue Onisep et les affiche en JSON.",
    )
    trainings_parser.add_argument(
        "field", metavar="DOMAINE", help="domaine recherché, par exemple « cuisine », « petite enfance », « CAP coiffure »"
    )
    trainings_parser.add_argument(
        "--diploma",
        metavar="DIPLÔME",
        help="famille de diplômes, par exemple CAP, bac pro, TP, MC, BP (par défaut : toutes)",
    )
    trainings_parser.add_argument(
        "--limit", type=_positive_int, default=5, metavar="N", help="nombre maximal de formations (par défaut : 5)"
    )
    trainings_parser.add_argument("--database-url", metavar="URL", help=database_help)
    trainings_parser.set_defaults(handler=_command_trainings)

    names_parser = commands.add_parser(
        "nlu-names",
        help="écrire la liste des noms de communes que le modèle Rasa reçoit comme indice",
        description=(
            "Écrit la liste des noms de communes et de départements, un par ligne, que le "
            "composant CommuneNameFeaturizer du modèle Rasa lit à l'entraînement."
        ),
    )
    names_parser.add_argument(
        "--out",
        type=Path,
        default=Path("var/nlu/communes.txt"),
        metavar="FICHIER",
        help="fichier à écrire (par défaut : var/nlu/communes.txt)",
    )
    names_parser.add_argument("--database-url", metavar="URL", help=database_help)
    names_parser.set_defaults(handler=_command_nlu_names)
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
        print(f"Erreur : {error}", file=sys.stderr)
        return EXIT_FAILURE
    except DataFormatError as error:
        print(
            f"Erreur : fichier de données invalide. {error} L'import est annulé et les tables "
            "de données n'ont pas été modifiées. Corrigez ou remplacez ce fichier, puis relancez l'import.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    if result.skipped:
        print(f"Fichiers sources inchangés depuis l'import n° {result.run_id} : rien n'a été importé.")
        return EXIT_OK
    for report in result.reports:
        for line in report.format_lines():
            print(line)
    tables = ", ".join(f"{table} {count}" for table, count in result.table_counts.items())
    duration = f"{result.duration_seconds:.1f}".replace(".", ",")
    print(f"Import n° {result.run_id} réussi en {duration} s. Lignes par table : {tables}.")
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


def _command_nlu_names(args: argparse.Namespace) -> int:
    count = write_names_file(get_index(args.database_url), args.out)
    print(f"{count} noms de communes et de départements écrits dans {args.out}", file=sys.stderr)
    return EXIT_OK


def _command_nearest(args: argparse.Namespace) -> int:
    index = get_index(args.database_url)
    known_types = place_types(index)
    if args.place_type is not None and args.place_type not in known_types:
        print(
            f"Erreur : type de lieu « {args.place_type} » inconnu. Indiquez avec --type "
            f"l'un des types présents dans la base : {', '.join(known_types)}.",
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
        except UnknownDiplomaError:
            print(
                f"Erreur : diplôme « {args.diploma} » inconnu. Indiquez avec --diploma "
                f"l'un des diplômes reconnus : {', '.join(known_diplomas())}.",
                file=sys.stderr,
            )
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
    except DatabaseNotReadyError:
        print(_database_not_ready_message(args.database_url or load_settings().database_url), file=sys.stderr)
        return EXIT_DATABASE_NOT_READY


def _database_not_ready_message(url: str) -> str:
    """Return the French message for a DatabaseNotReadyError raised on `url`.

    It checks the same conditions as `require_imported_database`: a SQLite file
    that does not exist, tables made by an older importer, otherwise a database
    without a successful import.
    """
    shown_url = make_url(url).render_as_string(hide_password=True)
    sqlite_path = sqlite_file_path(url)
    if sqlite_path is not None and not sqlite_path.exists():
        return f"Erreur : base de données absente ({shown_url}). Lancez d'abord : {IMPORT_COMMAND}"
    if outdated_tables(get_engine(url)):
        return (
            f"Erreur : la base de données {shown_url} a été importée par une version plus ancienne "
            f"de l'importeur. Relancez l'import : {IMPORT_COMMAND}"
        )
    return f"Erreur : la base de données {shown_url} ne contient aucun import réussi. Lancez d'abord : {IMPORT_COMMAND}"
