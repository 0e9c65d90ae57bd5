"""Tests of the command line `python -m handoff`."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from handoff import accounts
from handoff.cli import main
from handoff.db import dispose_engine, get_sessionmaker, head_revision

PASSWORD = "un mot de passe solide"


def run_cli(capsys, monkeypatch, *args, stdin=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def logins(url):
    with get_sessionmaker(url)() as session:
        return [counsellor.login for counsellor in accounts.list_counsellors(session)]


def test_cli_db_upgrade_creates(capsys, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    try:
        code, out, _err = run_cli(capsys, monkeypatch, "--database-url", url, "db", "upgrade")
        second_code, _out, _err = run_cli(capsys, monkeypatch, "--database-url", url, "db", "upgrade")
    finally:
        dispose_engine(url)
    assert code == 0
    assert second_code == 0
    assert f"à jour (révision {head_revision()})" in out


def test_cli_create_user_stdin(capsys, monkeypatch, sqlite_url):
    code, out, _err = run_cli(
        capsys,
        monkeypatch,
        "--database-url",
        sqlite_url,
        "create-user",
        "Marie",
        "--role",
        "admin",
        "--display-name",
        "Marie D.",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0
    assert out == "Compte « marie » créé (rôle : administrateur, nom affiché : « Marie D. »).\n"
    with get_sessionmaker(sqlite_url)() as session:
        assert accounts.authenticate(session, "marie", PASSWORD).ok


def test_cli_create_user_short_password(capsys, monkeypatch, sqlite_url):
    code, out, err = run_cli(
        capsys,
        monkeypatch,
        "--database-url",
        sqlite_url,
        "create-user",
        "paul",
        "--role",
        "counsellor",
        "--password-stdin",
        stdin="court\n",
    )
    assert code == 1
    assert out == ""
    assert err == "Erreur : le mot de passe doit contenir au moins 12 caractères.\n"
    assert logins(sqlite_url) == []


def test_cli_create_user_getpass_mismatch(capsys, monkeypatch, sqlite_url):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _out, err = run_cli(capsys, monkeypatch, "--database-url", sqlite_url, "create-user", "paul", "--role", "counsellor")
    assert code == 1
    assert "les deux mots de passe saisis sont différents" in err
    assert logins(sqlite_url) == []


def test_cli_create_user_getpass(capsys, monkeypatch, sqlite_url):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    code, _out, _err = run_cli(capsys, monkeypatch, "--database-url", sqlite_url, "create-user", "paul", "--role", "counsellor")
    assert code == 0
    assert logins(sqlite_url) == ["paul"]


def test_cli_create_user_duplicate(capsys, monkeypatch, sqlite_url):
    arguments = ("--database-url", sqlite_url, "create-user", "paul", "--role", "counsellor", "--password-stdin")
    run_cli(capsys, monkeypatch, *arguments, stdin=PASSWORD + "\n")
    code, _out, err = run_cli(capsys, monkeypatch, *arguments, stdin=PASSWORD + "\n")
    assert code == 1
    assert "le compte « paul » existe déjà" in err


def test_cli_create_user_invalid_login(capsys, monkeypatch, sqlite_url):
    code, _out, err = run_cli(
        capsys,
        monkeypatch,
        "--database-url",
        sqlite_url,
        "create-user",
        "marie dupont",
        "--role",
        "counsellor",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 1
    assert "identifiant « marie dupont » invalide" in err


def test_cli_create_user_missing_role(capsys, monkeypatch, sqlite_url):
    with pytest.raises(SystemExit) as caught:
        main(["--database-url", sqlite_url, "create-user", "paul"])
    assert caught.value.code == 2
    assert "argument(s) obligatoire(s) manquant(s) : --role" in capsys.readouterr().err


def create(capsys, monkeypatch, url, login, role="counsellor"):
    run_cli(
        capsys, monkeypatch, "--database-url", url, "create-user", login, "--role", role, "--password-stdin",
        stdin=PASSWORD + "\n",
    )


def test_cli_list_users(capsys, monkeypatch, sqlite_url):
    create(capsys, monkeypatch, sqlite_url, "marie", "admin")
    create(capsys, monkeypatch, sqlite_url, "paul")
    code, out, _err = run_cli(capsys, monkeypatch, "--database-url", sqlite_url, "list-users")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["Identifiant", "Nom", "affiché", "Rôle", "État", "Dernière", "connexion"]
    assert lines[1].split() == ["marie", "Conseiller", "administrateur", "actif", "jamais"]
    assert lines[2].split() == ["paul", "Conseiller", "conseiller", "actif", "jamais"]


def test_cli_list_users_empty(capsys, monkeypatch, sqlite_url):
    code, out, _err = run_cli(capsys, monkeypatch, "--database-url", sqlite_url, "list-users")
    assert code == 0
    assert out.startswith("Aucun compte.")


def test_cli_set_password(capsys, monkeypatch, sqlite_url):
    create(capsys, monkeypatch, sqlite_url, "paul")
    code, out, _err = run_cli(
        capsys, monkeypatch, "--database-url", sqlite_url, "set-password", "paul", "--password-stdin",
        stdin="nouveau mot de passe\n",
    )
    assert code == 0
    assert "Mot de passe du compte « paul » changé" in out
    with get_sessionmaker(sqlite_url)() as session:
        assert accounts.authenticate(session, "paul", "nouveau mot de passe").ok


def test_cli_set_password_unknown(capsys, monkeypatch, sqlite_url):
    code, _out, err = run_cli(
        capsys, monkeypatch, "--database-url", sqlite_url, "set-password", "personne", "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 1
    assert err == "Erreur : aucun compte ne porte l'identifiant « personne ».\n"


def test_cli_deactivate_user(capsys, monkeypatch, sqlite_url):
    create(capsys, monkeypatch, sqlite_url, "paul")
    code, _out, _err = run_cli(capsys, monkeypatch, "--database-url", sqlite_url, "deactivate-user", "paul")
    _code, out, _err = run_cli(capsys, monkeypatch, "--database-url", sqlite_url, "list-users")
    assert code == 0
    assert "désactivé" in out.splitlines()[1]


def test_cli_purge_dry_run(capsys, monkeypatch, sqlite_url):
    code, out, _err = run_cli(capsys, monkeypatch, "--database-url", sqlite_url, "purge", "--days", "10", "--dry-run")
    assert code == 0
    assert out.startswith("Simulation : rien n'a été supprimé ni modifié.")
    assert "conversations closes depuis plus de 10 jours supprimées : 0 (0 messages)" in out


def test_cli_purge_invalid_days(capsys, monkeypatch, sqlite_url):
    with pytest.raises(SystemExit) as caught:
        main(["--database-url", sqlite_url, "purge", "--days", "0"])
    assert caught.value.code == 2
    assert "un entier supérieur ou égal à 1 est attendu" in capsys.readouterr().err


def test_cli_database_not_migrated(capsys, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'absent.sqlite3'}"
    code, _out, err = run_cli(capsys, monkeypatch, "--database-url", url, "list-users")
    assert code == 3
    assert "Lancez d'abord : python -m handoff db upgrade" in err
    assert not (tmp_path / "absent.sqlite3").exists()


def test_cli_serve_without_web_app(capsys, monkeypatch, sqlite_url):
    # None in sys.modules makes the import fail as if handoff.web.app were not installed.
    monkeypatch.setitem(sys.modules, "handoff.web.app", None)
    code, _out, err = run_cli(capsys, monkeypatch, "--database-url", sqlite_url, "serve")
    assert code == 1
    assert "la console web (module handoff.web.app) est absente" in err


def test_cli_module_help(repo_root):
    completed = subprocess.run(
        [sys.executable, "-m", "handoff", "--help"], cwd=repo_root, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("Utilisation : python -m handoff")
