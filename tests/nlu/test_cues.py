"""Checks of the cue-word regexes of bot/data/nlu.yml, the intent features of RegexFeaturizer.

A cue that fires inside an unrelated word teaches the model a false hint:
« écoute » once lit the money cue and « je vais » the leave-taking cue, which
distress messages contain. These cases keep such words out.
"""

import re
from pathlib import Path
from typing import Dict

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAINING_FILE = ROOT / "bot" / "data" / "nlu.yml"


@pytest.fixture(scope="module")
def cues() -> Dict[str, "re.Pattern[str]"]:
    """Compile every `cue_*` regex with re.IGNORECASE, the flag RegexFeaturizer uses when case_sensitive is false."""
    blocks = yaml.safe_load(TRAINING_FILE.read_text(encoding="utf-8"))["nlu"]
    compiled = {}
    for block in blocks:
        if str(block.get("regex", "")).startswith("cue_"):
            patterns = [line.strip()[2:] for line in block["examples"].splitlines() if line.strip()]
            assert len(patterns) == 1, f"{block['regex']} should hold one pattern"
            compiled[block["regex"]] = re.compile(patterns[0], re.IGNORECASE)
    return compiled


@pytest.mark.parametrize(
    ("cue", "text"),
    [
        ("cue_money", "ça coûte combien l'EPIDE ?"),
        ("cue_money", "c'est payé combien en euros ?"),
        ("cue_rights", "j'ai le droit d'arrêter à 16 ans ?"),
        ("cue_training", "je veux reprendre les cours"),
        ("cue_teacher", "je suis prof de maths"),
        ("cue_thanks", "top merci"),
        ("cue_goodbye", "à plus"),
        ("cue_goodbye", "je m'en vais, bonne soirée"),
        ("cue_cancel", "supprime mon adresse"),
        ("cue_hello", "salam"),
        ("cue_hello", "Bonsoir"),
        ("cue_yes", "why not"),
        ("cue_no", "hors de question"),
        ("cue_bot", "je parle à un ordi là ?"),
    ],
)
def test_cue_fires_on_its_words(cues, cue, text):
    assert cues[cue].search(text), f"{cue} missed « {text} »"


@pytest.mark.parametrize(
    ("cue", "text"),
    [
        # The cue's word inside a longer, unrelated word.
        ("cue_money", "écoute moi"),
        ("cue_money", "un stage en Europe"),
        ("cue_rights", "un endroit calme"),
        ("cue_training", "les premiers secours"),
        ("cue_training", "mon parcours"),
        ("cue_teacher", "un lycée professionnel"),
        ("cue_thanks", "stop"),
        ("cue_goodbye", "la mission locale la plus proche"),
        # Phrases of distress messages, search requests and e-mail messages.
        ("cue_goodbye", "je vais pas bien"),
        ("cue_cancel", "arrête de me parler comme ça"),
        ("cue_bot", "un programme de formation"),
        ("cue_where", "je te donne mon adresse mail"),
    ],
)
def test_cue_ignores_unrelated_words(cues, cue, text):
    assert not cues[cue].search(text), f"{cue} fired on « {text} »"
