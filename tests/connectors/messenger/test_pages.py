"""Tests of connectors.messenger.pages."""

from pathlib import Path

import pytest

from connectors.messenger.pages import PagesConfigError, Territory, load_pages
from tests.connectors.messenger.helpers import LYON_TERRITORY, PAGE_LYON, PAGE_NATIONAL, TOKEN_ENV, write_pages_file

EXAMPLE = Path(__file__).resolve().parents[3] / "connectors" / "messenger" / "pages.example.yml"
EXAMPLE_ENV = {"MESSENGER_TOKEN_NATIONAL": "a", "MESSENGER_TOKEN_LYON": "b", "MESSENGER_TOKEN_RHONE": "c"}


def write(tmp_path, text):
    path = tmp_path / "pages.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_example_file_loads():
    pages = load_pages(str(EXAMPLE), EXAMPLE_ENV)
    assert sorted(pages) == ["111111111111111", "222222222222222", "333333333333333"]
    assert pages["333333333333333"].territory == Territory(departement="69", label="Rhône")


def test_tokens_read_from_environment(tmp_path):
    pages = load_pages(str(write_pages_file(tmp_path)), TOKEN_ENV)
    assert pages[PAGE_NATIONAL].access_token == "jeton-page-nationale"
    assert pages[PAGE_LYON].access_token == "jeton-page-lyon"
    assert "jeton" not in repr(pages[PAGE_LYON])


def test_national_page_metadata(tmp_path):
    pages = load_pages(str(write_pages_file(tmp_path)), TOKEN_ENV)
    assert pages[PAGE_NATIONAL].metadata() == {"page_id": PAGE_NATIONAL}


def test_local_page_metadata_communes(tmp_path):
    pages = load_pages(str(write_pages_file(tmp_path)), TOKEN_ENV)
    assert pages[PAGE_LYON].metadata() == {"page_id": PAGE_LYON, "territory": LYON_TERRITORY}


def test_departement_metadata():
    assert Territory(departement="2A").to_metadata() == {"departement": "2A"}


def test_page_without_token_left_out(tmp_path, caplog):
    pages = load_pages(str(write_pages_file(tmp_path)), {"MESSENGER_TOKEN_NATIONAL": "x"})
    assert list(pages) == [PAGE_NATIONAL]
    assert "MESSENGER_TOKEN_LYON" in caplog.text


def test_numeric_id_accepted(tmp_path):
    pages = load_pages(write(tmp_path, "pages:\n  - id: 123\n    access_token_env: T\n"), {"T": "x"})
    assert list(pages) == ["123"]


def test_duplicate_communes_merged(tmp_path):
    text = 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {communes: ["69123", "69123", "69266"]}\n'
    assert load_pages(write(tmp_path, text), {"T": "x"})["1"].territory.communes == ("69123", "69266")


INVALID = [
    ("not a list", "pages: {}\n", "has no 'pages' list"),
    ("empty list", "pages: []\n", "has no 'pages' list"),
    ("entry not mapping", "pages:\n  - 123\n", "expected a mapping"),
    ("bad id", 'pages:\n  - id: "abc"\n    access_token_env: T\n', "numeric id"),
    ("no token variable", 'pages:\n  - id: "1"\n', "access_token_env"),
    ("token itself", 'pages:\n  - id: "1"\n    access_token_env: "EAAB xyz"\n', "access_token_env"),
    ("duplicate", 'pages:\n  - id: "1"\n    access_token_env: T\n  - id: "1"\n    access_token_env: T\n', "listed twice"),
    ("both", 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {departement: "69", communes: ["69123"]}\n',
     "exactly one"),
    ("neither", 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {label: Lyon}\n', "exactly one"),
    ("departement number", 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {departement: 69}\n',
     "departement must be"),
    ("departement 96", 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {departement: "96"}\n',
     "departement must be"),
    ("commune number", 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {communes: [69123]}\n',
     "not an INSEE commune code"),
    ("commune empty", 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {communes: []}\n',
     "non-empty list"),
    ("unknown key", 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {region: "84"}\n',
     "unknown territory key"),
    ("empty label", 'pages:\n  - id: "1"\n    access_token_env: T\n    territory: {departement: "69", label: ""}\n',
     "label must be"),
    ("bad yaml", "pages: [\n", "not valid YAML"),
]


@pytest.mark.parametrize("label, text, message", INVALID, ids=[case[0] for case in INVALID])
def test_invalid_file_rejected(tmp_path, label, text, message):
    with pytest.raises(PagesConfigError) as raised:
        load_pages(write(tmp_path, text), {"T": "x"})
    assert message in str(raised.value)
    assert "pages.yml" in str(raised.value)


def test_missing_file_rejected(tmp_path):
    with pytest.raises(PagesConfigError) as raised:
        load_pages(str(tmp_path / "absent.yml"), {})
    assert "cannot read the Messenger pages file" in str(raised.value)
