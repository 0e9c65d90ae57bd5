"""Tests of the command line `python -m knowledge`."""

import json
import os
import subprocess
import sys

import pytest

from sqlalchemy import text

from knowledge.cli import main
from knowledge.db import dispose_engine, get_engine
from knowledge.models import Base
from tests.knowledge.data_dirs import linked_data_dir

def run_cli(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_resolve_found(capsys, sqlite_url):
    code, out, _err = run_cli(capsys, "resolve", "Villeurbanne", "--database-url", sqlite_url)
    assert code == 0
    assert json.loads(out)["commune"]["insee_code"] == "69266"


def test_cli_resolve_keeps_accents(capsys, sqlite_url):
    _code, out, _err = run_cli(capsys, "resolve", "Bellegarde-sur-Valserine", "--database-url", sqlite_url)
    assert "Valserhône" in out


def test_cli_resolve_ambiguous(capsys, sqlite_url):
    code, out, _err = run_cli(capsys, "resolve", "Évry", "--database-url", sqlite_url)
    assert code == 2
    assert [candidate["insee_code"] for candidate in json.loads(out)["candidates"]] == ["91228", "89162"]


def test_cli_resolve_not_found(capsys, sqlite_url):
    code, out, _err = run_cli(capsys, "resolve", "Bruxelles", "--database-url", sqlite_url)
    assert code == 1
    assert json.loads(out)["status"] == "not_found"


def test_cli_nearest_places(capsys, sqlite_url):
    code, out, _err = run_cli(
        capsys, "nearest", "69100", "--type", "mission_locale", "--limit", "2", "--database-url", sqlite_url
    )
    data = json.loads(out)
    assert code == 0
    assert data["location"]["commune"]["insee_code"] == "69266"
    assert len(data["places"]) == 2
    assert data["max_distance_km"] == 30


def test_cli_nearest_empty_gives_locator(capsys, sqlite_url):
    code, out, _err = run_cli(capsys, "nearest", "Mamoudzou", "--type", "mission_locale", "--database-url", sqlite_url)
    data = json.loads(out)
    assert code == 0
    assert data["places"] == []
    assert data["locator"]["locator_url"] == "https://lannuaire.service-public.fr/"


def test_cli_nearest_ambiguous(capsys, sqlite_url):
    code, out, _err = run_cli(capsys, "nearest", "Saint-Denis", "--type", "cio", "--database-url", sqlite_url)
    data = json.loads(out)
    assert code == 2
    assert data["location"]["candidates"][0]["insee_code"] == "97411"


def test_cli_nearest_unknown_type(capsys, sqlite_url):
    code, _out, err = run_cli(capsys, "nearest", "Lyon", "--type", "cfa", "--database-url", sqlite_url)
    assert code == 1
    assert "Erreur : type de lieu « cfa » inconnu" in err
    assert "mission_locale" in err


def test_cli_trainings(capsys, sqlite_url):
    code, out, _err = run_cli(capsys, "trainings", "cuisine", "--diploma", "CAP", "--database-url", sqlite_url)
    assert code == 0
    assert json.loads(out)[0]["name"] == "CAP Cuisine"


def test_cli_trainings_unknown_diploma(capsys, sqlite_url):
    code, _out, err = run_cli(capsys, "trainings", "cuisine", "--diploma", "XYZ", "--database-url", sqlite_url)
    assert code == 1
    assert "Erreur : diplôme « XYZ » inconnu" in err
    assert "l'un des diplômes reconnus : " in err
    assert "bac pro" in err


def test_cli_missing_database(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    code, _out, err = run_cli(capsys, "resolve", "Lyon", "--database-url", url)
    assert code == 3
    assert f"Erreur : base de données absente ({url})" in err
    assert "python -m knowledge import" in err
    assert not (tmp_path / "missing.sqlite3").exists()


def test_cli_database_never_imported(capsys, tmp_path):
    (tmp_path / "empty.sqlite3").touch()
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    code, _out, err = run_cli(capsys, "resolve", "Lyon", "--database-url", url)
    dispose_engine(url)
    assert code == 3
    assert f"la base de données {url} ne contient aucun import réussi" in err
    assert "Lancez d'abord : python -m knowledge import" in err


def test_cli_import_if_changed(capsys, sqlite_url, data_dir):
    code, out, _err = run_cli(
        capsys, "import", "--if-changed", "--no-progress", "--database-url", sqlite_url, "--data-dir", str(data_dir)
    )
    assert code == 0
    assert "Fichiers sources inchangés depuis l'import n° " in out
    assert "rien n'a été importé" in out


def test_cli_import_prints_summary(capsys, tmp_path, data_dir):
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    code, out, _err = run_cli(capsys, "import", "--no-progress", "--database-url", url, "--data-dir", str(data_dir))
    assert code == 0
    assert "communes/laposte_hexasmal_2023.csv : lues 39193, gardées " in out
    assert "rejetées (ligne de Monaco ou de l'étranger) : 1" in out
    assert "    corrigées (site web invalide, retiré) : 53" in out
    assert "    avertissements (code postal sans rapport avec la commune) : 13" in out
    assert " réussi en " in out
    assert "Lignes par table : departements " in out


def test_cli_outdated_database(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = get_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT)"))
    Base.metadata.create_all(engine)
    code, _out, err = run_cli(capsys, "resolve", "Villeurbanne", "--database-url", url)
    dispose_engine(url)
    assert code == 3
    assert "a été importée par une version plus ancienne de l'importeur" in err
    assert "python -m knowledge import" in err


def test_cli_import_invalid_file(capsys, tmp_path, data_dir):
    copy = linked_data_dir(data_dir, tmp_path / "data", {"broken.csv": "type,name\ncfa,CFA\n"})
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    code, _out, err = run_cli(capsys, "import", "--no-progress", "--database-url", url, "--data-dir", str(copy))
    dispose_engine(url)
    assert code == 1
    assert "Erreur : fichier de données invalide." in err
    assert f"{copy / 'places' / 'broken.csv'} : colonne(s) manquante(s) address" in err
    assert "(colonnes lues dans l'en-tête : type, name)" in err
    assert "relancez l'import" in err


def subprocess_env(**overrides):
    env = dict(os.environ)
    env.update(overrides)
    return env


def test_cli_module_resolve_exit_code(sqlite_url, repo_root):
    completed = subprocess.run(
        [sys.executable, "-m", "knowledge", "resolve", "Marseile"],
        cwd=repo_root,
        env=subprocess_env(KNOWLEDGE_DATABASE_URL=sqlite_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0
    assert json.loads(completed.stdout)["commune"]["insee_code"] == "13055"


def test_cli_module_import_missing_file(tmp_path, repo_root):
    completed = subprocess.run(
        [sys.executable, "-m", "knowledge", "import", "--data-dir", str(tmp_path), "--database-url", f"sqlite:///{tmp_path / 'kb.sqlite3'}"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1
    assert "Erreur : fichier de données absent" in completed.stderr
    assert str(tmp_path / "communes") in completed.stderr
    assert "SECONDE_CHANCE_DATA" in completed.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["nearest", "Lyon", "--limit", "0"],
            "Erreur : argument --limit : valeur « 0 » invalide, un entier supérieur ou égal à 1 est attendu",
            id="limit-zero",
        ),
        pytest.param(
            ["trainings", "cuisine", "--limit", "abc"],
            "Erreur : argument --limit : valeur « abc » invalide, un entier supérieur ou égal à 1 est attendu",
            id="limit-text",
        ),
        pytest.param(
            ["nearest", "Lyon", "--max-distance", "nan"],
            "Erreur : argument --max-distance : valeur « nan » invalide, un nombre strictement positif est attendu",
            id="max-distance-nan",
        ),
        pytest.param([], "Erreur : argument(s) obligatoire(s) manquant(s) : COMMANDE", id="no-command"),
        pytest.param(["nearest"], "Erreur : argument(s) obligatoire(s) manquant(s) : LIEU", id="no-query"),
        pytest.param(["nearest", "Lyon", "--limit"], "Erreur : argument --limit : une valeur est attendue", id="no-value"),
        pytest.param(["resolve", "Lyon", "--bogus"], "Erreur : argument(s) non reconnu(s) : --bogus", id="unknown-option"),
        pytest.param(["locate", "Lyon"], "Erreur : argument COMMANDE : choix 'locate' invalide", id="unknown-command"),
    ],
)
def test_cli_invalid_arguments(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert message in err
    assert "Utilisation : python -m knowledge" in err


def test_cli_help_french(capsys, monkeypatch):
    # argparse wraps the help to the terminal width, read from COLUMNS.
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_info:
        main(["nearest", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "Utilisation : python -m knowledge nearest" in out
    assert "arguments positionnels :" in out
    assert "afficher cette aide et quitter" in out
    assert "distance maximale en km" in out
