"""A young person who has nothing to eat: the urgent need comes before the question.

« jai pas dargent pour manger » is not distress in the sense of the safety
rules, and no helpline for food aid has been checked for this service.
The Missions locales accompany the 16-25 year olds in their daily life too
(housing, health, transport), so the reply sends the user there and offers
a counsellor of this service, whatever intent the model read.

NOTE: a bare « j'ai faim » is left out on purpose, because young people
write it about lunch. Only a lack of money or of food counts.
"""

import re
from typing import Text

from bot.actions.distress_patterns import matches_any, normalize

# Patterns on the normalised text (folded, SMS spellings written out).
_NO_FOOD = tuple(
    re.compile(expression)
    for expression in (
        r"\b(pas|plus|pas assez|rien|aucun|zero) ?(d ?argent|de thunes?|de tunes?|de sous|de fric|un rond|un sou|de quoi)"
        r" (pour )?(manger|me nourrir|bouffer|acheter a manger|faire les courses|faire des courses)\b",
        r"\brien (a|pour) (manger|bouffer|me nourrir)\b",
        r"\b(pas|rien|plus) (mange|bouffe)\w* depuis\b",
        r"\b(peux|peut|pouvons|arrive) (pas|plus) (a )?(me nourrir|acheter a manger|faire les courses)\b",
        r"\b(peux|peut|arrive) (pas|plus) (a )?manger (a ma faim|a sa faim|correctement|tous les jours|depuis)\b",
        r"\bsaute\w* des repas\b",
        r"\b(frigo|frigidaire) (est )?(vide|toujours vide)\b",
        r"\bfaim (et|mais) (pas|plus|rien)\b",
    )
)


def lacks_food(text: Text) -> bool:
    """Return whether the message states that the writer has nothing to eat or no money for food."""
    return matches_any(_NO_FOOD, normalize(text))
