"""Tests of knowledge.regions on the départements of the open data."""

import pytest

from knowledge.regions import find_region


@pytest.mark.parametrize(
    "text, name, codes",
    [
        ("en corse", "Corse", ("2A", "2B")),
        ("je suis en Bretagne", "Bretagne", ("22", "29", "35", "56")),
        ("jhabite en normandie", "Normandie", ("14", "27", "50", "61", "76")),
        ("une mission locale en Île-de-France", "Île-de-France", ("75", "77", "78", "91", "92", "93", "94", "95")),
        ("je vis en auvergne rhone alpes", "Auvergne-Rhône-Alpes", None),
        ("en alsace", "Alsace", ("67", "68")),
        ("jsuis en paca", "Provence-Alpes-Côte d'Azur", ("04", "05", "06", "13", "83", "84")),
    ],
)
def test_region_found(index, text, name, codes):
    region = find_region(index, text)
    assert region is not None
    assert region.name == name
    if codes is not None:
        assert region.departement_codes == codes


def test_longest_region_name_wins(index):
    region = find_region(index, "je vis en auvergne rhone alpes")
    assert len(region.departement_codes) == 12


@pytest.mark.parametrize("text", ["dans le centre", "vers lyon", "je suis en seconde", ""])
def test_no_region_named(index, text):
    assert find_region(index, text) is None


def test_single_departement_region_left_out(index):
    assert find_region(index, "en martinique") is None
