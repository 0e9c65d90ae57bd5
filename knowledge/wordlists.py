"""French word lists that keep common words from being read as commune names.

The base list is spaCy's French stop words (spacy.lang.fr.stop_words.STOP_WORDS,
spaCy 3.8). The project lists below contain words of everyday French that are
also the name of a commune, a former commune or a La Poste locality. They were
chosen by hand among the commune names found in a French lexicon (the lemma
tables of fr_core_news_md) and in a list of words young people use about
school, work and where they live. `is_french_word` checks any other word
against that lexicon ("espère", "courant", "frais"), so that small communes
named by an everyday word need the same signs as the listed ones.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import runpy
from pathlib import Path

from .normalize import normalize_name

__all__ = [
    "BRAND_PREVIOUS_WORDS",
    "BRAND_TEXT_WORDS",
    "FOREIGN_CITY_NAMES",
    "NAME_INTRODUCING_WORDS",
    "PLACE_PREPOSITIONS",
    "PREPOSITIONS",
    "blocked_words",
    "common_words",
    "contraction_words",
    "is_french_word",
    "load_french_lexicon",
]

logger = logging.getLogger(__name__)

# Never taken alone for a commune, even with a capital letter or after "à".
PROJECT_BLOCKED_WORDS = """
y bar marie vue sept mars avril mai juin boulot job bus ecole ligne place rue mer mere
fille grand long bonne faux vieux vert rouge corps bras ville cours plan port pont bois
montagne campagne plaine riviere roche chance change ciel salon champs lire mare gene
broc drap drain facture canon pigeon roman corne publier contes ares rives monts four
marche jardin chasse bourg bains charge don us dry jury lent male signes angles vertus
chauve survie domino cacao marin noce cellule orgueil gages elan treve chiche mus
berne parois tricot boue fosse aube creances ballon levier sales abondant coron aigre
erre baille pere quarante taule haleine cintre rots bure chars gueux teille
""".split()

# Taken alone for a commune only with a capital letter or after a preposition:
# "je vais à Tours" is a place, "je fais des tours" is not.
PROJECT_COMMON_WORDS = """
tours orange sens plaisir fontaine fontaines avion lourdes menton valence vannes cannes
colombes colombe trappes moulins houilles sceaux vitre cognac tulle condom embrun
falaise grenade forges gorges fosses salles anse arques lisses jumelles pierres gaillard
oraison muret sedan geste souche moules targe lattes drain corne royan bouviers tresses
tresse robinson bananier goyave mana laure sene crosne vif venelles sorbiers publier
lisses ecots luisant contres fronton loches livarot clapiers roquefort fenouillet
varennes presles leves gan santes gorges longues mons trepied carnet lege guise charmes
aime ormes agneaux tonnerre etable brie baccarat aiguillon pannes champagne viviers
bourre marines moutiers combes moult etain veuves banat chauve bordes vars hanches naves
pommiers graces pitres valentin celliers rouille levier sablons mathieu sales andouille
ballon bourg jardin rouge callas avoine rivieres verrieres fors joyeuse violes esches
arches abondance fille baille corbeilles rosieres montagne tavernes plaisance bains
granges serres ballots perles martinet cher lot nord manche somme var landes loire
marne orne gers gard tarn aude eure indre doubs ain allier nice gars condes vaux vienne grasse
""".split()

# Taken after "au", "aux", "du" or "des" for the name "Le <word>" or "Les <word>"
# only with a capital letter: "je vais au parc" is not Le Parc, "je suis du
# quartier" is not Le Quartier. These are everyday words among the names of the
# form "Le X" or "Les X". Everyday words that also name a large commune stay
# out of the list, so "au tampon" finds Le Tampon and "au havre" Le Havre.
PROJECT_CONTRACTION_WORDS = """
aires allies arcs attaques autels barils batard blanc bonhomme bouillon brule buisson
camp cars casses cause cellier cendre cercueil chambres chapelles charme chemin chene
cheres cheris choux clefs compas coteau croix croutes deluge desert deserts detroit
donjon echelles ecorces etangs fete fins fret gardes genettes givre gonds gras haies
halles heron herbiers hopitaux jumeaux lianes liege loges mage mages manoir marches
menus metairies milles miroir monastere mont noyer olives palais parc passage peage
peintures perron pieux pigeonnier pin pins places planches plans plate poil quartier
roc roches rosaires rouet rousses sauvages sequestre sieges sourd syndicat tablier
temple thons tilleul titre touches tourne tourneur trait tuileries val ventes verger
vignes vivier
""".split()

# Foreign cities that French speakers name often. They are never matched with
# typo tolerance, because several sit one letter away from a small French
# commune ("Berlin" and Berling, "Londres" and Landres).
FOREIGN_CITY_NAMES = frozenset(
    normalize_name(name)
    for name in (
        "Bruxelles", "Genève", "Lausanne", "Bâle", "Zurich", "Berne", "Liège", "Anvers", "Namur",
        "Charleroi", "Luxembourg", "Monaco", "Londres", "Berlin", "Madrid", "Barcelone", "Rome",
        "Milan", "Turin", "Lisbonne", "Porto", "Amsterdam", "Alger", "Oran",
        "Tunis", "Casablanca", "Rabat", "Marrakech", "Dakar", "Abidjan", "Bamako", "Montréal",
        "Québec", "New York",
    )
)

# Words after which a single word is read as a place ("à", "vers", "près de"...).
PREPOSITIONS = frozenset(
    normalize_name(word)
    for word in "à a au aux vers sur de d du dans en pres près proche cote côté".split()
)

# The prepositions after which an everyday word is read as a place ("à Tours",
# "vers Orange"). "de", "du", "en" and "dans" are left out, because "pas de
# sens", "du cognac" and "en avion" name no place.
PLACE_PREPOSITIONS = frozenset(
    normalize_name(word) for word in "à a vers sur pres près proche cote côté".split()
)

# Words after which a capitalised word is a first name: "je m'appelle Nicole"
# is not the commune of Nicole.
NAME_INTRODUCING_WORDS = frozenset({"appelle", "appelles", "appelons", "appellent", "prenom", "surnom"})

# Brands that are also commune names. The brand is meant after one of the
# previous words ("chez Orange", "forfait Orange") or when the text contains
# one of the text words ("ma box Orange ne marche plus").
BRAND_PREVIOUS_WORDS = {
    "orange": frozenset({"chez", "forfait", "box", "operateur", "abonnement", "boutique", "offre", "reseau"}),
}
BRAND_TEXT_WORDS = {
    "orange": frozenset({"forfait", "livebox", "operateur", "abonnement", "sim", "fibre"}),
}


@functools.lru_cache(maxsize=1)
def _spacy_stop_words() -> frozenset[str]:
    """Load spaCy's French stop words, normalised.

    The module is executed from its file because `import spacy.lang.fr.stop_words`
    first imports the whole spaCy package, which takes about 3 seconds.
    """
    spec = importlib.util.find_spec("spacy")
    words: set[str] = set()
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "lang" / "fr" / "stop_words.py"
        if path.is_file():
            words = set(runpy.run_path(str(path))["STOP_WORDS"])
    if not words:
        from spacy.lang.fr.stop_words import STOP_WORDS

        words = set(STOP_WORDS)
    return frozenset(filter(None, (normalize_name(word) for word in words)))


@functools.lru_cache(maxsize=1)
def _french_lexicon() -> tuple[object, frozenset[str]]:
    """Load the lemma tables of spaCy's fr_core_news_md: (inflected forms table, lemmas).

    The table of inflected forms is keyed by spaCy string hashes, so it is kept as
    a spaCy `Table`. Both are empty when the model package is not installed.
    """
    try:
        from spacy.lookups import Lookups
        from spacy.util import get_package_path

        paths = sorted(get_package_path("fr_core_news_md").glob("*/lemmatizer/lookups"))
        lookups = Lookups().from_disk(paths[-1])
    except (ImportError, OSError, IndexError) as error:
        logger.warning("French lexicon of fr_core_news_md not loaded (%s): only the word lists apply.", error)
        return {}, frozenset()
    lemmas = frozenset(word for words in lookups.get_table("lemma_index").values() for word in words)
    return lookups.get_table("lemma_lookup"), lemmas


def load_french_lexicon() -> None:
    """Load the lexicon of `is_french_word` now rather than at its first call (about 1.3 s on 2 CPUs)."""
    _french_lexicon()


def is_french_word(word: str) -> bool:
    """Return whether a lower-case word, accents kept, is an ordinary French word.

    The lexicon is the lemmatizer of spaCy's fr_core_news_md 3.8: about 95,000
    lemmas and 217,000 inflected forms ("espère", "appelle", "frais").
    """
    inflected_forms, lemmas = _french_lexicon()
    return word in lemmas or word in inflected_forms


@functools.lru_cache(maxsize=1)
def blocked_words() -> frozenset[str]:
    """Words never read alone as a commune: spaCy stop words plus PROJECT_BLOCKED_WORDS."""
    return _spacy_stop_words() | frozenset(PROJECT_BLOCKED_WORDS)


@functools.lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Words read alone as a commune only with a capital letter or a preposition."""
    return blocked_words() | frozenset(PROJECT_COMMON_WORDS)


@functools.lru_cache(maxsize=1)
def contraction_words() -> frozenset[str]:
    """Words read as "Le/Les <word>" after a contracted article only with a capital letter."""
    return common_words() | frozenset(PROJECT_CONTRACTION_WORDS)
