"""Tests of knowledge.normalize."""

import pytest

from knowledge.normalize import compact_key, normalize_name, tokenize


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("L’Haÿ-les-Roses", "l'hay les roses", id="typographic-apostrophe-and-diaeresis"),
        pytest.param("L'Haÿ-les-Roses", "L ʼHAY LES ROSES", id="modifier-apostrophe-upper-case"),
        pytest.param("Châlons-en-Champagne", "chalons en champagne", id="accents-and-hyphens"),
        pytest.param("St-Étienne", "saint etienne", id="st-expanded"),
        pytest.param("Ste Maxime", "Sainte-Maxime", id="ste-expanded"),
        pytest.param("Bar s/ Seine", "Bar-sur-Seine", id="s-slash-is-sur"),
        pytest.param("Bar s/Seine", "Bar-sur-Seine", id="s-slash-without-space"),
        pytest.param("St. Denis", "Saint-Denis", id="dot-after-abbreviation"),
        pytest.param("  Saint   Denis \t", "saint denis", id="whitespace-collapsed"),
        pytest.param("Œuilly", "oeuilly", id="oe-ligature"),
        pytest.param("L`Isle-Adam", "l'isle adam", id="backquote-apostrophe"),
    ],
)
def test_normalize_equal_forms(first, second):
    assert normalize_name(first) == normalize_name(second)


def test_normalize_exact_output():
    assert normalize_name("L’Haÿ-les-Roses") == "l hay les roses"


def test_normalize_empty_text():
    assert normalize_name("") == ""


def test_normalize_punctuation_only():
    assert normalize_name(" - ' . ") == ""


def test_normalize_keeps_st_inside_words():
    assert normalize_name("Estaires") == "estaires"


def test_normalize_s_inside_word_not_sur():
    assert normalize_name("Lens/Liévin") == "lens lievin"


def test_tokenize_splits_words():
    assert tokenize("Saint-Denis (93)") == ["saint", "denis", "93"]


def test_compact_key_removes_spaces():
    assert compact_key("l hay les roses") == "lhaylesroses"


def test_compact_key_matches_dropped_apostrophe():
    assert compact_key(normalize_name("lhay les roses")) == compact_key(normalize_name("L’Haÿ-les-Roses"))
