"""Tests of FileReport, the per-file import report, and of its French summary."""

import ast
from pathlib import Path

import knowledge.loaders
from knowledge.loaders.report import REASON_LABELS, FileReport


def loader_reasons() -> set[str]:
    """Collect the string literals passed to `.reject()`, `.ignore()`, `.correct()` and `.warn()` in the loaders."""
    reasons = set()
    for path in Path(knowledge.loaders.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("reject", "ignore", "correct", "warn")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                reasons.add(node.args[0].value)
    return reasons


def sample_report() -> FileReport:
    report = FileReport("places/cfa.csv", read=5)
    report.keep()
    report.reject("invalid latitude")
    report.reject("invalid latitude")
    report.reject("duplicate")
    report.ignore("name already known")
    return report


def test_reason_labels_cover_loaders():
    reasons = loader_reasons()
    assert "invalid latitude" in reasons
    assert "invalid website" in reasons
    assert "postal code not of the commune" in reasons
    assert reasons - REASON_LABELS.keys() == set()


def test_format_lines_french():
    assert sample_report().format_lines() == [
        "places/cfa.csv : lues 5, gardées 1, rejetées 3, ignorées 1",
        "    rejetées (latitude invalide) : 2",
        "    rejetées (doublon) : 1",
        "    ignorées (nom déjà connu) : 1",
    ]


def test_format_lines_unknown_reason():
    report = FileReport("places/cfa.csv", read=1)
    report.reject("new reason")
    assert report.format_lines()[1] == "    rejetées (new reason) : 1"


def test_to_dict_keeps_reason_keys():
    data = sample_report().to_dict()
    assert data["rejected"] == {"invalid latitude": 2, "duplicate": 1}
    assert data["ignored"] == {"name already known": 1}


def corrected_report() -> FileReport:
    report = FileReport("places/cio.csv", read=2)
    report.keep()
    report.keep()
    report.correct("invalid website")
    report.correct("invalid email")
    report.warn("postal code not of the commune")
    return report


def test_format_lines_corrected_and_warnings():
    assert corrected_report().format_lines() == [
        "places/cio.csv : lues 2, gardées 2, rejetées 0, ignorées 0",
        "    corrigées (site web invalide, retiré) : 1",
        "    corrigées (adresse e-mail invalide, retirée) : 1",
        "    avertissements (code postal sans rapport avec la commune) : 1",
    ]


def test_corrections_outside_row_balance():
    report = corrected_report()
    assert report.read == report.kept + report.rejected_total + report.ignored_total


def test_to_dict_corrected_and_warnings():
    data = corrected_report().to_dict()
    assert data["corrected"] == {"invalid website": 1, "invalid email": 1}
    assert data["warnings"] == {"postal code not of the commune": 1}
