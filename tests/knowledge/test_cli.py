"""Tests of the command line `python -m knowledge`."""

import json
import os
import subprocess
import sys

import pytest

from knowledge.cli import main

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
    assert "unknown place type 'cfa'" in err
    assert "mission_locale" in err


def test_cli_trainings(capsys, sqlite_url):
    code, out, _err = run_cli(capsys, "trainings", "cuisine", "--diploma", "CAP", "--database-url", sqlite_url)
    assert code == 0
    assert json.loads(out)[0]["name"] == "CAP Cuisine"


def test_cli_trainings_unknown_diploma(capsys, sqlite_url):
    code, _out, err = run_cli(capsys, "trainings", "cuisine", "--diploma", "XYZ", "--database-url", sqlite_url)
    assert code == 1
    assert "Known diplomas" in err


def test_cli_missing_database(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    code, _out, err = run_cli(capsys, "resolve", "Lyon", "--database-url", url)
    assert code == 3
    assert "python -m knowledge import" in err
    assert not (tmp_path / "missing.sqlite3").exists()


def test_cli_import_if_changed(capsys, sqlite_url, data_dir):
    code, out, _err = run_cli(
        capsys, "import", "--if-changed", "--no-progress", "--database-url", sqlite_url, "--data-dir", str(data_dir)
    )
    assert code == 0
    assert "unchanged" in out


def test_cli_import_prints_summary(capsys, tmp_path, data_dir):
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    code, out, _err = run_cli(capsys, "import", "--no-progress", "--database-url", url, "--data-dir", str(data_dir))
    assert code == 0
    assert "communes/laposte_hexasmal_2023.csv: read 39193" in out
    assert "rejected (Monaco or foreign row): 1" in out


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
    assert str(tmp_path / "communes") in completed.stderr
    assert "SECONDE_CHANCE_DATA" in completed.stderr


@pytest.mark.parametrize("argv", [pytest.param(["nearest", "Lyon", "--limit", "0"], id="limit-zero")])
def test_cli_invalid_arguments(argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
