"""Scheme names in a message: the schemes it names, and those a « c'est quoi » question is about.

The NLU model tags a ``scheme`` entity, but it misses spellings it never
saw (« le2c », « lepide »). These patterns on folded text (lower case, no
accents, apostrophes and hyphens as spaces) find the schemes whatever the
model read.
"""

import re
from typing import List, Text

from bot.actions.distress_patterns import fold

# Schemes explained in at most one message each per turn. Two covers « c'est
# quoi la différence entre l'E2C et l'EPIDE ».
MAX_SCHEMES_PER_ANSWER = 2

# Scheme names on folded text, for when the model found no scheme entity.
SCHEME_KEYWORDS = {
    "cio": (r"\bcio\b", r"centre d information et d orientation"),
    "mission_locale": (r"missions? locales?", r"\bml\b"),
    "psad": (r"\bpsad\b", r"plate ?forme de suivi"),
    "mlds": (r"\bmlds\b", r"mission de lutte contre le decrochage"),
    # Without the apostrophe the article sticks to the name: « le2c », « lepide ».
    "e2c": (r"\bl?e2c\b", r"ecole de la (2e|2eme|deuxieme|seconde) chance"),
    "epide": (r"\bl?epide\b",),
    "micro_lycee": (r"micro ?lycee", r"lycee de la nouvelle chance"),
    "service_civique": (r"service civique",),
    # The CEJ replaced the Garantie jeunes on 1 March 2022.
    "cej": (r"\bcej\b", r"contrat d engagement", r"garantie jeunes?"),
    "apprentissage": (r"apprenti", r"alternance"),
    "daeu": (r"\bdaeu\b",),
    "vae": (r"\bvae\b", r"validation des acquis"),
    "greta": (r"\bgreta\b",),
    "cap": (r"\bcap\b",),
    "foquale": (r"\bfoquale\b",),
    "cfa": (r"\bcfa\b", r"centre de formation (d|des) apprentis"),
}


# « c'est quoi », « c koi », « qu'est-ce que », « ça veut dire quoi » on folded
# text, followed by what the question is about.
_WHAT_IS = re.compile(
    r"\b(c ?est ?quoi|c ?koi|c quoi|qu est ?ce que c est|qu est ?ce qu|qu est ?ce que"
    r"|ca veut dire quoi|ca consiste en quoi|ca sert a quoi)\s+(?P<subject>.{1,40})"
)
_ARTICLE = re.compile(r"^(un|une|le|la|les|l|des|du|d)\s+")


def schemes_in_text(text: Text) -> List[Text]:
    """Return the schemes named in a text, in the order they appear."""
    folded = fold(text)
    positions = []
    for scheme, patterns in SCHEME_KEYWORDS.items():
        starts = [m.start() for p in patterns for m in re.finditer(p, folded)]
        if starts:
            positions.append((min(starts), scheme))
    return [scheme for _, scheme in sorted(positions)]


def schemes_asked_about(text: Text) -> List[Text]:
    """Return the schemes that a « c'est quoi … ? » question of the text is about, in order.

    The scheme must follow the question at once, or after an article: in
    « c koi une e2c et ya une mission locale a lille ? » the question is
    about the E2C while the Mission locale is searched, and in « c'est quoi
    les horaires de la mission locale » it is about no scheme.
    """
    asked: List[Text] = []
    for match in _WHAT_IS.finditer(fold(text)):
        subject = _ARTICLE.sub("", match.group("subject"))
        for scheme, patterns in SCHEME_KEYWORDS.items():
            if scheme not in asked and any(re.match(pattern, subject) for pattern in patterns):
                asked.append(scheme)
                break
    return asked
