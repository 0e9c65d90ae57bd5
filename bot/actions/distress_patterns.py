"""Word patterns of the distress rule layer (see ``bot.actions.distress``).

Every pattern runs on the text returned by ``normalize``: lower case, no
accents, apostrophes and hyphens as spaces, and the usual SMS spellings
written out ("jveux" becomes "je veux", "g" becomes "j ai"). Patterns are
grouped by situation; ``bot.actions.distress.assess`` combines the groups
with the context checks below.
"""

import re
import unicodedata
from typing import Dict, Pattern, Text, Tuple


def fold(text: Text) -> Text:
    """Lower-case the text and remove accents and apostrophes."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[’'`ʼ\-_]", " ", without_accents)


# SMS and slang spellings, replaced word by word after folding.
_SMS_WORDS: Dict[Text, Text] = {
    "g": "j ai",
    "jai": "j ai",
    "jen": "j en",
    "men": "m en",
    "chui": "je suis",
    "chuis": "je suis",
    "sui": "suis",
    "pa": "pas",
    "plu": "plus",
    "veu": "veux",
    "vx": "veux",
    "ve": "veux",
    "envi": "envie",
    "tjrs": "toujours",
    "tjs": "toujours",
    "toujour": "toujours",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "koi": "quoi",
    "kan": "quand",
    "ke": "que",
    "tt": "tout",
    "mm": "meme",
    "pr": "pour",
    "ya": "il y a",
    "qq1": "quelqu un",
    "qqn": "quelqu un",
    "jamai": "jamais",
    "mourrir": "mourir",
    "daron": "pere",
    "daronne": "mere",
    "reum": "mere",
    "reuf": "frere",
}

# "jveux", "jsuis", "jme": a "j" glued to the next word stands for "je".
# "jpp" (j'en peux plus), "jsp" (je sais pas) and "jtm" (je t'aime) stay whole.
_GLUED_JE = re.compile(r"\bj(?=[bcdfghjklmnpqrstvwxz])(?!(?:pp|sp|tm)\b)")
_WORD = re.compile(r"\b\w+\b")


def normalize(text: Text) -> Text:
    """Fold the text, then write out SMS spellings so one pattern covers them."""
    expanded = _GLUED_JE.sub("je ", fold(text))
    return _WORD.sub(lambda match: _SMS_WORDS.get(match.group(0), match.group(0)), expanded)


def _patterns(*expressions: Text) -> Tuple[Pattern, ...]:
    return tuple(re.compile(expression) for expression in expressions)


def matches_any(patterns: Tuple[Pattern, ...], text: Text) -> bool:
    """Return whether one of the patterns is found in the normalised text."""
    return any(pattern.search(text) for pattern in patterns)


# "mourir de rire", "crever de chaud": causes that make the verb a figure of speech.
_FIGURATIVE_CAUSE = r"(de|d) (rire|honte|faim|soif|ennui|chaud|fatigue|peur|stress|envie|impatience|jalousie)"

# Members of the household: the family, a partner or an ex.
_FAMILY_MEMBER = (
    r"(pere|mere|parents?|beau pere|belle mere|frere|soeur|oncle|tante|cousin|cousine|"
    r"grand pere|grand mere|famille|tuteur|tutrice|mari|copain|copine|mec|ex|compagnon)"
)

# Suicidal wording that jokes do not use: a joke marker next to these never
# lowers the level ("jpp je veux en finir" is not hyperbole).
STRONG_SUICIDE = _patterns(
    r"suicid",
    # "en finir avec ces papiers" or "avec le lycée" is about something else.
    r"\ben finir\b(?! avec (ce|cet|cette|ces|le|la|les|l|mon|ma|mes) (?!vie\b|tout\b))",
    r"\b(plus|pas) (envie de )?vivre\b",
    r"\b(plus|pas|aucune?|sans)( de| d| l)? (envie|raison|gout|interet|force)s? (de|d|a) (vivre|exister)\b",
    r"\bveux plus etre (la|en vie|de ce monde)\b",
    r"mettre fin a (mes jours|ma vie|sa vie|ses jours|tout ca|tout|mon existence)\b",
    r"\b(me|se|te) foutre en (l air|lair)\b",
    # « jvais me tuer si je rate ce cap mdr »: killing oneself is no figure
    # of speech that a joke marker explains, unlike « je vais mourir si… ».
    r"\bje (vais|veux|voudrais) me tuer\b(?! (a|au) (le|la|les|travail|tache|force)\b)",
    r"\b(dormir|m endormir|endormir) pour (toujours|l eternite)\b",
    r"\bcomment (mourir|me tuer|me suicider)\b",
    r"\bidees? noires?\b",
    r"a quoi (ca|sa) sert de vivre",
    r"a quoi bon (vivre|continuer)",
    r"\b(me|se|te) (pendre|pend)\b",
    r"\b(me|se|te) tirer une balle\b",
    r"\b(lettre|lettres|message|mot) d adieu\b",
    r"\b(m|me|s|se) ouvrir les veines\b",
    r"\b(fatigue|fatiguee|lasse?) de vivre\b",
    r"\bmerite (pas|plus) de vivre\b",
    # Having the means: « mdr je vais mourir si je rate, j'ai déjà les médicaments ».
    r"\bj ai (deja |tout |assez de |plein de )?(les|des|mes|assez de|plein de)? ?(medicaments|medocs|cachets|comprimes)\b"
    r"(?= *([.,!?]|$| (de cote|sur moi|caches?|a la maison|dans ma chambre|qu il faut|pour (le faire|en finir))))",
    # « c'est la honte, j'ai envie de mourir »: a wish to die, not a figure of speech.
    rf"\b(envie de|pense a|penser a|pense souvent a) (mourir|crever)\b(?! {_FIGURATIVE_CAUSE})",
)

SUICIDE = STRONG_SUICIDE + _patterns(
    # "il va me tuer" is a threat, not a suicidal thought.
    r"(?<!va )(?<!vont )(?<!allait )(?<!allaient )(?<!veut )(?<!veulent )(?<!voulait )"
    r"\b(me|m) tuer\b",
    r"\b(se|s) tuer\b",
    # « je me tue si je rate mon bac », but not « je me tue à le répéter » nor « au travail ».
    r"\bje me tue\b(?! (a|au) (le|la|les|te|vous|lui|leur|travail|tache|force)\b)",
    r"\bpersonne (ne )?(me|m) (regrettera|regretterait|pleurera|pleurerait)\b",
    r"\b(personne|qui) (ne )?remarquera(it)? (meme pas )?(si|que) je (suis plus la|disparais|pars)\b",
    r"\b(veux|veut|veulent|voulais|voulait|voudrais|aimerais|souhaite|envie de|vais|va|prefere|pense a|laisser)"
    rf"( juste| vraiment| tellement| bientot)? (mourir|crever)\b(?! {_FIGURATIVE_CAUSE})",
    r"\bdisparaitre\b(?! (sous terre|de (la|les|vos|mes|ses) (liste|listes|fichiers?|serveurs?|radars?|base|bases|"
    r"historique|registres?)|des (listes|fichiers|serveurs|radars|registres)))",
    r"\b(pars|partir|partirai)( ce soir| cette nuit| demain)? pour (toujours|de bon|de vrai)\b",
    r"\b(arreter|finir|stopper) ma vie\b",
    r"\btout arreter\b.*\bma vie\b",
    r"\b(me|se) (foutre|jeter|mettre|lancer) sous (un|le|une) (bus|train|metro|voiture|camion|tram|rer)\b",
    r"\b(dites|dis|dire) a (ma|mon|mes) \w+ que je (l|les) aime\b",
    r"\bmeme si je dois mourir\b",
    r"\bau bord du (pont|toit|vide|quai|precipice)\b",
    r"\bmeme (plus |pas )?(envie )?(la vie|de vivre|vivre)\b",
    r"\bde trop sur (cette )?terre\b",
    r"\b(bientot|ce soir|cette nuit) (ce sera|tout sera) fini\b",
    r"\b(envie de|vais|veux|voudrais) sauter\b"
    r"(?! (de joie|en parachute|a l elastique|le pas|une classe|une etape|des etapes|un repas|le repas|un cours|dans))",
    r"\bvaut (le coup|la peine) de (vivre|continuer)\b",
    r"\b(veux|voudrais|aimerais|envie de)( juste)? (plus|ne plus|pas) exister\b",
    r"\bque je meure\b",
    r"\b(si|quand) je disparai(ssais|s|trai|trais)\b",
    r"\b(fait|faite|refait|refaite) une (tentative|ts)\b",
    r"\b(m a dit|dit) adieu\b(?! (a|au|aux) )",
    r"\b(fait|faire) (mes|ses) adieux\b",
    r"\bsi (j etais|je serais) morte?\b(?! de)",
    r"\b(demain|bientot|ce soir) je (ne )?serai plus la\b(?! (pour|a |au |avant|apres|entre|le |la |des |jusqu))",
    r"\bpense(r|s)? a la mort\b",
    r"\bm imagine morte?\b",
    r"\b(si|quand) (je|j) (meurs|mourrai|mourais|serai morte?|serais morte?)\b(?! de)",
    r"\bmieux sans moi\b",
    r"\b(mieux|plus simple|plus facile|soulages?|soulagees?) (si|quand) (je|j) (serai|serais|etais|suis) "
    r"(plus la|morte?|partie?)\b",
    r"\b(sert a rien|pourquoi|pas envie|plus envie)\b.*\breste(r)? en vie\b",
    r"\b(pourquoi|a quoi bon|sert a rien de|pas|plus)\b.*\bcontinue(r|rais|rait)? (a|de) vivre\b",
    r"\b(jamais|plus) me reveiller\b",
    r"\bme reveiller\b.*\bjamais\b",
    r"\bme vois (pas|plus) vivre\b",
    r"\bc est la fin pour moi\b",
    r"\b(ecrit|laisse|prepare) des lettres pour (ma famille|mes proches|mes parents|tout le monde)\b",
    r"\b(veux|voudrais|veut|pour) que tout s arrete\b",
    r"\bmarre de (vivre|la vie)\b",
    r"\b(ouvrir|ouvert|ouvre) le gaz\b",
    r"(\b(saute|sauter|sauterai|sauterais)|\b(me|se|m|s) (jeter|jette))\b.*"
    r"\b(du|d un|de mon|de la|par la|depuis le|sous un|sous le) "
    r"(toit|pont|fenetre|immeuble|balcon|falaise|viaduc|train|metro|rer)\b",
    r"\b(allonge|allongee|couche|couchee|assis|assise) sur les rails\b",
    r"\bje suis sur les rails\b",
    r"\b(avaler|prendre|prends|avale) (toute la boite|(tous|toutes?) (les|mes|ses|ces) "
    r"(pilules|cachets|medocs|medicaments|comprimes))\b",
    r"\btout prendre d un coup\b",
    r"\b(mis|accroche|prepare|achete) une corde\b",
)

# Cutting one's hair or burning oneself at the oven is not self-harm.
_HARMLESS_INJURY = r"(?!.*\b(cheveux|ongles|frange|barbe|four|cuisine|plaque|huile|fer a|soleil|rasant)\b)"

SELF_HARM = _patterns(
    r"scarif",
    r"automutil",
    r"\b(me|se|te) (taillade|taillader|tailladent|entaille|entailler|mutile|mutiler)",
    r"\b(je|j|tu|il|elle) (me|te|se) (suis |es |est )?(coupe|coupee|brule|brulee|griffe|griffee|mords|blesse|blessee|"
    r"entaille|entaillee|taillade|tape|cogne|frappe)\b.*"
    r"\b(expres|jusqu au sang|jusqu a saigner|pour (me|se|te) (calmer|punir|soulager)|"
    r"pour (plus rien|ne plus rien|rien) sentir|les poignets|le poignet|les bras|le bras|les cuisses|la cuisse|"
    r"la peau|la tete contre)\b",
    r"\b(je|j) me (coupe|brule|coupais|brulais)\b" + _HARMLESS_INJURY,
    r"\bme couper\b" + _HARMLESS_INJURY,
    r"\b(me|se) (coupe|brule|coupais) avec (une|la|ma|un|le|mon) "
    r"(lame|cutter|rasoir|compas|briquet|cigarette|clope)\b",
    r"\b(je|j) me (suis )?(fais|fait) du mal\b",
    r"\b(envie|envies|besoin) de me faire (du )?mal\b",
    r"\b(me|se) (suis |est )?recoupee?\b",
    r"\b(mes|ses) (coupures|entailles|scarifications)\b",
    r"\bme (fais|fait) saigner\b",
    r"\b(me|m) (suis )?ouvert (le|les) (bras|poignets?|veines|cuisses?)\b",
    r"\b(me|m) (suis )?(ouvert|entaille|taillade|coupe|coupee|brule|brulee)\b.*"
    r"\bavec (une|la|ma|un|le|mon) (lame|cutter|rasoir|compas|briquet|cigarette|clope)\b" + _HARMLESS_INJURY,
    r"\b(me|m|se|s) (arrache|arrachais|gratte|grattais)\b.*\b(jusqu a saigner|jusqu au sang|la peau)\b",
    r"\b(je|j) me (frappe|griffe|mords)\b(?! (la tete )?de rire)",
    # "il va me faire du mal" is a threat.
    r"(?<!va )(?<!vont )(?<!veut )(?<!veulent )\bme faire du mal\b",
    r"\ben me faisant (du )?mal\b",
    r"\b(se|s) faire du mal\b",
    r"\bse fait du mal\b",
    r"\b(me|se) (suis |est )?(fait|faite|fais) des (cicatrices|coupures|entailles|brulures|marques)\b",
    r"\b(coupures|entailles|scarifications) sur (les|ses|mes|son|mon) "
    r"(bras|avant bras|poignets?|cuisses|jambes|ventre)\b",
)

# Blows, strangling, locking up: given to VIOLENCE_HOME or, when only school
# or street words surround them, to HARASSMENT.
PHYSICAL_VIOLENCE = _patterns(
    r"(?<!je )(?<!j )\b(me|m|nous) (frappe|frappent|frappait|tape|tapent|tapait|bat|battent|battait|cogne|cognent|"
    r"gifle|giflent|tabasse|tabassent|etrangle|etranglent|secoue|secouent|brutalise|brutalisent)\b"
    # "me tape sur les nerfs", "me bat toujours à FIFA", "me tape mon chargeur".
    r"(?! (sur les nerfs|sur le systeme)\b)"
    r"(?! (toujours |tout le temps |encore |souvent )?(a|au|aux) (fifa|foot|la course|la play|la console|mario|"
    r"fortnite|ping pong|tennis|echecs|cartes|jeux?|uno|la belote|la bataille|chaque partie)\b)"
    r"(?! (toujours |encore |tout le temps )?(mon|ma|mes|ton|ta|tes|son|sa|ses) )",
    rf"\b(il|elle|ils|elles|on|{_FAMILY_MEMBER}) (la|le|les) (frappe|frappent|bat|battent|tape|tapent|cogne|cognent|"
    r"gifle|giflent|tabasse|tabassent)\b",
    r"\b(m a|ma|m ont|nous a|l a|les a)( encore| deja| souvent)? "
    r"(frappe|frappee|tape|tapee|battu|battue|cogne|cognee|gifle|giflee|tabasse|tabassee|etrangle|etranglee|"
    r"secoue|secouee|casse le bras|casse le nez|casse la)\b",
    r"\b(me|m) (fais|fait|suis fait|suis faite) (frapper|taper|battre|tabasser|cogner|gifler|defoncer)\b",
    r"\b(va|vont|veut|veulent|allait|allaient) me (defoncer|frapper|taper|tabasser|cogner|battre|etrangler)\b",
    r"\bpour me (frapper|taper|tabasser|cogner|defoncer)\b",
    r"\b(leve|levent|a leve) la main sur\b",
    r"\b(met|mets|mettent|a mis) des (claques|gifles|baffes|coups|patates)\b",
    r"\b(jete|jette|jetent|lance|lancent|balance|balancent) (une|un|des|la|le) \w+ (dessus|a la figure|a la tete)\b",
    r"\b(tire|tirent|tirait) les cheveux\b",
    r"\bcoups? de (poing|pied|ceinture|couteau|baton|boule)\b",
    r"\b(m a|ma|m ont)( encore)? (pousse|poussee|bouscule|bousculee|jete|jetee) (dans|contre|par terre|au sol)\b",
    r"\bcrach\w* (dessus|sur moi)\b",
    r"\b(me|m) (balance|balancent|jette|jettent|lance|lancent|a balance|a jete|a lance) (des|un|une|les|la|le|mes) "
    r"(objets?|trucs?|assiettes?|chaises?|verres?|chaussures?|bouteilles?|couteaux?)\b",
    r"\b(serre|serrent|serrait|a serre) (le cou|la gorge)\b",
    r"\bse (fait|font|faisait) (frapper|taper|battre|tabasser|cogner|gifler)\b",
    r"\b(peur|ose pas|osent pas) (de )?rentrer (chez moi|a la maison)\b",
    r"\bpeur pour (ma vie|moi|ma securite)\b.*\b(chez moi|a la maison|chez nous|mes parents|mon pere|ma mere|beau pere)\b",
    r"\b(chez moi|a la maison|chez nous)\b.*\bpeur pour (ma vie|ma securite)\b",
    r"\b(frappe|frappent|frappait|bat|battent|battait|tape|tapent|cogne|cognent) (ma|mon|mes|notre|nos) "
    r"(mere|pere|soeur|frere|petite soeur|petit frere|femme|copine|enfants|famille|mari)\b",
    r"\b(m|me) (enferme|enferment|enfermait|a enferme|a enfermee|ont enferme|ont enfermee)\b",
    r"\btraite comme (un chien|une chienne|de la merde|un animal)\b",
)

# Signs of violence that count only with a word of the home next to them
# ("des bleus" after a rugby match is not violence).
PHYSICAL_VIOLENCE_AT_HOME = _patterns(
    r"\bdes bleus\b",
    r"\b(met|mettent|mets) la misere\b",
    r"\b(prends|prend|pris|recois) des (coups|claques|gifles|baffes)\b",
    r"\b(mis|met|mets|mettent|prends|pris|recois) (une|des) "
    r"(raclee|raclees|rouste|roustes|correction|derouillee|trempe)\b",
    r"\bca (crie et ca )?(tape|cogne|frappe)\b",
    r"\bcoups\b(?! de (fil|main|pouce|coeur|oeil|telephone|soleil))",
    r"\bviolences?\b",
    rf"\b{_FAMILY_MEMBER} (est|sont|devient|etait|deviennent) (tres |trop |super |hyper )?violente?s?\b",
)

HOME_CONTEXT = _patterns(rf"\b(maison|chez (moi|nous)|{_FAMILY_MEMBER})\b")
FAMILY_CONTEXT = _patterns(
    rf"\b(mon|ma|mes|son|sa|ses|notre|nos) ({_FAMILY_MEMBER})\b",
    rf"\b{_FAMILY_MEMBER} (dit|a dit)\b",
)
SCHOOL_CONTEXT = _patterns(
    r"\b(classe|college|lycee|bahut|ecole|vestiaires?|recre|sortie|quartier|cite|eleves?|les autres|des gars|"
    r"des mecs|des filles|une bande|en cours)\b"
)

SEXUAL_VIOLENCE = _patterns(
    r"\bviol(e|ee|ees|er|ait|s)?\b",
    r"attouchement",
    r"agress\w* sexuel",
    r"\babus(e|ee|er|ait|ent)? (sexuel\w*|de moi)\b",
    r"\bete abusee?\b",
    # « il m'a forcée à coucher », also typed « il ma forcé ».
    r"\b(m a|ma|m ont|mont) (force|forcee|oblige|obligee) a (coucher|faire l amour|le sucer|des trucs sexuels|"
    r"des choses sexuelles|me deshabiller|envoyer des nudes)\b",
    r"\btouche(r)? (mes|ma) (parties|seins|sexe|fesses|cuisses|poitrine)",
    r"\bmains? (aux|sur (mes|les)) (fesses|seins|cuisses|poitrine)\b",
    # "ta réponse me touche" is about feelings: a person must do the touching,
    # or the message must tell when or where it happens.
    r"\b(oncle|cousin|cousine|pere|frere|prof|professeur|entraineur|coach|patron|maitre d apprentissage|tuteur|"
    r"voisin|adulte|homme|mec|gars|type|il|ils)\b[^.?!]*\b(me|m|la) (touche|touchent|touchait|tripote|tripotent|"
    r"a touchee?|a tripotee?)\b",
    r"\b(me|m) (touche|touchent|touchait|tripote|tripotent|a touchee?|a tripotee?)\b.*"
    r"\b(quand|la nuit|seule?s?|partout|je veux pas|je voulais pas|malgre moi)\b",
    r"\b(me|m) (force|forcent|oblige|obligent|a forcee?|a obligee?|ont forcee?|ont obligee?) a "
    r"(faire des (trucs|choses)|le toucher|la toucher|les toucher|l embrasser|me deshabiller|coucher|des trucs|"
    r"dormir avec|envoyer des photos)",
    r"\b(m|on m) a forcee?\s*[.!]*$",
    r"\b(oblige|force|forcent|obligent)\w* a coucher avec\b",
    r"\b(veut|veulent|exige|exigent) que je couche avec\b",
    r"\b(trucs|choses|actes|gestes|photos|videos|relations?|propositions?|avances|remarques|messages?) sexuel",
    r"\b(demande|demandent|oblige|obligent|force|forcent|veut|veulent) (de me|que je me|a me) deshabill",
    r"\b(fait|fais|font|faisait) des (choses|trucs) (que je (veux|voulais) pas|bizarres)\b",
    r"\b(on m a|il m a|ils m ont|m a|m ont) droguee?\b",
    r"prostitu",
    r"\b(embrasse|embrassee|touche|touchee|deshabille|deshabillee) de force\b",
    r"\b(a|ont) profite de moi\b",
    r"\bveu(t|lent) me voir (seule?|en cachette|en secret)\b",
    r"\b(regarde|regardent|mate|matent|filme|filment|entre|rentre)\b.*"
    r"\b(sous la douche|quand je me lave|quand je me douche|pendant que je me lave)\b",
    r"\bvient dans ma chambre la nuit\b",
)

HARASSMENT = _patterns(
    r"harcel",
    r"\b(photos?|montages?|videos?|captures?) de moi\b",
    r"\b(compte anonyme|faux compte|faux profil)\b",
    r"\bmessages? (horribles|mechants|haineux|degueulasses|d insultes?)\b",
    r"\bnudes?\b",
    r"\bphotos? (intimes?|nue?s?|a poil)\b",
    r"\bvideos? (humiliantes?|de moi|intimes?)\b",
    r"\bmoque(nt|r)? de (moi|mon|ma|mes)\b",
    r"\b(me|m) (fait|font) chanter\b",
    r"cyber",
    r"\b(m|me) insult",
    r"\binsultes?\b.*\b(tous les jours|chaque jour|toute la nuit|sans arret|h24)\b",
    r"racket",
    r"humili",
    r"chantage",
    r"\brumeurs? sur moi\b",
    r"\b(m ont|m a|on m a) filmee?\b",
    r"\b(se foutre|se foutent|se fout) de (moi|ma gueule)\b",
    r"\b(me|m) (suit|suivent|suivait|suivaient) partout\b",
    r"\b(me|m) (traite|traitent|appelle|appellent|surnomme|surnomment|fais traiter|fait traiter) (de |la |le )?"
    r"(grosse?|moche|pute|salope|sale|pd|pede|boloss|bolosse|thon|baleine|gouine|tapette)\b",
    r"\bpartage(r)? mes (photos|videos)\b",
    r"\b(balancer|publier|diffuser|montrer) mes (photos|videos|nudes)\b",
)

# A teacher asking for material about harassment is not being harassed.
HARASSMENT_TOPIC = _patterns(
    r"\b(ressources?|supports?|seance|sensibilisation|prevention|expose|brochure|affiches?|intervention|atelier) "
    r"(sur|contre|de prevention du|du|de lutte contre)( le)? (harcelement|cyberharcelement)",
    r"\bpour un expose\b",
)
HARASSMENT_VICTIM = _patterns(r"\b(me|m|moi|suis)\b[^.?!]*harcel", r"harcel\w* (moi|par)\b")

# A threat to kill ("il va me tuer"). Alone it is a threat, but in "ma mère va
# me tuer si je rentre tard" it is a figure of speech.
KILL_THREAT = _patterns(r"\b(va|vont|veut|veulent|voulait|voulaient|allait|allaient) me tuer\b")
FIGURATIVE_KILL_THREAT = _patterns(
    r"\b(va|vont) me tuer (quand|si)\b(?!.*\b(parle|dis|raconte|balance|porte plainte|previens)\b)",
    # « elle va me tuer avec ses notes »: exasperation at a child or a pupil.
    r"\b(va|vont) me tuer avec (ses|son|sa|leurs|tes|ces) (notes|bulletins?|betises|conneries|blagues|questions"
    r"|histoires|devoirs|retards|absences|caprices|crises|reflexions)\b",
)

THREATS = _patterns(
    r"menac",
    r"\b(va|vont|veut|veulent|voulait|voulaient|allait|allaient) me (buter|planter|poignarder|egorger|descendre|"
    r"faire la peau|faire du mal|bruler|frapper|taper|defoncer|tabasser|retrouver)\b",
    r"\b(mec|gars|type|homme|quelqu un|il|ils) (arme|armes)\b",
    r"\bun (flingue|pistolet|fusil)\b",
    r"\b(marier|mariee|marie) de force\b",
    r"\bmariage force\b",
    r"\b(pris|prend|garde|confisque|confisquent) mon (passeport|titre de sejour)\b",
    r"\b(m|me) (oblige|obligent|force|forcent|a obligee?|a forcee?|ont obligee?|ont forcee?) a "
    r"(travailler|vendre|dealer|voler|transporter|garder|cacher|livrer)\b",
    r"sequestr",
    r"\bgens dangereux\b",
    r"\b(me|m) (suit|suivent|suivait|suivaient)\b.*\bj ai peur\b",
    r"\bregler (mon|son) compte\b",
    r"\b(couteaux?|armes?|flingues?|battes?)\b.*\b(m attendent|m attend|me cherchent|me cherche|me suivent)\b",
    r"\b(m attendent|m attend|me cherchent|me cherche|me suivent)\b.*\b(couteaux?|armes?|flingues?|battes?)\b",
    r"\b(sait|savent) ou j habite\b",
    r"\b(ete|suis|me suis fait|me suis faite) agresse(e)?\b(?! sexuel)",
    r"\b(suis|etre) (poursuivie?|traquee?)\b",
    r"\b(pas|plus) en securite\b",
    r"\b(au pays|au bled)\b.*\bme marier\b",
    r"\bme marier\b.*\b(au pays|au bled|de force)\b",
    r"\b(emmener|envoyer|renvoyer|marier|mariee?) de force\b",
)

HOMELESS = _patterns(
    r"(?<!pas finir )(?<!jamais finir )(?<!pas me retrouver )(?<!pas terminer )"
    r"\b(a|dans) la rue\b(?! (de|du|des|d|nationale|principale|pietonne|commercante|centrale|saint|sainte|victor|"
    r"jean|pasteur|gambetta|jaures|voltaire|republique|paix)\b)",
    r"\b(dors|dormir|dormi|dormais|vis|vit|vivre|passe la nuit|passer la nuit) dehors\b",
    r"\b(dors|dormir|dormi|dormais|passe mes nuits|passer la nuit|passe la nuit) (dans|a|sous|sur) (ma|une|la|le|un) "
    r"(voiture|gare|cage d escalier|cave|parc|tente|squat|hall|metro|pont|abribus|banc|parking)\b",
    r"\bcage d escalier\b.*\bnuit\b",
    r"\b(mis|mise|jete|jetee|vire|viree|chasse|chassee|expulse|expulsee|fichu|fichue|foutu|foutue) "
    r"(dehors|a la porte|de chez (moi|nous|eux|lui|elle|mes parents|ma mere|mon pere|ma tante|mon oncle|"
    r"ma grand mere|mon grand pere|ma famille)|de la maison|de l appart|de l appartement|du foyer)\b"
    # "mis à la porte de l'apprentissage" is about a job.
    r"(?! (de l |du |de la |de mon |de ma )?(apprentissage|stage|boulot|travail|taf|cours|classe|lycee|college|"
    r"entreprise|formation|magasin|salle)\b)",
    r"\bsans (abri|logement|domicile|toit)\b",
    r"\bplus de (logement|toit|chez moi|maison)\b",
    r"\bsdf\b",
    r"\b(dans|en) (un|le) squat\b",
    r"\b(m a|m ont|ma) (sorti|sortie) (de la maison|de l appart|de l appartement|de chez (moi|nous|elle|lui))\b",
    r"\bfugu",
    r"\bnulle? part (ou|pour) (dormir|aller|vivre|crecher|loger)\b",
    r"\b(pas|aucun|plus) d endroit (pour|ou) dormir\b",
    r"\b(sais|savoir) pas ou (dormir|passer la nuit|crecher|aller ce soir)\b",
    rf"\b{_FAMILY_MEMBER} m (a|ont) (vire|viree|chasse|chassee|jete|jetee|mis dehors|mise dehors)\b",
    r"\b(jete|jeter|mis|sorti)\w* mes affaires (dehors|sur le palier|dans la rue|a la porte)\b",
    r"\bou dormir (ce soir|cette nuit)\b",
    r"\b(dit|dire|dis)\b.*\bde (ne )?plus (jamais )?revenir\b",
    r"\b(heberge|hebergee|loge|logee) nulle part\b",
    r"\bchange(r)? les serrures\b",
)

# Signs of losing one's home that count only with a word of the home next to
# them ("le prof m'a dit de dégager" is about a classroom).
HOMELESS_AT_HOME = _patterns(r"\b(dit|dire) de degager\b")

DESPAIR = _patterns(
    r"\bj? ?en peux plus\b",
    r"\bjpp\b",
    r"je me sens (nul|nulle|seul|seule|vide|mal)\b"
    # "je me sens nulle en maths" is about a school subject.
    r"(?! (en|au|a l) (maths?|francais|anglais|orthographe|histoire|physique|chimie|sport|dessin|cours|classe|"
    r"lecture|calcul|espagnol|allemand|info|informatique)\b| a l aise\b)",
    r"personne (ne )?m aime",
    r"personne (ne )?me comprend\b",
    r"personne (ne )?m ?aimerait\b",
    # « plus rien ne va », not « plus rien ne va dans cette formation ».
    r"\bplus rien (ne |qui )?va\b(?! (dans|avec|sur|pour|en|au|a)\b)",
    r"\bje suis (vraiment |completement )?a bout\b(?! de souffle\b)",
    # « jmange plus jdors plus »: neither eating nor sleeping any more.
    r"\bje (mange|dors) (presque |quasi )?plus\b(?! (de|d|du|des|bien|mal|trop|tard)\b)"
    r".*\bje (mange|dors) (presque |quasi )?plus\b(?! (de|d|du|des|bien|mal|trop|tard)\b)",
    # Being alone counts unless a place or company follows ("seule avec mon bébé").
    r"\bje suis (tout |toute |tt |trop |tellement |si )?seule?s?\b"
    r"(?! (a|au|aux|avec|chez|ce|cette|pour|dans|en|sur|le|la|les|devant|de|du|des|depuis|pendant|quand)\b)",
    r"\bje pleure (tous les soirs|tous les jours|toutes les nuits|tout le temps|chaque soir|chaque nuit|h24)\b",
    r"\bj ai plus (de |la )?force\b",
    r"\b(ca|sa) (ira|va) jamais (aller )?mieux\b",
    r"\bdeprim",
    r"\bmal etre\b",
    r"\bdepression\b",
    # Alone only: "la MLDS, à quoi ça sert ?" is a question about a scheme.
    r"^(de toute facon |franchement |en vrai |bref |tout ca |mais )*a quoi (ca|sa) sert\s*[?!.]*$",
    r"je (sers|vaux) a rien",
    r"\bau fond du trou\b",
    r"\bplus gout a rien\b",
    r"\bun poids pour (tout le monde|ma famille|mes parents|les autres|tous)\b",
    # "je vais pas bien", not "je vais pas bien le prendre".
    r"\bje (vais|vai) (vraiment |tres |trop |pas du tout )?(pas|plus) bien\b"
    r"(?! (le|la|les|l|en|a|au|dans|avec|pour|comprendre|faire)\b)",
)

# Signs that the danger is now: an act under way, a plan for tonight, a
# means at hand, violence under way, a threat at the door.
_ACT_NOW = r"(en finir|me tuer|me suicider|mourir|sauter|saute|passer a l acte)"
IMMEDIATE = _patterns(
    r"\b(j ai|jai|g) (pris|avale) .*(cachets|medocs|medicaments|comprimes|pilules|doliprane|paracetamol)",
    r"\ba (pris|avale) (trop de |plein de |toute la boite de |toute une boite de |toutes? (ses|les|mes) )"
    r"(cachets|medocs|medicaments|comprimes|pilules)",
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui|demain matin)\b.*"
    rf"\b{_ACT_NOW}\b(?! {_FIGURATIVE_CAUSE})",
    rf"\b{_ACT_NOW}\b(?! {_FIGURATIVE_CAUSE}).*"
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui)\b",
    r"\bje vais sauter\b",
    r"\b(corde|couteau|lame|arme)\b.*\b(en finir|me tuer|mourir|me couper)\b",
    # Someone else with a means and the words of suicide: « il s'est enfermé
    # avec un couteau et dit qu'il va se tuer ».
    r"\b(corde|couteau|lame|arme|pistolet|fusil)\b.*\b(en finir|se tuer|se suicider|se couper|se pendre)\b",
    r"\b(en finir|se tuer|se suicider|se pendre)\b.*\b(corde|couteau|lame|arme|pistolet|fusil)\b",
    # Someone who swallowed pills, or took them and no longer answers: « elle
    # vient d'avaler des médicaments, elle ne répond plus ».
    r"\b(a|ont|vient d|viennent d) (avale|avaler) (des|plein de|tous ses|toutes ses|ses|une boite|la boite) ?"
    r"(de )?(cachets|medocs|medicaments|comprimes|pilules|doliprane|paracetamol)",
    r"\b(cachets|medocs|medicaments|comprimes|pilules|doliprane|paracetamol|drogue)\b.*"
    r"\b(repond|reagit|se reveille|bouge|respire|ouvre (pas|plus) les yeux) (plus|pas)\b",
    r"\b(en train de|est la|il arrive)\b.*\b(frapper|taper|tuer)\b",
    r"\b(frappe|tape|bat)\b.*\b(la maintenant|en ce moment)\b",
    r"\bje suis en danger\b",
    r"\b(il|elle|ils|elles|quelqu un) (est|sont) devant (ma|la|notre) porte\b",
    r"\b(allonge|allongee|couche|couchee) sur les rails\b",
    r"\bje suis (allonge |allongee |assis |assise )?sur les rails\b",
    r"\b(arrive|peux|peut) (plus|pas) a respirer\b",
    r"\bdu mal a respirer\b",
    r"\boverdose\b",
    r"\b(pris|prend|avale) trop de (drogue|coke|cachets|medocs|alcool|md|ecstasy)\b",
    r"\brespire (bizarrement|mal|plus|difficilement)\b",
    r"\b(fait|fais|a fait) un malaise\b.*\b(repond|respire|reagit|bouge) (plus|pas)\b",
    r"\b(inconsciente?|evanouie?)\b",
    r"\bsur (le|un) (toit|pont|rebord|balcon|parapet)\b.*\bsauter\b",
    r"\bje suis au bord du (pont|toit|quai|vide)\b",
    r"\b(boite|boites|plaquette|plaquettes) de (medicaments|medocs|cachets|comprimes|pilules)\b.*"
    r"\b(devant moi|dans la main|dans ma main|a cote de moi|sous la main)\b",
    r"\b(ce soir|cette nuit)\b.*\bc est (fini|la fin) pour moi\b",
    r"\b(essaie|essaye|essayent|essaient) de (rentrer|entrer) chez (moi|nous)\b",
    r"\bdefonc\w* (la|ma|notre) porte\b",
    r"\b(je suis|suis) (enferme|enfermee|sequestre|sequestree)\b.*\b(aide|aidez|sortir)\b",
    r"\baidez? moi\b.*\b(va|vont|veut|veulent) me (tuer|frapper|buter|faire du mal)\b",
)

# Signs of a friend, pupil or child in danger rather than the writer: a
# person named, then an intent or an act against themselves.
THIRD_PARTY = _patterns(
    r"\b(ma|mon|une|un|son|sa) (meilleure? )?(pote|amie?|copine|copain|soeur|frere|cousine?|fils|fille|eleve|enfant|ado)\b"
    r".*\b(veut|voulait|va|allait|pense a|pensait a|parle de|parlait de)\b"
    r" (se |s |mourir|en finir|partir pour|disparaitre|sauter|au suicide)",
    r"\b(ma|mon|une|un) (meilleure? )?(pote|amie?|copine|copain|soeur|frere|cousine?|fils|fille|eleve|enfant|ado)\b"
    r"[^.?!]*\b(se|s) (scarifie|coupe|mutile|suicide|tue|pend|fait du mal|taillade)\b",
    r"\b(ma|mon|une|un) (meilleure? )?(pote|amie?|copine|copain|soeur|frere|cousine?|fils|fille|eleve|enfant|ado)\b"
    r"[^.?!]*\b(m a confie|m a dit|dit qu|a poste|a envoye|a avale|a pris)\b",
    r"\b(il|elle) se les fait (lui|elle) meme\b",
    # "mon fils est très déprimé", "ma pote a l'air déprimée", but not "je suis
    # déprimé depuis que mon fils est parti", where the writer is the one in despair.
    r"^(?!.*\bje suis\b.*\bdeprim)"
    r".*\b(ma|mon|une|un|son|sa|notre) (meilleure? )?(pote|amie?|copine|copain|soeur|frere|cousine?|fils|fille|eleve|"
    r"enfant|ado)\b[^.?!]*\b(est|a l air|semble|parait|devient)( tres| trop| vraiment| completement)? deprim",
)

# Laughter: markers of a joke, and dying of laughter.
LAUGHTER = _patterns(
    r"\b(mdr|ptdr|lol|xd)\b",
    r"\b(mourir|mort|morte|morts|crever|creve) de rire\b",
    r"\b(me|m) tue avec (ses|tes|leurs|vos) (blagues|vannes|delires|conneries|betises)\b",
)

# Shame as a figure of speech (« la honte, j'ai envie de disparaître »).
SHAME = _patterns(r"\bla honte\b")

# Annoyance (« ce prof il me tue »): hyperbole, checked in on unless the
# writer laughs (« il me tue ce mec mdr »).
ANNOYANCE_KILL = _patterns(
    r"\b(me|m) tue avec\b",
    r"\bil me tue\b",
)

# The everyday causes after « je vais mourir si… » that make it a figure of
# speech: school, exams, forms, transport. Any other cause (« si personne
# m'aide », « si je retourne chez moi », « si ça continue ») stays distress.
_EVERYDAY_CAUSE = (
    r"(rate|rater|rates|loupe|louper|foire|redouble|redoubler|bac|brevet|cap|bts|exams?|examens?|controles?|partiels?"
    r"|oral|ecrit|notes?|bulletin|profs?|cours|devoirs?|dm|interro|dossiers?|papiers?|formulaires?|stage|entretien"
    r"|bus|train|metro|reveil|file d attente|queue|dissert|code|permis)"
)

# Figures of speech about dying (« mdr je vais mourir si je rate ce cap »,
# « je vais crever de honte »): hyperbole, yet the bot checks in gently.
FIGURATIVE_DEATH = _patterns(
    rf"\bje vais (mourir|crever) (si|quand)\b[^.?!]*\b{_EVERYDAY_CAUSE}\b",
    rf"\b(mourir|crever|clamser) (?!de rire){_FIGURATIVE_CAUSE}\b",
    rf"\bje (suis|vais etre) morte? si\b[^.?!]*\b{_EVERYDAY_CAUSE}\b",
)

# Hyperbole and jokes that borrow the words of distress.
HYPERBOLE = LAUGHTER + SHAME + ANNOYANCE_KILL + FIGURATIVE_DEATH

# After the bot asked "est-ce que tu penses à te suicider ?", a plan with a
# time ("oui je vais le faire ce soir") means immediate danger even though
# the message does not name the act.
PLAN_WITH_TIME = _patterns(
    r"\b(le faire|passer a l acte|j y pense|je vais le faire)\b.*"
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui|demain)\b",
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui|demain)\b.*"
    r"\b(le faire|passer a l acte)\b",
    # « oui ce soir »: a yes with a time answers the question with a plan.
    r"^(?!.*\b(ca va|je vais bien|mieux)\b)\s*(oui|ouais|ouai|wi|ui|yes)\b.*"
    r"\b(ce soir|cette nuit|maintenant|tout de suite|aujourd hui|demain)\b",
)

# Unsure replies to the suicide question: neither a plain no nor a yes.
UNSURE_REPLY = _patterns(
    r"^\s*(non|nan|nn),? (pas|plus) (maintenant|vraiment|trop|en ce moment|aujourd hui|ce soir)\b",
    r"^\s*(jsp|jsais pas|j sais pas|je sais pas|je ne sais pas|chais pas|sais pas|aucune idee|peut etre|ptet|ptetre|"
    r"bof|je crois pas|j crois pas|jcrois pas)\b",
)

# « non c t pour rire », « nn mdr c une blague », « jrigole »: the message
# before was a joke. Not « c'était une blague mais en vrai… ».
_JOKE_DENIALS = (
    r"^(?!.*\b(mais|en vrai|quand meme|pas vraiment|sauf que)\b)\s*(non|nan|nn|mais non)?\W*"
    r"((c etait|c est|c t|ct|cetait|j ai dit ca|je disais ca)\s+)?"
    r"(pour rire|une blague|pour de faux|pour de rire|pour deconner|pour plaisanter)\b",
    r"^(?!.*\b(mais|en vrai|quand meme|pas vraiment|sauf que)\b)\s*(non|nan|nn|mais non)?\W*je (rigole|plaisante|deconne)\b",
    r"^(?!.*\b(mais|en vrai|quand meme|pas vraiment|sauf que)\b)\s*(non|nan|nn)\s+(mdr|ptdr|lol|xd)\b",
)

# A clear "no" to that question.
CLEAR_NO = _patterns(
    r"^\s*(non|nan|nn|pas du tout|non merci|non non|jamais)\s*[.!]*$",
    r"^\s*(non|nan),? (ca va|je vais bien|pas du tout)(?! pas)\b",
    *_JOKE_DENIALS,
)

# Replies to the check-in « est-ce que ça va ? » meaning that the user is
# fine, whatever the first word: « non ça va » means « no need to worry ».
CHECK_IN_FINE = _patterns(
    r"^\s*(oui|ouais|ouai|wi|ui|yes|non|nan|nn|mais non)?\W*(ca va|je vais bien|tout va bien|t inquiete|tkt"
    r"|pas de (souci|soucis|probleme)|ca roule|nickel|tranquille)\b",
    *_JOKE_DENIALS,
)

# Replies to the check-in meaning that the user is not fine, even after a
# « oui » (« ouais bof »). « ça va pas mal » counts too: the safer reading.
CHECK_IN_NOT_FINE = _patterns(
    r"\b(bof|mouais|moyen|mal|ca (ne )?va (pas|plus)|non pas|mais en vrai|dur|galere|en peux plus|jen peux plus"
    r"|jsp|j sais pas|je sais pas|chais pas|sais pas"
    r"|pas (vraiment|trop|top|terrible|bien|ouf|fou|genial|super|la forme|du tout|tellement))\b",
)

# The writer cannot phone, so the numbers alone do not reach them: deaf or
# hard of hearing, no phone or no credit, or unable to speak or to dare to.
# "je peux pas appeler ma mère" is about one person, not about phoning.
CANNOT_CALL = _patterns(
    r"\b(sourde?s?|malentendante?s?|mal entendante?s?)\b(?! oreille)",
    r"\b(peux|peut|pourrai|pourrais|arrive|ose) (pas|plus) (a )?(les |l |le |la |vous |te )?"
    r"(appeler|telephoner|passer (un|d) appels?)\b"
    r"(?! (a |au |aux )?(ma|mon|mes|sa|son|ses|leur|leurs|personne|quelqu un)\b)",
    r"\b(peux|peut|pourrai|pourrais|arrive) (pas|plus) (a )?parler\b(?! (a|au|aux|avec|de|d|en|des|du)\b)",
    r"\b(pas|plus|aucun|sans) (de |d )?(forfait|credit|telephone|portable|tel|minutes d appel)\b",
    r"\bforfait (epuise|fini|termine|bloque|coupe)\b",
    r"\b(ligne|telephone|portable) (coupee?|suspendue?)\b",
)

# A young person named by an adult writer: « mon fils », « ma fille », « un
# élève », « ce jeune ». "Mes parents" is not one, so a young writer wrongly
# taken for an adult still gets the reply about themselves.
# NOTE: « un élève me menace » names a young person but is about the writer,
# and still counts as a message about the young person.
YOUNG_PERSON = _patterns(
    # « il dit qu'il va se tuer »: from an adult writer, « il » is the young person.
    r"\b(il|elle) (va|veut|voulait|menace de|parle de|pense a) (se tuer|se suicider|se pendre|se jeter|mourir|en finir|"
    r"se foutre en l air|se faire du mal)\b",
    r"\b(mon|ma|mes|notre|nos|son|sa|ses) (fils|fille|filles|enfant|enfants|ado|ados|adolescente?s?|neveu|niece|"
    r"petit fils|petite fille|beau fils|belle fille|eleve|eleves)\b",
    r"\b(un|une|ce|cet|cette|des|les|nos|mes|d un|d une|l|cet|notre) (jeune|jeunes|eleve|eleves|lyceen\w*|"
    r"collegien\w*|apprentie?s?|mineure?s?|adolescente?s?|ados?)\b",
    # « il se scarifie », « elle s'est fait frapper »: the adult speaks of
    # someone, but « elle s'énerve » is not about harm.
    r"\b(il|elle) (ne )?(se|s) (est )?(scarifi\w*|coupe\w*|mutil\w*|taillad\w*|tue|suicid\w*|pend|"
    r"(fait|faite|fais) (du mal|frapper|taper|battre|harceler|insulter|menacer|racketter|agresser|violer))\b",
)

# The writer speaks of their own distress (« je suis déprimée depuis que mon
# fils est parti »), so naming a young person does not make the message
# about that young person.
WRITER_DISTRESS = _patterns(
    r"\bje (suis|me sens)\b[^.?!]*\b(deprim\w*|a bout|seule?|mal|nulle?|vide|epuisee?)\b",
    r"\b(j en peux plus|jpp)\b",
    r"\bje (veux|vais|voudrais) (mourir|en finir|me tuer|me suicider)\b",
    r"\b(me suicider|me tuer|me faire du mal)\b",
)
