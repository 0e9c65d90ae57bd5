"""Tests of bot.actions.distress, the rule layer that grades distress."""

import pytest

from bot.actions import distress
from bot.actions.distress import assess, fold

# (message, expected situation, expected level)
RISK_CASES = [
    ("jen peux plus de tout jai envie de disparaitre", distress.SUICIDE, 2),
    ("je pense a me suicider", distress.SUICIDE, 2),
    ("jveux plus vivre franchement", distress.SUICIDE, 2),
    ("j'ai des idées noires depuis des semaines", distress.SUICIDE, 2),
    ("parfois jaimerais dormir pour toujours", distress.SUICIDE, 2),
    ("ce soir j'ai pris des cachets", distress.IMMEDIATE_DANGER, 3),
    ("je vais en finir ce soir", distress.IMMEDIATE_DANGER, 3),
    ("je me scarifie depuis 2 mois", distress.SELF_HARM, 2),
    ("mon beau pere me frappe quand ma mere est pas la", distress.VIOLENCE_HOME, 2),
    ("il y a de la violence à la maison avec mon père", distress.VIOLENCE_HOME, 2),
    ("j'ai peur pour ma vie chez moi", distress.VIOLENCE_HOME, 2),
    ("des gens de ma classe ont mis des photos de moi sur insta", distress.HARASSMENT, 2),
    ("je me fais harceler au lycée", distress.HARASSMENT, 2),
    ("on m'a menacé de mort sur snap", distress.THREATS, 2),
    ("je suis a la rue depuis hier soir", distress.HOMELESS, 2),
    ("ma mère m'a mis à la porte", distress.HOMELESS, 2),
    ("mon oncle m'a violée", distress.SEXUAL_VIOLENCE, 2),
    ("je me sens nul personne m'aime", distress.DESPAIR, 1),
    ("personne ne me comprend je suis toute seule", distress.DESPAIR, 1),
    ("jsuis tt seul", distress.DESPAIR, 1),
    ("je pleure tous les soirs jai plus de force", distress.DESPAIR, 1),
    ("jai l'impression que ça ira jamais mieux", distress.DESPAIR, 1),
    ("ya plus rien qui va", distress.DESPAIR, 1),
    ("jsuis a bout", distress.DESPAIR, 1),
    ("personne maimerait si je partais", distress.DESPAIR, 1),
    ("jmange plus jdors plus", distress.DESPAIR, 1),
    ("mon copain ma forcé a coucher", distress.SEXUAL_VIOLENCE, 2),
]


@pytest.mark.parametrize(
    "message, situation, level", RISK_CASES, ids=[case[0][:40] for case in RISK_CASES]
)
def test_assess_detects_situation(message, situation, level):
    assessment = assess(message)
    assert situation in assessment.situations
    assert assessment.level == level
    assert assessment.is_distress


@pytest.mark.parametrize(
    "message",
    [
        "mdr je vais mourir si je rate encore ce cap",
        "ce prof il me tue avec ses devoirs",
        "ptdr je suis mort de rire",
    ],
)
def test_assess_hyperbole_not_distress(message):
    assessment = assess(message)
    assert assessment.hyperbole
    assert not assessment.is_distress


@pytest.mark.parametrize(
    "message, joke_about_death",
    [
        ("mdr je vais mourir si je rate encore ce cap", True),
        ("ce prof il me tue avec ses devoirs", True),
        ("jvais crever de honte si jrate mon bac", True),
        ("ma mère va me tuer si je rentre tard", True),
        ("ptdr je suis mort de rire", False),
        ("je vais mourir de rire", False),
        ("mdr c koi l'epide", False),
    ],
)
def test_assess_joke_about_death(message, joke_about_death):
    assessment = assess(message)
    assert assessment.hyperbole
    assert not assessment.is_distress
    assert assessment.joke_about_death is joke_about_death


@pytest.mark.parametrize(
    "message",
    [
        "je cherche une mission locale à Lyon",
        "c quoi l'epide",
        "je veux faire un cap coiffure",
        "jai arrêté le lycée l'an dernier je peux reprendre?",
        "il me faut un violon pour le conservatoire",
        "la formation en violence routière",
        "je suis seule avec mon bébé, je peux reprendre une formation ?",
        "je suis seul à la maison ce soir",
        "je suis seul pour chercher, mes parents m'aident pas",
        "je mange plus de viande, je dors pas mal",
        "il y a plus rien qui va dans cette formation ?",
        "je suis à bout de souffle après le sport",
    ],
)
def test_assess_ordinary_messages(message):
    assert assess(message).level == 0


def test_assess_third_party():
    assessment = assess("ma pote dit qu'elle veut en finir je fais quoi ?")
    assert assessment.third_party
    assert distress.SUICIDE in assessment.situations


@pytest.mark.parametrize(
    "message", ["mon fils est très déprimé depuis qu'il a quitté l'école", "ma pote a l'air déprimée"]
)
def test_assess_third_party_despair(message):
    assessment = assess(message)
    assert assessment.third_party
    assert distress.DESPAIR in assessment.situations


def test_assess_own_despair_about_relative():
    assessment = assess("je suis déprimé depuis que mon fils est parti")
    assert not assessment.third_party
    assert distress.DESPAIR in assessment.situations


def test_assess_joke_marker_does_not_hide_self_harm():
    assessment = assess("mdr je me scarifie tous les soirs")
    assert not assessment.hyperbole
    assert assessment.is_distress


def test_assess_distress_wins_in_mixed_message():
    assessment = assess("je cherche un CAP mais franchement je veux plus vivre")
    assert assessment.level == 2


def test_fold_removes_accents_and_apostrophes():
    assert fold("J’ai ÉTÉ à l'école") == "j ai ete a l ecole"


@pytest.mark.parametrize(
    "message",
    [
        "jsuis sourde je peux pas appeler",
        "je peux pas téléphoner",
        "je ne peux pas appeler le 3114",
        "je suis malentendant",
        "j'ai plus de forfait",
        "g pa de crédit",
        "j'ose pas appeler",
        "je peux pas parler, il est à côté",
    ],
)
def test_assess_cannot_call(message):
    assessment = assess(message)
    assert assessment.cannot_call
    assert assessment.level == 0


@pytest.mark.parametrize(
    "message",
    [
        "je peux pas appeler ma mère, elle travaille",
        "il fait la sourde oreille",
        "je peux pas parler à mes parents",
        "merci jvais appeler demain",
        "jprefere ecrire que telephoner c possible ?",
    ],
)
def test_assess_can_call(message):
    assert not assess(message).cannot_call


def test_assess_cannot_call_keeps_distress():
    assessment = assess("je suis sourde et je veux mourir")
    assert assessment.cannot_call
    assert distress.SUICIDE in assessment.situations


@pytest.mark.parametrize(
    "message",
    ["ma fille se fait frapper au collège", "un élève a des bleus", "ce jeune dort dans la rue", "il se scarifie"],
)
def test_assess_about_young_person(message):
    assert assess(message).about_young_person


@pytest.mark.parametrize(
    "message",
    [
        "mes parents me frappent",
        "ma mère me balance des objets quand elle s'énerve",
        "je suis déprimé depuis que mon fils est parti",
    ],
)
def test_assess_not_about_young_person(message):
    assert not assess(message).about_young_person
