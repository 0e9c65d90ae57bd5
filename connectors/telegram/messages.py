"""French texts that the Telegram channel sends by itself, outside Rasa.

The /start greeting is the bot's own (the channel hands ``/greet`` to Rasa),
so that it reads the same on every channel.
"""

from typing import Dict, List, Text

from connectors.replies import EMPTY_MESSAGE, INVALID_POSITION, TRUNCATED_MESSAGE  # noqa: F401 (shared replies)

HELP = (
    "Je suis l'assistant automatique de « Seconde chance », un programme et pas une personne. "
    "Je peux t'aider à :\n"
    "• trouver un lieu près de chez toi pour te conseiller (Mission locale, CIO…) : "
    "écris le nom de ta ville ou ton code postal, ou partage ta position avec 📎 puis « Position » ;\n"
    "• trouver une formation pour reprendre tes études ;\n"
    "• répondre à tes questions sur tes droits et les aides ;\n"
    "• te mettre en contact avec un conseiller : écris /conseiller.\n\n"
    "Tu n'as pas besoin de donner ton nom. Je ne suis pas un service d'urgence : "
    "si tu es en danger, appelle le 112."
)

# Buttons under the help text: (title, payload). Their payloads are the
# intents of the bot's greeting buttons.
HELP_BUTTONS: List[Dict[Text, Text]] = [
    {"title": "Trouver un lieu près de chez moi", "payload": "/find_place"},
    {"title": "Reprendre une formation", "payload": "/find_training"},
    {"title": "Parler à un conseiller", "payload": "/ask_counsellor"},
]

# Command menu of the Telegram apps: (command, description).
COMMANDS = [
    ("start", "Commencer"),
    ("aide", "Ce que l'assistant peut faire"),
    ("conseiller", "Parler à un conseiller"),
]

OLD_BUTTON = (
    "Ce bouton n'est plus valable, il vient d'un ancien message. "
    "Écris-moi ta question, ou tape /aide pour voir ce que je peux faire."
)

TECHNICAL_PROBLEM = (
    "Désolé, un problème technique m'empêche de te répondre pour le moment. "
    "Réessaie dans quelques minutes. Si tu es en danger, appelle le 112."
)

# Reply to content the assistant cannot read, by kind of content.
UNSUPPORTED_DEFAULT = (
    "Je ne sais lire que les messages écrits. Écris-moi ta question, "
    "ou le nom de ta ville pour trouver un lieu près de chez toi."
)
UNSUPPORTED: Dict[Text, Text] = {
    "voice": (
        "Je ne peux pas écouter les messages vocaux. Écris-moi ta question, "
        "ou le nom de ta ville pour trouver un lieu près de chez toi."
    ),
    "audio": (
        "Je ne peux pas écouter les fichiers audio. Écris-moi ta question, "
        "ou le nom de ta ville pour trouver un lieu près de chez toi."
    ),
    "sticker": (
        "Merci pour le sticker ! Je ne comprends que le texte : écris-moi ta question, "
        "ou le nom de ta ville pour trouver un lieu près de chez toi."
    ),
    "photo": (
        "Je ne peux pas regarder les photos. Écris-moi ta question, "
        "ou le nom de ta ville pour trouver un lieu près de chez toi."
    ),
    "document": (
        "Je ne peux pas ouvrir les fichiers. Écris-moi ta question, "
        "ou le nom de ta ville pour trouver un lieu près de chez toi."
    ),
}

# Texts shown to a counsellor in place of content the service does not pass
# on. Counsellors are addressed with « vous ».
UNSUPPORTED_FOR_COUNSELLOR: Dict[Text, Text] = {
    "voice": "🎤 Message vocal (non transmis)",
    "audio": "🎵 Fichier audio (non transmis)",
    "sticker": "Sticker (non transmis)",
    "photo": "🖼️ Photo (non transmise)",
    "video": "🎬 Vidéo (non transmise)",
    "video_note": "🎬 Message vidéo (non transmis)",
    "animation": "GIF (non transmis)",
    "document": "📎 Fichier (non transmis)",
    "contact": "👤 Fiche de contact (non transmise)",
    "poll": "Sondage (non transmis)",
}
UNSUPPORTED_FOR_COUNSELLOR_DEFAULT = "Contenu non textuel (non transmis)"

# Text stored for the counsellor in place of a shared position; the rounded
# coordinates are stored as the message payload.
LOCATION_FOR_COUNSELLOR = "📍 Position partagée"
INVALID_LOCATION_FOR_COUNSELLOR = "📍 Position partagée, mais illisible"

# Prefix of an edited message, for the counsellor.
EDITED_FOR_COUNSELLOR = "✏️ Message modifié : "

# Text shown to a counsellor for a press on a button whose title is unknown.
BUTTON_FOR_COUNSELLOR = "Bouton d'un ancien message"

# Text of the header before the cards a counsellor sends, signed like their
# texts by `connectors.cards.handoff_text`.
COUNSELLOR_CARDS_INTRO = "Je t'envoie ces informations :"

# Title of the button that opens a place on the map, and of a training's link.
MAP_BUTTON = "Voir sur la carte"
TRAINING_BUTTON = "Voir la fiche Onisep"
