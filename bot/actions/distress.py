"""Rule layer that recognises distress in a message and grades its urgency.

The NLU model predicts the ``distress`` intent; these rules say which
situation it is (suicidal thoughts, violence at home, harassment…), how
urgent it is, and whether it is probably hyperbole ("mdr je vais mourir si je
rate ce cap"), so that the answer gives the right numbers.

Levels follow the usual grading of crisis lines:

* 0: nothing detected;
* 1: low mood, discouragement, isolation;
* 2: risk: suicidal thoughts without a plan, self-harm, harassment, violence
  that is not happening now, losing one's home;
* 3: immediate danger: an act under way or planned for now, violence under
  way.

NOTE: keyword rules miss paraphrases and are not a classifier; they
complement the NLU model and a counsellor's reading, never replace them.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from typing import FrozenSet, Pattern, Sequence, Text, Tuple

SUICIDE = "suicide"
SELF_HARM = "self_harm"
VIOLENCE_HOME = "violence_home"
SEXUAL_VIOLENCE = "sexual_violence"
HARASSMENT = "harassment"
THREATS = "threats"
HOMELESS = "homeless"
DESPAIR = "despair"
IMMEDIATE_DANGER = "immediate_danger"


def fold(text: Text) -> Text:
    """Lower-case the text and remove accents and apostrophes."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[’'`ʼ\-_]", " ", without_accents)


def _patterns(*expressions: Text) -> Tuple[Pattern, ...]:
    return tuple(re.compile(expression) for expression in expressions)


# Patterns run on folded text: lower case, no accents, apostrophes as spaces.
_RULES: Sequence[Tuple[Text, Tuple[Pattern, ...]]] = (
    (
        SUICIDE,
        _patterns(
            r"suicid",
            r"\b(me|m) (tuer|foutre en l air)",
            r"\ben finir\b",
            r"\b(plus|pas) (envie de )?vivre\b",
            r"\b(veux|veut|envie de|vais|va) mourir\b(?! de rire)",
            r"\bdisparaitre\b",
            r"dormir pour toujours",
            r"mettre fin a (mes jours|ma vie|sa vie|ses jours)",
            r"\bidees? noires?\b",
            r"a quoi (ca|sa) sert de vivre",
        ),
    ),
    (
        SELF_HARM,
        _patterns(
            r"scarifi",
            r"\b(je|j) me (coupe|mutile|brule)\b",
            r"automutil",
            r"me faire du mal",
            r"\bme couper\b",
        ),
    ),
    (
        VIOLENCE_HOME,
        _patterns(
            r"\b(me|m|nous|la|le) (frappe|frappent|tape|tapent|bat|battent|cogne)\b",
            r"\bviolen(ce|t)s?\b.*\b(maison|pere|mere|parents?|beau pere|belle mere|famille|frere|copain)\b",
            r"\b(maison|pere|mere|parents?|beau pere|belle mere|famille)\b.*\bviolen(ce|t)s?\b",
            r"\bcoups?\b.*\b(maison|pere|mere|parents?)\b",
        ),
    ),
    (
        SEXUAL_VIOLENCE,
        _patterns(
            r"\bviol(e|ee|ees|er)?\b",
            r"attouchement",
            r"agression sexuelle",
            r"\babus(e|ee)? (sexuel|de moi)",
            r"\btouche(r)? (mes|ma) (parties|seins|sexe)",
        ),
    ),
    (
        HARASSMENT,
        _patterns(
            r"harcel",
            r"photos? de moi",
            r"\bnudes?\b",
            r"se moquent? de moi",
            r"cyber",
            r"\binsult(e|ent) tous les jours",
        ),
    ),
    (
        THREATS,
        _patterns(r"menac", r"\bva me (tuer|buter|frapper)\b"),
    ),
    (
        HOMELESS,
        _patterns(
            r"\ba la rue\b",
            r"\b(dors|dormir|dormi) dehors\b",
            r"mis(e)? (a la porte|dehors)",
            r"vire(e)? de chez",
            r"\bsans (abri|logement|domicile)\b",
            r"\bplus de (logement|toit)\b",
            r"\bfugue\b",
        ),
    ),
    (
        DESPAIR,
        _patterns(
            r"\bj? ?en peux plus\b",
            r"je me sens (nul|nulle|seul|seule|vide|mal)\b",
            r"personne (ne )?m aime",
            r"\bdeprim",
            r"\bmal etre\b",
            r"\bdepression\b",
            r"a quoi (ca|sa) sert\b",
            r"je (sers|vaux) a rien",
        ),
    ),
)

# Signs that the danger is now: an act under way, a plan for tonight, a
# means at hand, violence under way.
_IMMEDIATE = _patterns(
    r"\b(j ai|jai|g) (pris|avale) .*(cachets|medocs|medicaments|comprimes|pilules)",
    r"\b(ce soir|cette nuit|maintenant|tout de suite|demain matin)\b.*\b(en finir|me tuer|me suicider|mourir|sauter)\b",
    r"\b(en finir|me tuer|me suicider|mourir|sauter)\b.*\b(ce soir|cette nuit|maintenant|tout de suite)\b",
    r"\bje vais sauter\b",
    r"\b(corde|couteau|lame|arme)\b.*\b(en finir|me tuer|mourir|me couper)\b",
    r"\b(en train de|est la|il arrive)\b.*\b(frapper|taper|tuer)\b",
    r"\b(frappe|tape|bat)\b.*\b(la maintenant|en ce moment)\b",
)

# Signs of a friend, pupil or child in danger rather than the writer.
_THIRD_PARTY = _patterns(
    r"\b(ma|mon|une|un) (pote|amie?|copine|copain|soeur|frere|cousine?|fils|fille|eleve|enfant|ado)\b"
    r".*\b(veut|va|pense a|parle de)\b",
)

# Hyperbole and jokes that borrow the words of distress.
_HYPERBOLE = _patterns(
    r"\b(mdr|ptdr|lol|xd|mort de rire|jpp)\b",
    r"\b(me|m) tue avec\b",
    r"\bil me tue\b",
    r"\bje vais mourir (si|de|quand)\b",
    r"\bje (suis|vais etre) mort(e)? (si|de)\b",
)

_RISK_SITUATIONS = frozenset(
    {SUICIDE, SELF_HARM, VIOLENCE_HOME, SEXUAL_VIOLENCE, HARASSMENT, THREATS, HOMELESS}
)


@dataclass(frozen=True)
class Assessment:
    """What the rules found in a message."""

    level: int
    situations: FrozenSet[Text] = field(default_factory=frozenset)
    third_party: bool = False
    hyperbole: bool = False

    @property
    def is_distress(self) -> bool:
        """Whether the message needs the safety answer rather than a check-in."""
        return self.level >= 1 and not self.hyperbole


def assess(text: Text) -> Assessment:
    """Grade the distress expressed in a message.

    Args:
        text: The user's message as typed.

    Returns:
        The level, the situations found, and whether the message is about
        someone else or looks like hyperbole.
    """
    folded = fold(text)
    situations = {
        situation
        for situation, patterns in _RULES
        if any(pattern.search(folded) for pattern in patterns)
    }
    immediate = any(pattern.search(folded) for pattern in _IMMEDIATE)
    third_party = any(pattern.search(folded) for pattern in _THIRD_PARTY)
    hyperbole_marker = any(pattern.search(folded) for pattern in _HYPERBOLE)

    if immediate:
        situations.add(IMMEDIATE_DANGER)
        level = 3
    elif situations & _RISK_SITUATIONS:
        level = 2
    elif situations:
        level = 1
    else:
        level = 0

    # A joke marker lowers nothing when the message also carries a danger
    # that no joke explains (a plan, self-harm, violence).
    serious = situations & {SELF_HARM, VIOLENCE_HOME, SEXUAL_VIOLENCE, IMMEDIATE_DANGER}
    hyperbole = hyperbole_marker and not serious

    return Assessment(
        level=level,
        situations=frozenset(situations),
        third_party=third_party,
        hyperbole=hyperbole,
    )
