"""Recognise a message written in another language than French.

The assistant understands French only. A young person who writes in
English, Spanish or Arabic gets « reformule » in French from the fallback,
which they may not read. `foreign_language` returns the language of such a
message, so that the reply can also state in that language that the
service replies in French, with the European emergency number.

The detector is lingua (lingua-language-detector), restricted to French and
the languages below. On all the French messages of the training data, the
test set and the distress set (over 3,000 messages, SMS spelling included),
no message was taken for another language with the thresholds below.

NOTE: short messages are left alone: « ya kelkun la ? » reads as German to
the detector, so a message in the Latin alphabet needs four words or more,
unless it states a wish to die in one of these languages (« i wanna die »).
A French message still taken for another language loses its answer, because
bot.nlu.safety_rules then sends it to the fallback.
"""

import functools
import re
from typing import Optional, Text

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# Languages the detector tells from French. A message in any other language
# gets the usual French replies.
_LANGUAGES = {
    Language.ENGLISH: "en",
    Language.SPANISH: "es",
    Language.PORTUGUESE: "pt",
    Language.ITALIAN: "it",
    Language.GERMAN: "de",
    Language.ARABIC: "ar",
    Language.TURKISH: "tr",
    Language.ROMANIAN: "ro",
}

# Entity that bot.nlu.safety_rules adds to such a message, with its code.
LANGUAGE_ENTITY = "language"

# The reply's second paragraph, in the user's language: the service replies
# in French, and 112 is the emergency number of every EU country.
FRENCH_ONLY_TRANSLATIONS = {
    "en": "I can only answer in French for now. In an emergency, call 112.",
    "es": "Por ahora solo puedo responder en francés. En caso de emergencia, llama al 112.",
    "pt": "Por enquanto só consigo responder em francês. Em caso de emergência, liga para o 112.",
    "it": "Per ora posso rispondere solo in francese. In caso di emergenza, chiama il 112.",
    "de": "Ich kann vorerst nur auf Französisch antworten. Im Notfall ruf die 112 an.",
    "ar": "حاليًا لا أستطيع الرد إلا باللغة الفرنسية. في حالة الطوارئ، اتصل بالرقم 112.",
    "tr": "Şimdilik yalnızca Fransızca yanıt verebiliyorum. Acil bir durumda 112'yi ara.",
    "ro": "Deocamdată pot răspunde doar în franceză. În caz de urgență, sună la 112.",
}

# A message in the Latin alphabet needs this many words before its language
# is guessed: SMS French of three words (« ya kelkun la ? », « tkt jgere bro »)
# read as German. A message in another script needs fewer.
MIN_WORDS = 4
MIN_WORDS_OTHER_SCRIPT = 2
# The other language must reach this relative confidence (0-1) ...
MIN_CONFIDENCE = 0.3
# ... and be this many times as likely as French.
MIN_RATIO_TO_FRENCH = 4.0

# Wishes to die in the listed languages, found even in messages too short
# for the detector (« i wanna die », « quiero morir »): they must get the
# reply with 112 rather than « reformule » in French.
_SHORT_DISTRESS = {
    "en": r"\bi\s*(wanna|want\s+to|will|m\s+going\s+to|am\s+going\s+to|gonna)\s+(die|kill\s+myself)\b"
          r"|\bkill\s+my\s*self\b|\bend\s+my\s+life\b|\bsuicidal\b",
    "es": r"\b(quiero\s+morir(me)?|me\s+quiero\s+morir|matarme|suicidarme|me\s+voy\s+a\s+matar)\b",
    "pt": r"\b(quero\s+morrer|vou\s+me\s+matar|me\s+matar|suicidar-me)\b",
    "it": r"\b(voglio\s+morire|uccidermi|suicidarmi|ammazzarmi)\b",
    "de": r"\b(will\s+sterben|mich\s+umbringen|selbstmord)\b",
    "ar": r"أريد\s+أن\s+أموت|بغيت\s+نموت|انتحار|\bbghit\s+n?mout\b|\bbghit\s+nmot\b",
    "tr": r"\b(ölmek\s+istiyorum|intihar)\b",
    "ro": r"\b(vreau\s+s[aă]\s+mor|sinucid)\w*",
}
_SHORT_DISTRESS_PATTERNS = {
    language: re.compile(pattern, re.IGNORECASE) for language, pattern in _SHORT_DISTRESS.items()
}

_WORD = re.compile(r"[^\W\d_]{2,}")
# A word whose first letter is Latin, accented or not (« école », « ığ »).
_LATIN_WORD = re.compile(r"[A-Za-z\u00C0-\u024F]")
_EMAIL_OR_LINK = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")


@functools.lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # The models load on first use: a process's peak RSS grew by about 200 MB
    # with these nine languages.
    return LanguageDetectorBuilder.from_languages(Language.FRENCH, *_LANGUAGES).build()


def foreign_language(text: Text) -> Optional[Text]:
    """Return the ISO 639-1 code of the language of a message that is not French.

    Args:
        text: The user's message.

    Returns:
        A key of `FRENCH_ONLY_TRANSLATIONS`, or None when the message is
        French, too short to tell, or in a language not listed.
    """
    text = _EMAIL_OR_LINK.sub(" ", text or "")
    for language, pattern in _SHORT_DISTRESS_PATTERNS.items():
        if pattern.search(text):
            return language
    words = _WORD.findall(text)
    latin = sum(1 for word in words if _LATIN_WORD.match(word))
    min_words = MIN_WORDS if latin * 2 >= len(words) else MIN_WORDS_OTHER_SCRIPT
    if len(words) < min_words:
        return None

    confidences = _detector().compute_language_confidence_values(text)
    best = confidences[0]
    if best.language not in _LANGUAGES or best.value < MIN_CONFIDENCE:
        return None
    french = next((entry.value for entry in confidences if entry.language == Language.FRENCH), 0.0)
    if best.value < MIN_RATIO_TO_FRENCH * french:
        return None
    return _LANGUAGES[best.language]
