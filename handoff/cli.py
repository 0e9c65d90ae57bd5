"""Command line of the handoff package: `python -m handoff COMMAND`.

Commands:
    db upgrade        apply the Alembic revisions to HANDOFF_DATABASE_URL.
    create-user       create a console account (password read twice, or from stdin).
    set-password      replace an account's password.
    deactivate-user   deactivate an account and end its sessions.
    list-users        list the accounts.
    purge             delete the data older than the retention periods.
    serve             start the console (handoff.web.app).

Exit codes: 0 success, 1 failure, 2 command line error (as argparse does),
3 database missing or not migrated.

Operators read the help and the messages, so they are in French; logs stay
in English.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import importlib
import logging
import sys
from datetime import datetime
from typing import Optional, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from knowledge.french_argparse import FrenchArgumentParser

from . import accounts
from .config import HandoffSettings, load_settings
from .db import DatabaseNotReadyError, require_current_schema, session_scope, upgrade_database
from .models import utc_now
from .retention import purge

__all__ = ["build_parser", "main"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE_ERROR = 2
EXIT_DATABASE_NOT_READY = 3

UPGRADE_COMMAND = "python -m handoff db upgrade"
ROLE_LABELS = {"counsellor": "conseiller", "admin": "administrateur"}
LOCAL_TIMEZONE = ZoneInfo("Europe/Paris")


class CommandError(Exception):
    """A failure to report to the operator; the message is in French."""


def _positive_int(text: str) -> int:
    message = f"valeur « {text} » invalide, un entier supérieur ou égal à 1 est attendu"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    if value < 1:
        raise argparse.ArgumentTypeError(message)
    return value


def _port(text: str) -> int:
    message = f"port « {text} » invalide, un entier entre 1 et 65535 est attendu"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(message)
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of `python -m handoff`."""
    parser = FrenchArgumentParser(
        prog="python -m handoff",
        description=(
            "Console des conseillers du chatbot « seconde chance » : base de données, "
            "comptes, purge des anciennes données et serveur web."
        ),
        epilog=(
            "Codes de sortie : 0 succès, 1 échec, 2 erreur dans la ligne de commande, "
            "3 base de données absente ou pas à jour."
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="afficher le journal (niveau INFO) sur la sortie d'erreur"
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="URL SQLAlchemy de la base de données (par défaut : HANDOFF_DATABASE_URL, sinon var/handoff.sqlite3)",
    )
    commands = parser.add_subparsers(dest="command", required=True, title="commandes", metavar="COMMANDE")

    db_parser = commands.add_parser(
        "db", help="gérer le schéma de la base de données", description="Gère le schéma de la base de données."
    )
    db_commands = db_parser.add_subparsers(dest="db_command", required=True, title="commandes", metavar="COMMANDE")
    upgrade_parser = db_commands.add_parser(
        "upgrade",
        help="créer ou mettre à jour les tables",
        description="Applique les migrations manquantes ; sans effet sur une base déjà à jour.",
    )
    upgrade_parser.set_defaults(handler=_command_db_upgrade)

    create_parser = commands.add_parser(
        "create-user",
        help="créer un compte de la console",
        description=(
            "Crée un compte de la console. Le mot de passe (au moins 12 caractères) est demandé "
            "deux fois, ou lu sur l'entrée standard avec --password-stdin."
        ),
    )
    create_parser.add_argument(
        "login",
        metavar="IDENTIFIANT",
        help="identifiant de connexion : lettres minuscules sans accent, chiffres, « . », « _ » ou « - »",
    )
    create_parser.add_argument(
        "--role",
        required=True,
        choices=("counsellor", "admin"),
        help="rôle : counsellor (conseiller) ou admin (administrateur, gère aussi les réponses types)",
    )
    create_parser.add_argument(
        "--display-name",
        metavar="NOM",
        help="nom montré aux collègues et aux jeunes (par défaut : « Conseiller »)",
    )
    create_parser.add_argument(
        "--password-stdin", action="store_true", help="lire le mot de passe sur la première ligne de l'entrée standard"
    )
    create_parser.set_defaults(handler=_command_create_user)

    password_parser = commands.add_parser(
        "set-password",
        help="changer le mot de passe d'un compte",
        description="Remplace le mot de passe d'un compte, le débloque et ferme ses sessions ouvertes.",
    )
    password_parser.add_argument("login", metavar="IDENTIFIANT", help="identifiant du compte")
    password_parser.add_argument(
        "--password-stdin", action="store_true", help="lire le mot de passe sur la première ligne de l'entrée standard"
    )
    password_parser.set_defaults(handler=_command_set_password)

    deactivate_parser = commands.add_parser(
        "deactivate-user",
        help="désactiver un compte",
        description="Désactive un compte et ferme ses sessions ; ses conversations sont conservées.",
    )
    deactivate_parser.add_argument("login", metavar="IDENTIFIANT", help="identifiant du compte")
    deactivate_parser.set_defaults(handler=_command_deactivate_user)

    list_parser = commands.add_parser(
        "list-users", help="lister les comptes", description="Affiche les comptes de la console."
    )
    list_parser.set_defaults(handler=_command_list_users)

    purge_parser = commands.add_parser(
        "purge",
        help="supprimer les données plus anciennes que la durée de conservation",
        description=(
            "Supprime les conversations closes et leurs messages, efface l'adresse des demandes de "
            "réponse par e-mail restées sans réponse, supprime les demandes terminées et les "
            "sessions expirées. À lancer chaque jour."
        ),
    )
    purge_parser.add_argument(
        "--days",
        type=_positive_int,
        metavar="N",
        help="durée de conservation en jours des conversations closes et des demandes terminées "
        "(par défaut : HANDOFF_RETENTION_DAYS, sinon 30)",
    )
    purge_parser.add_argument("--dry-run", action="store_true", help="compter sans rien supprimer ni modifier")
    purge_parser.set_defaults(handler=_command_purge)

    serve_parser = commands.add_parser(
        "serve", help="démarrer la console web", description="Démarre la console web des conseillers."
    )
    serve_parser.add_argument("--host", metavar="ADRESSE", help="adresse d'écoute (par défaut : HANDOFF_HOST, sinon 127.0.0.1)")
    serve_parser.add_argument("--port", type=_port, metavar="PORT", help="port d'écoute (par défaut : HANDOFF_PORT, sinon 5006)")
    serve_parser.set_defaults(handler=_command_serve)
    return parser


def _shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _command_db_upgrade(args: argparse.Namespace, settings: HandoffSettings) -> int:
    revision = upgrade_database(settings.database_url)
    print(f"Base de données {_shown_url(settings.database_url)} à jour (révision {revision}).")
    return EXIT_OK


def _read_new_password(from_stdin: bool) -> str:
    if from_stdin:
        # Only the line break is removed: spaces may be part of the password.
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mot de passe : ")
    second = getpass.getpass("Confirmez le mot de passe : ")
    if first != second:
        raise CommandError("les deux mots de passe saisis sont différents. Aucun changement n'a été fait.")
    return first


def _password_error(password: str) -> CommandError:
    if len(password) > accounts.MAX_PASSWORD_LENGTH:
        return CommandError(f"le mot de passe doit contenir au plus {accounts.MAX_PASSWORD_LENGTH} caractères.")
    return CommandError(f"le mot de passe doit contenir au moins {accounts.MIN_PASSWORD_LENGTH} caractères.")


def _command_create_user(args: argparse.Namespace, settings: HandoffSettings) -> int:
    require_current_schema(settings.database_url)
    login = accounts.normalize_login(args.login)
    with session_scope(settings.database_url) as session:
        # Checked before the password prompt, so that the operator does not type it for nothing.
        if accounts.get_counsellor_by_login(session, login) is not None:
            raise CommandError(
                f"le compte « {login} » existe déjà. Pour changer son mot de passe : "
                f"python -m handoff set-password {login}"
            )
    password = _read_new_password(args.password_stdin)
    with session_scope(settings.database_url) as session:
        try:
            counsellor = accounts.create_counsellor(
                session, login, password, role=args.role, display_name=args.display_name
            )
        except accounts.InvalidLogin:
            raise CommandError(
                f"identifiant « {args.login} » invalide. Utilisez de 2 à 64 caractères parmi les lettres "
                "minuscules sans accent, les chiffres, « . », « _ » et « - », en commençant par une "
                "lettre ou un chiffre."
            ) from None
        except accounts.LoginExists:
            raise CommandError(f"le compte « {login} » existe déjà.") from None
        except accounts.PasswordTooShort:
            raise _password_error(password) from None
        except ValueError:
            raise CommandError(
                f"nom affiché trop long : {accounts.MAX_DISPLAY_NAME_LENGTH} caractères au plus."
            ) from None
        role = ROLE_LABELS[counsellor.role]
        print(f"Compte « {counsellor.login} » créé (rôle : {role}, nom affiché : « {counsellor.display_name} »).")
    return EXIT_OK


def _command_set_password(args: argparse.Namespace, settings: HandoffSettings) -> int:
    require_current_schema(settings.database_url)
    login = accounts.normalize_login(args.login)
    with session_scope(settings.database_url) as session:
        if accounts.get_counsellor_by_login(session, login) is None:
            raise CommandError(f"aucun compte ne porte l'identifiant « {login} ».")
    password = _read_new_password(args.password_stdin)
    with session_scope(settings.database_url) as session:
        try:
            accounts.set_password(session, login, password)
        except accounts.UnknownLogin:
            raise CommandError(f"aucun compte ne porte l'identifiant « {login} ».") from None
        except accounts.PasswordTooShort:
            raise _password_error(password) from None
    print(f"Mot de passe du compte « {login} » changé ; ses sessions ouvertes ont été fermées.")
    return EXIT_OK


def _command_deactivate_user(args: argparse.Namespace, settings: HandoffSettings) -> int:
    require_current_schema(settings.database_url)
    login = accounts.normalize_login(args.login)
    with session_scope(settings.database_url) as session:
        try:
            accounts.deactivate_counsellor(session, login)
        except accounts.UnknownLogin:
            raise CommandError(f"aucun compte ne porte l'identifiant « {login} ».") from None
    print(f"Compte « {login} » désactivé ; ses sessions ouvertes ont été fermées.")
    return EXIT_OK


def _format_local(moment: Optional[datetime]) -> str:
    if moment is None:
        return "jamais"
    return moment.astimezone(LOCAL_TIMEZONE).strftime("%d/%m/%Y %H:%M")


def _command_list_users(args: argparse.Namespace, settings: HandoffSettings) -> int:
    require_current_schema(settings.database_url)
    now = utc_now()
    with session_scope(settings.database_url) as session:
        counsellors = accounts.list_counsellors(session)
        rows = []
        for counsellor in counsellors:
            if not counsellor.active:
                state = "désactivé"
            elif counsellor.locked_until is not None and counsellor.locked_until > now:
                state = f"bloqué jusqu'à {counsellor.locked_until.astimezone(LOCAL_TIMEZONE):%H:%M}"
            else:
                state = "actif"
            rows.append(
                (
                    counsellor.login,
                    counsellor.display_name,
                    ROLE_LABELS.get(counsellor.role, counsellor.role),
                    state,
                    _format_local(counsellor.last_login_at),
                )
            )
    if not rows:
        print("Aucun compte. Pour en créer un : python -m handoff create-user IDENTIFIANT --role admin")
        return EXIT_OK
    header = ("Identifiant", "Nom affiché", "Rôle", "État", "Dernière connexion")
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return EXIT_OK


def _command_purge(args: argparse.Namespace, settings: HandoffSettings) -> int:
    require_current_schema(settings.database_url)
    retention_days = args.days or settings.retention_days
    with session_scope(settings.database_url) as session:
        result = purge(
            session,
            retention_days=retention_days,
            followup_retention_days=settings.followup_retention_days,
            dry_run=args.dry_run,
        )
    if args.dry_run:
        print("Simulation : rien n'a été supprimé ni modifié. Une purge réelle ferait ceci :")
    else:
        print("Purge terminée :")
    print(
        f"- conversations closes depuis plus de {retention_days} jours supprimées : "
        f"{result.conversations} ({result.messages} messages)"
    )
    print(
        f"- demandes de réponse par e-mail en attente depuis plus de {settings.followup_retention_days} jours, "
        f"adresse effacée : {result.followups_expired}"
    )
    print(f"- demandes de réponse par e-mail terminées depuis plus de {retention_days} jours supprimées : {result.followups_deleted}")
    print(f"- sessions expirées de la console supprimées : {result.sessions}")
    return EXIT_OK


def _command_serve(args: argparse.Namespace, settings: HandoffSettings) -> int:
    try:
        web_app = importlib.import_module("handoff.web.app")
    except ModuleNotFoundError as error:
        if error.name not in ("handoff.web", "handoff.web.app"):
            raise
        raise CommandError(
            "la console web (module handoff.web.app) est absente de cette installation : "
            "impossible de démarrer le serveur. Les autres commandes fonctionnent sans elle."
        ) from None
    # The secret key signs the console cookies: warn now if it is random.
    settings = dataclasses.replace(
        load_settings(warn_missing_secret=True), database_url=settings.database_url
    )
    require_current_schema(settings.database_url)
    host = args.host or settings.host
    port = args.port or settings.port
    logger.info("Starting the handoff console on %s:%d", host, port)
    serve = getattr(web_app, "serve", None)
    if serve is not None:
        serve(settings, host=host, port=port)
    else:
        web_app.create_app(settings).run(host=host, port=port)
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = load_settings(warn_missing_secret=False)
    except ValueError as error:
        print(f"Erreur : variable d'environnement invalide. {error}", file=sys.stderr)
        return EXIT_FAILURE
    if args.database_url:
        settings = dataclasses.replace(settings, database_url=args.database_url)
    try:
        return args.handler(args, settings)
    except CommandError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return EXIT_FAILURE
    except DatabaseNotReadyError:
        print(
            f"Erreur : la base de données {_shown_url(settings.database_url)} est absente ou pas à jour. "
            f"Lancez d'abord : {UPGRADE_COMMAND}",
            file=sys.stderr,
        )
        return EXIT_DATABASE_NOT_READY
    except KeyboardInterrupt:
        print("\nInterrompu.", file=sys.stderr)
        return EXIT_FAILURE
