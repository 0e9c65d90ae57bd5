"""Tests of bot.actions.french."""

import pytest

from bot.actions.french import with_de


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Lyon (69)", "de Lyon (69)"),
        ("Ajaccio (2A)", "d'Ajaccio (2A)"),
        ("Évry-Courcouronnes (91)", "d'Évry-Courcouronnes (91)"),
        ("Le Mans (72)", "du Mans (72)"),
        ("Les Mureaux (78)", "des Mureaux (78)"),
        ("La Rochelle (17)", "de La Rochelle (17)"),
        ("L'Haÿ-les-Roses (94)", "de L'Haÿ-les-Roses (94)"),
        ("Haguenau (67)", "de Haguenau (67)"),
    ],
)
def test_with_de(name, expected):
    assert with_de(name) == expected
