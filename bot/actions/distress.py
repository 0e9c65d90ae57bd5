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

The word patterns are in ``bot.actions.distress_patterns``. The labelled
set tests/nlu/data/distress.yml measures recall and false positives.

NOTE: keyword rules miss paraphrases and are not a classifier. On new
messages written after the rules, they found about half of the distress
messages (see tests/nlu/README.md). They complement the NLU model and a
counsellor's reading, never replace them.
"""

from dataclasses import dataclass, field
from typing import FrozenSet, Set, Text

from bot.actions import distress_patterns as patterns
from bot.actions.distress_patterns import fold, matches_any, normalize

__all__ = ["Assessment", "assess", "fold", "is_clear_no", "is_plan_with_time", "is_unsure_reply"]

SUICIDE = "suicide"
SELF_HARM = "self_harm"
VIOLENCE_HOME = "violence_home"
SEXUAL_VIOLENCE = "sexual_violence"
HARASSMENT = "harassment"
THREATS = "threats"
HOMELESS = "homeless"
DESPAIR = "despair"
IMMEDIATE_DANGER = "immediate_danger"

_RISK_SITUATIONS = frozenset(
    {SUICIDE, SELF_HARM, VIOLENCE_HOME, SEXUAL_VIOLENCE, HARASSMENT, THREATS, HOMELESS}
)

# Situations that no joke explains: a joke marker next to them lowers nothing.
_SERIOUS_SITUATIONS = frozenset(
    {SELF_HARM, VIOLENCE_HOME, SEXUAL_VIOLENCE, IMMEDIATE_DANGER, HOMELESS, THREATS}
)


@dataclass(frozen=True)
class Assessment:
    """What the rules found in a message."""

    level: int
    situations: FrozenSet[Text] = field(default_factory=frozenset)
    third_party: bool = False
    hyperbole: bool = False
    # The writer cannot phone (deaf, no credit, cannot speak), so written
    # ways of getting help come first. It changes no level.
    cannot_call: bool = False
    # The message names a young person (« mon fils », « un élève ») and
    # states no distress of the writer. From an adult writer, such a
    # message is about that young person.
    about_young_person: bool = False
    # Hyperbole about dying or being killed (« mdr je vais mourir si je rate
    # ce cap », « ce prof il me tue »): no safety response, but a check-in
    # after the reply.
    joke_about_death: bool = False

    @property
    def is_distress(self) -> bool:
        """Whether the message needs the safety answer rather than a check-in."""
        return self.level >= 1 and not self.hyperbole


def is_plan_with_time(text: Text) -> bool:
    """Return whether a reply to the suicide question states a plan with a time."""
    return matches_any(patterns.PLAN_WITH_TIME, normalize(text))


def is_unsure_reply(text: Text) -> bool:
    """Return whether a reply to the suicide question is unsure ("jsp", "non pas maintenant")."""
    return matches_any(patterns.UNSURE_REPLY, normalize(text))


def is_clear_no(text: Text) -> bool:
    """Return whether a reply is a plain "no"."""
    return matches_any(patterns.CLEAR_NO, normalize(text))


# Maximum words of a message read as a reply to the check-in, whatever its intent.
MAX_WORDS_OF_CHECK_IN_REPLY = 8


def is_check_in_reply(text: Text) -> bool:
    """Return whether a short message without a question replies to « est-ce que ça va ? » (« tkt », « jsp »).

    The model reads such replies as other intents (« c'était pour rire »
    as out of scope, « jsp » as thanks), so the rules for yes and no would
    miss them.
    """
    if "?" in text or len(text.split()) > MAX_WORDS_OF_CHECK_IN_REPLY:
        return False
    normalized = normalize(text)
    return matches_any(patterns.CHECK_IN_FINE, normalized) or matches_any(patterns.CHECK_IN_NOT_FINE, normalized)


def check_in_reply_is_fine(text: Text, affirm: bool) -> bool:
    """Return whether a reply to « est-ce que ça va ? » means that the user is fine.

    Args:
        text: The reply.
        affirm: Whether the model read the reply as a yes.

    « non ça va » and « nn mdr c une blague » are fine, though they start
    with « non ». « ouais bof » is not, though the model reads a yes.
    """
    normalized = normalize(text)
    if matches_any(patterns.CHECK_IN_NOT_FINE, normalized):
        return False
    return affirm or matches_any(patterns.CHECK_IN_FINE, normalized)


def _violence_situations(normalized: Text) -> Set[Text]:
    """Name the blows, threats and harassment in a message.

    Blows go to VIOLENCE_HOME, unless only school or street words surround
    them ("les autres me frappent dans les vestiaires"), which makes them
    HARASSMENT.
    """
    situations: Set[Text] = set()
    at_home = matches_any(patterns.HOME_CONTEXT, normalized)
    physical = matches_any(patterns.PHYSICAL_VIOLENCE, normalized) or (
        at_home and matches_any(patterns.PHYSICAL_VIOLENCE_AT_HOME, normalized)
    )
    if physical:
        at_school = matches_any(patterns.SCHOOL_CONTEXT, normalized)
        situations.add(HARASSMENT if at_school and not at_home else VIOLENCE_HOME)

    if matches_any(patterns.HARASSMENT, normalized):
        about_topic = matches_any(patterns.HARASSMENT_TOPIC, normalized) and not matches_any(
            patterns.HARASSMENT_VICTIM, normalized
        )
        if not about_topic:
            situations.add(HARASSMENT)

    if matches_any(patterns.THREATS, normalized) or matches_any(patterns.KILL_THREAT, normalized):
        situations.add(THREATS)
    return situations


def _is_figurative_threat(normalized: Text, hyperbole_marker: bool) -> bool:
    """Return whether the only threat is a figure of speech ("ma mère va me tuer si je rentre tard")."""
    if matches_any(patterns.THREATS, normalized) or not matches_any(patterns.KILL_THREAT, normalized):
        return False
    return hyperbole_marker or matches_any(patterns.FIGURATIVE_KILL_THREAT, normalized)


def assess(text: Text) -> Assessment:
    """Grade the distress expressed in a message.

    Args:
        text: The user's message as typed.

    Returns:
        The level, the situations found, whether the message is about
        someone else or looks like hyperbole, whether the writer cannot
        phone, and whether it names a young person.
    """
    normalized = normalize(text)
    situations: Set[Text] = set()
    for situation, situation_patterns in (
        (SUICIDE, patterns.SUICIDE),
        (SELF_HARM, patterns.SELF_HARM),
        (SEXUAL_VIOLENCE, patterns.SEXUAL_VIOLENCE),
        (HOMELESS, patterns.HOMELESS),
        (DESPAIR, patterns.DESPAIR),
    ):
        if matches_any(situation_patterns, normalized):
            situations.add(situation)
    if matches_any(patterns.HOMELESS_AT_HOME, normalized) and matches_any(
        patterns.HOME_CONTEXT, normalized
    ):
        situations.add(HOMELESS)
    situations |= _violence_situations(normalized)

    hyperbole_marker = matches_any(patterns.HYPERBOLE, normalized)
    figurative_threat = _is_figurative_threat(normalized, hyperbole_marker)
    # A real threat from a family member or a partner is also violence at home.
    if THREATS in situations and not figurative_threat and matches_any(
        patterns.FAMILY_CONTEXT, normalized
    ):
        situations.add(VIOLENCE_HOME)

    immediate = matches_any(patterns.IMMEDIATE, normalized)
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
    # violence, losing one's home, a real threat).
    serious_situations = set(_SERIOUS_SITUATIONS)
    if figurative_threat:
        serious_situations.discard(THREATS)
    serious = bool(situations & serious_situations) or matches_any(
        patterns.STRONG_SUICIDE, normalized
    )
    hyperbole = (hyperbole_marker or figurative_threat) and not serious
    laughing = matches_any(patterns.LAUGHTER, normalized)
    joke_about_death = hyperbole and (
        level >= 1
        or figurative_threat
        or matches_any(patterns.FIGURATIVE_DEATH, normalized)
        or (matches_any(patterns.ANNOYANCE_KILL, normalized) and not laughing)
    )

    return Assessment(
        level=level,
        situations=frozenset(situations),
        third_party=matches_any(patterns.THIRD_PARTY, normalized),
        hyperbole=hyperbole,
        cannot_call=matches_any(patterns.CANNOT_CALL, normalized),
        about_young_person=matches_any(patterns.YOUNG_PERSON, normalized)
        and not matches_any(patterns.WRITER_DISTRESS, normalized),
        joke_about_death=joke_about_death,
    )
