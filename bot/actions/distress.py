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


# Suicidal wording that jokes do not use: a joke marker next to these never
# lowers the level ("jpp je veux en finir" is not hyperbole).
_STRONG_SUICIDE = _patterns(
    r"suicid",
    r"\ben finir\b",
    r"\b(plus|pas) (envie de )?vivre\b",
    r"\bveux plus etre (la|en vie)\b",
    r"mettre fin a (mes jours|ma vie|sa vie|ses jours)",
    r"\bme foutre en l air\b",
    r"dormir pour toujours",
    r"\bidees? noires?\b",
    r"a quoi (ca|sa) sert de vivre",
)

# Patterns run on folded text: lower case, no accents, apostrophes as spaces.
_RULES: Sequence[Tuple[Text, Tuple[Pattern, ...]]] = (
    (
        SUICIDE,
        _STRONG_SUICIDE
        + _patterns(
            r"\b(me|m) tuer\b",
            r"\b(veux|veut|envie de|vais|va) mourir\b(?! de rire)",
            r"\bdisparaitre\b",
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
            r"\bme fais (frapper|taper|battre)\b",
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
            r"\b(me|m) force(nt)? a\b",
            r"\b(m|on m) a forcee?\b",
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
            r"\b(a|dans) la rue\b",
            r"\b(dors|dormir|dormi|vis|vit|vivre) dehors\b",
            r"mis(e)? (a la porte|dehors)",
            r"\b(foutu|foutue|jete|jetee|vire|viree) dehors\b",
            r"vire(e)? de chez",
            r"\bsans (abri|logement|domicile)\b",
            r"\bplus de (logement|toit)\b",
            r"\bsdf\b",
            r"\bfugue\b",
        ),
    ),
    (
        DESPAIR,
        _patterns(
            r"\bj? ?en peux plus\b",
            r"\bjpp\b",
            r"je me sens (nul|nulle|seul|seule|vide|mal)\b",
            r"personne (ne )?m aime",
            r"\bdeprim",
            r"\bmal etre\b",
            r"\bdepression\b",
            # Only at the end: "à quoi ça sert un CIO ?" is a question.
            r"a quoi (ca|sa) sert\s*[?!.]*$",
            r"je (sers|vaux) a rien",
        ),
    ),
)

# Signs that the danger is now: an act under way, a plan for tonight, a
# means at hand, violence under way, a threat at the door.
_IMMEDIATE = _patterns(
    r"\b(j ai|jai|g) (pris|avale) .*(cachets|medocs|medicaments|comprimes|pilules)",
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui|demain matin)\b.*"
    r"\b(en finir|me tuer|me suicider|mourir|sauter|passer a l acte)\b",
    r"\b(en finir|me tuer|me suicider|mourir|sauter|passer a l acte)\b.*"
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui)\b",
    r"\bje vais sauter\b",
    r"\b(corde|couteau|lame|arme)\b.*\b(en finir|me tuer|mourir|me couper)\b",
    r"\b(en train de|est la|il arrive)\b.*\b(frapper|taper|tuer)\b",
    r"\b(frappe|tape|bat)\b.*\b(la maintenant|en ce moment)\b",
    r"\bje suis en danger\b",
    r"\b(il|elle|ils|elles|quelqu un) (est|sont) devant (ma|la|notre) porte\b",
)

# Signs of a friend, pupil or child in danger rather than the writer.
_THIRD_PARTY = _patterns(
    r"\b(ma|mon|une|un) (pote|amie?|copine|copain|soeur|frere|cousine?|fils|fille|eleve|enfant|ado)\b"
    r".*\b(veut|va|pense a|parle de)\b",
)

# Hyperbole and jokes that borrow the words of distress.
_HYPERBOLE = _patterns(
    r"\b(mdr|ptdr|lol|xd|mort de rire)\b",
    r"\b(me|m) tue avec\b",
    r"\bil me tue\b",
    r"\bje vais mourir (si|quand)\b",
    r"\bje vais mourir de (rire|honte|faim|ennui)\b",
    r"\bje (suis|vais etre) mort(e)? (si|de rire)\b",
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


# After the bot asked "est-ce que tu penses à te suicider ?", a plan with a
# time ("oui je vais le faire ce soir") means immediate danger even though
# the message does not name the act.
_PLAN_WITH_TIME = _patterns(
    r"\b(le faire|passer a l acte|j y pense|je vais le faire)\b.*"
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui|demain)\b",
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui|demain)\b.*"
    r"\b(le faire|passer a l acte)\b",
)

# A clear "no" to that question.
_CLEAR_NO = _patterns(
    r"^\s*(non|nan|nn|pas du tout|non merci|non non|jamais)\s*[.!]*$",
    r"^\s*(non|nan),? (ca va|je vais bien|pas du tout)(?! pas)\b",
)


def is_plan_with_time(text: Text) -> bool:
    """Return whether a reply to the suicide question states a plan with a time."""
    folded = fold(text)
    return any(pattern.search(folded) for pattern in _PLAN_WITH_TIME)


def is_clear_no(text: Text) -> bool:
    """Return whether a reply is a plain "no"."""
    folded = fold(text)
    return any(pattern.search(folded) for pattern in _CLEAR_NO)


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
    # that no joke explains (a plan, strong suicidal wording, self-harm,
    # violence, losing one's home).
    serious = bool(
        situations
        & {SELF_HARM, VIOLENCE_HOME, SEXUAL_VIOLENCE, IMMEDIATE_DANGER, HOMELESS, THREATS}
    ) or any(pattern.search(folded) for pattern in _STRONG_SUICIDE)
    hyperbole = hyperbole_marker and not serious

    return Assessment(
        level=level,
        situations=frozenset(situations),
        third_party=third_party,
        hyperbole=hyperbole,
    )
