"""Tests of knowledge.place_types and knowledge/place_types.yml."""

import logging

import pytest

from knowledge.place_types import load_place_types
from knowledge.search import place_types

EXPECTED = {
    "mission_locale": ("Mission locale", "Missions locales", 30, "https://lannuaire.service-public.fr/"),
    "cio": ("CIO", "CIO", 30, "https://lannuaire.service-public.fr/"),
    "e2c": ("École de la deuxième chance (E2C)", None, 60, "https://reseau-e2c.fr/"),
    "epide": ("Centre EPIDE", None, 150, "https://www.epide.fr/"),
    "micro_lycee": ("Micro-lycée ou structure de retour à l'école", None, 60, "https://www.nouvelles-chances.gouv.fr/"),
    "psad": ("Plateforme de suivi et d'appui aux décrocheurs (PSAD)", None, 30, None),
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_place_type_described(code):
    label, plural, radius, url = EXPECTED[code]
    described = load_place_types()[code]
    assert described.label == label
    assert plural is None or described.label_plural == plural
    assert described.default_radius_km == radius
    assert described.locator_url == url
    assert described.verified


def test_place_type_psad_has_hint():
    psad = load_place_types()["psad"]
    assert "CIO" in psad.locator_hint
    assert "Mission locale" in psad.locator_hint


def test_place_type_psad_has_adult_hint():
    psad = load_place_types()["psad"]
    assert "vous mettra en contact" in psad.locator_hint_adult
    assert "votre secteur" in psad.locator_hint_adult


def test_place_types_cover_data(session):
    assert set(place_types(session)) <= set(load_place_types())


def test_place_type_unknown_falls_back(caplog):
    with caplog.at_level(logging.WARNING, logger="knowledge.place_types"):
        described = load_place_types(["cfa", "cio"])
    assert described["cfa"].label == "cfa"
    assert described["cfa"].described is False
    assert "cfa" in caplog.text


def test_place_type_known_does_not_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="knowledge.place_types"):
        load_place_types(["cio"])
    assert caplog.records == []


def test_place_types_invalid_file(tmp_path):
    path = tmp_path / "types.yml"
    path.write_text("types:\n  cio: {default_radius_km: 30}\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_place_types(path=path)
