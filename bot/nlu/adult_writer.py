"""Words that show that an adult wrote a message: a parent, a relative or a professional.

The ``parent_question`` and ``teacher_question`` intents select the replies
for an adult and address the user with « vous » for the rest of the
conversation. A young person who gets those replies is misled, so
`bot.nlu.safety_rules` keeps these intents only for a message that contains
one of these words: a child of the writer (« mon fils »), a relative or a job
the writer names (« je suis formatrice »), pupils or young people the writer
speaks about (« un élève », « ce jeune »), or the words of school staff
(« conseil de classe », « GPDS »).

`introduces_adult` is narrower: it finds a writer who says who they are
(« je suis la mère de Léa », « en tant que CPE ») or speaks of their own
child or pupils, on any intent, so that the greeting sent for
« Bonjour, je suis la mère de Léa » already says « vous ».

NOTE: an adult who writes none of these words (« comment l'aider à trouver
une formation ? ») gets the reply for a young person, in « tu ». That error
is milder than the opposite one, and a later parent or teacher question
with such a word switches to « vous ».
"""

import re
from typing import List, Text

from bot.actions.distress_patterns import fold, normalize

_CHILD_WORDS = (
    r"fils|filles?|enfants?|ados?|adolescente?s?|gars|garcon|petite?|grande?|ainee?|cadette?"
    r"|neveu|niece|petit\s+fils|petite\s+fille|beau\s+fils|belle\s+fille|eleves?|classes?"
)

_RELATIVE_OR_JOB = (
    r"tante|oncle|grand\s+mere|grand\s+pere|marraine|parrain|mere|pere|maman|papa|tuteur|tutrice"
    r"|prof\w*|enseign\w*|cpe|animat\w*|conseill\w*|format\w*|mediat\w*|coordinat\w*|psycholog\w*"
    r"|educat\w*|assistante?\s+social\w*|infirmi\w*|direct\w*|principal\w*|proviseu\w*|referent\w*"
    r"|travailleu\w*|surveillant\w*|aed|aesh"
)

_PATTERNS: List[Text] = [
    # « mon fils », « ma fille de 16 ans », « nos élèves ».
    rf"\b(mon|ma|mes|notre|nos|son|sa|ses)\s+({_CHILD_WORDS})\b",
    # « je suis la tante de… », « je suis formatrice en CFA ».
    rf"\bje\s+suis\s+((un|une|la|le|sa|son)\s+)?({_RELATIVE_OR_JOB})\b",
    # The young person is someone else: « un jeune de 17 ans », « ce lycéen ».
    r"\b(un|une|ce|cet|cette|des|les|nos|mes|d\s+un|d\s+une)\s+(jeunes?|lyceen\w*|collegien\w*|apprentie?s?|decrocheu\w*)\b",
    r"\bparents?\b|\bmaman\b|\bpapa\b|\bbelle\s+mere\b|\bbeau\s+pere\b|\bfils\b|\b\d+\s+enfants\b",
    r"\beleves?\b|\bprofesseure?s?\b|\benseignante?s?\b|\bcpe\b|\bproviseure?\b|\bdirect(eur|rice)\b",
    r"\betablissements?\b|\bcollegues?\b|\beducat(eur|rice)s?\b|\bequipe\s+pedagogique\b|\bpsy\s*en\b",
    r"\ben\s+tant\s+que\b|\bj\s+accompagne\b|\bje\s+coordonne\b|\ben\s+classe\b|\bconseil\s+de\s+classe\b",
    # Words of school staff: schemes and partnerships that pupils do not name.
    r"\bgpds\b|\bfoquale\b|\bfamilles\b|\breferente?\s+decrochage\b|\bmlds\b|\bseances?\b|\bconventions?\b|\bpartenariats?\b|\bdispositif\s+relais\b",
    r"\bnotre\s+(lycee|college|etablissement|equipe)\b|\bmon\s+academie\b|\bdecrocheurs\b|\bpsychologues?\b",
]

# Matched against `fold`-ed text: lower case, no accents, and spaces in place
# of apostrophes and hyphens.
_ADULT_WRITER = re.compile("|".join(f"(?:{pattern})" for pattern in _PATTERNS))


def names_adult_writer(text: Text) -> bool:
    """Return whether a message contains words that show an adult wrote it.

    A young writer's signs win (`_YOUNG_WRITER`): « j'ai 22 ans ma fille a
    3 ans » is a young parent, who needs the replies for young people.
    """
    if _YOUNG_WRITER.search(_VOCATIVE.sub(" ", normalize(text))):
        return False
    # « wesh mon fils » addresses a friend: the parent intents gave it « vous » for good.
    return _ADULT_WRITER.search(_VOCATIVE.sub(" ", fold(text))) is not None


# Relatives who write about a young person: « je suis la mère de Léa ».
_RELATIVE = (
    r"mere|pere|maman|papa|parent|tante|oncle|grand\s+mere|grand\s+pere|mamie|mamy|papi|papy|marraine|parrain"
    r"|tuteur|tutrice|belle\s+mere|beau\s+pere|beau\s+parent"
)

# Jobs of the adults around a young person. Passive forms (« je suis
# conseillée par… ») and adverbs (« profondément ») are left out on purpose,
# and so are the student jobs (surveillant, AED).
_JOB = (
    r"prof|profs|professeure?|professeur\s+principale?|enseignante?|instit|institut(eur|rice)|cpe|proviseure?"
    r"|principale?\s+(adjointe?\s+)?(du|de)|chef\s+d\s+etablissement|directeur|directrice"
    r"|educat(eur|rice)(\s+specialisee?)?|educ\s+spe|assistante?\s+sociale?|assistante?\s+d\s+education"
    r"|travailleu(r|se)\s+social(e)?|infirmiere?\s+scolaire|psychologue|psy\s+en|referente?\s+decrochage"
    r"|formateur|formatrice|coordinat(eur|rice)|mediat(eur|rice)|chargee?\s+d\s+insertion"
    r"|conseill(er|ere)\s+(d\s+orientation|principale?\s+d\s+education|en\s+insertion|d\s+insertion|emploi"
    r"|mission\s+locale|a\s+la\s+mission\s+locale|a\s+france\s+travail)"
    r"|animat(eur|rice)\s+(jeunesse|de\s+prevention)"
)

# « je suis CPE », and the writer's own pupils: shared by the adult and the professional checks.
_JOB_INTRODUCTION = rf"\bje\s+suis\s+((un|une|la|le)\s+)?({_JOB})\b"
_OWN_PUPILS = r"\b(mon|mes|nos)\s+eleves?\b|\bun\s+de\s+mes\s+eleves\b|\bune\s+de\s+mes\s+eleves\b"

_INTRODUCTIONS: List[Text] = [
    # « je suis la mère de Léa », « je suis le père d'un élève »: a relative of someone.
    rf"\bje\s+suis\s+((la|le|sa|son|un|une)\s+)?({_RELATIVE})\s+(de|d|du)\b",
    # « je suis sa mère », « je suis sa grand-mère »: « sa » is the young person.
    rf"\bje\s+suis\s+(sa|son)\s+({_RELATIVE})\b",
    # « Maman de Léa, 16 ans », « Père d'un lycéen décrocheur », at the start.
    rf"^((bonjour|bonsoir|salut)\s*,?\s*)?({_RELATIVE})\s+(de|d|du)\s+",
    # « je suis parent d'élève », « nous sommes les parents de… ».
    r"\bje\s+suis\s+(un\s+)?parent\b|\bnous\s+sommes\s+(ses\s+|les\s+)?parents\b",
    # « je suis CPE », « je suis prof de maths », « je suis une enseignante ».
    _JOB_INTRODUCTION,
    rf"\ben\s+tant\s+que\s+((parent|mere|pere|maman|papa)\b|({_JOB})\b)",
    # Their own child or pupils. A young parent speaks of a small child
    # (« ma fille de 2 ans »), which _YOUNG_PARENT below leaves out.
    r"\b(mon|notre)\s+(fils|ado|adolescent|enfant|grand\s+fils)\b|\b(ma|notre)\s+(fille|ado|adolescente)\b",
    r"\b(mes|nos)\s+enfants\b",
    _OWN_PUPILS,
]

_INTRODUCES_ADULT = re.compile("|".join(f"(?:{pattern})" for pattern in _INTRODUCTIONS))

_SMALL_NUMBER = r"(\d|10|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|dix\s+huit)"

# Signs that the writer is a young person, one of the service's users,
# whatever else the message contains. A young parent writes « ma fille de
# 2 ans », « je suis maman d'un bébé », crèche or pregnancy. Others give
# their own age from 16 to 25, are trainees (« je suis éducateur en
# formation ») or relatives of a brother or sister (« la marraine de ma cousine »).
_YOUNG_WRITER = re.compile(
    rf"\b(fils|fille|garcon|petite?|enfant|bebe)\s+(de|a|qui\s+a|qui\s+vient\s+d\s+avoir|\(?)\s*{_SMALL_NUMBER}\s+(mois|ans?)\b"
    rf"|\b(fils|fille|garcon|petite?|enfant|bebe)\s*,\s*{_SMALL_NUMBER}\s+(mois|ans?)\b"
    r"|\b(mon|d\s+un|d\s+une)\s+(bebe|nourrisson|petit\s+garcon|petite\s+fille|petit|petite)\b(?!\s+(fils|fille|enfant))"
    r"|\bcreche\b|\bnounou\b|\bmode\s+de\s+garde\b|\bje\s+suis\s+enceinte\b|\bj\s+allaite\b"
    r"|\bj\s+ai\s+(1[6-9]|2[0-5])\s+ans\b|\b(maman|mere|papa|pere|parent)\w*(\s+\w+)?\s+(de|a)\s+(1[6-9]|2[0-5])\s+ans\b"
    r"|\bje\s+suis\b[^.,;:!?]{0,40}\b(en\s+formation|en\s+alternance|en\s+apprentissage|stagiaire|etudiante?|apprentie?)\b"
    r"|\bde\s+(ma|mon)\s+(petite?\s+)?(soeur|frere|cousine?)\b"
)

# « wesh mon fils », « mdr ma fille t'as vu »: a friend addressed, not a child.
_VOCATIVE = re.compile(r"\b(wesh|yo|eh|hey|mdr|ptdr|lol|allez|oh)\s+(mon\s+fils|ma\s+fille)\b")


def introduces_adult(text: Text) -> bool:
    """Return whether the writer introduces themselves as a parent, a relative or a professional of a young person.

    Unlike `names_adult_writer`, a young person's words about their own
    family (« ma mère veut que je reprenne les cours ») or about their
    teacher (« mon prof principal ») do not count. SMS spellings
    (« jsuis », « chui ») are written out first.

    NOTE: the role this sets lasts for the whole conversation, so the
    checks lean towards a young writer: a young parent or a young
    professional who gives no age may still be taken for an adult.
    """
    normalized = _VOCATIVE.sub(" ", normalize(text))
    if _YOUNG_WRITER.search(normalized):
        return False
    return _INTRODUCES_ADULT.search(normalized) is not None


_PROFESSIONAL = re.compile(rf"{_JOB_INTRODUCTION}|\ben\s+tant\s+que\s+({_JOB})\b|{_OWN_PUPILS}")


def introduces_professional(text: Text) -> bool:
    """Return whether the writer introduces themselves as a professional (« je suis CPE », « mes élèves »)."""
    return _PROFESSIONAL.search(normalize(text)) is not None


# The writer's own age from 16 to 25 (not « j'ai 20 ans d'expérience »), or
# their class at school.
_OWN_YOUTH = re.compile(
    r"\bj\s+ai\s+(1[6-9]|2[0-5]|seize|dix\s+sept|dix\s+huit|dix\s+neuf|vingt(\s+et\s+un|\s+deux|\s+trois"
    r"|\s+quatre|\s+cinq)?)\s*ans\b(?!\s+(de|d)\b)"
    r"|\bje\s+suis\s+en\s+(3e|3eme|troisieme|seconde|2nde|premiere|1ere|terminale)\b"
    r"|\bje\s+suis\s+(lyceen|lyceenne|collegien|collegienne)\b"
)


def states_own_youth(text: Text) -> bool:
    """Return whether the writer gives an age from 16 to 25 or a class at school (« j'ai 17 ans »).

    bot.actions.role.ActionReadRole then sets the role back to a young
    writer, so that a message wrongly taken for an adult's no longer keeps
    « vous » for the whole conversation.
    """
    normalized = _VOCATIVE.sub(" ", normalize(text))
    return _OWN_YOUTH.search(normalized) is not None and _INTRODUCES_ADULT.search(normalized) is None


# « Bonjour, je suis la mère de Léa », « je suis cpe »: an introduction and
# nothing else, at most this many words.
_MAX_WORDS_OF_BARE_INTRODUCTION = 8
_GREETING_START = re.compile(r"^\W*((bonjour|bonsoir|salut|bjr|slt|hello|coucou)\b\W*)+")
_INTRODUCTION_START = re.compile(rf"^(je\s+suis|moi\s+c\s+est|nous\s+sommes|({_RELATIVE})\s+(de|d|du)\b)")


def is_introduction_only(text: Text) -> bool:
    """Return whether a message is an introduction and nothing else (« je suis sa grand-mère »).

    Only the shape is checked: callers first check `introduces_adult`, so
    that the costlier look-up runs once per message.

    The model has no intent for it: it read « je suis la mère de Léa » as
    distress and « je suis cpe » as out of scope. bot.nlu.safety_rules
    sets the greet intent, whose response lists what the service does.
    """
    normalized = _GREETING_START.sub("", normalize(text)).strip()
    if "?" in text or len(normalized.split()) > _MAX_WORDS_OF_BARE_INTRODUCTION:
        return False
    return _INTRODUCTION_START.match(normalized) is not None
