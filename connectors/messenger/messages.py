"""French texts that the Messenger channel writes by itself, outside Rasa.

Users are young people addressed with « tu ». The delivery failure reasons
are read by counsellors in the console.
"""

from typing import Dict, Text

from connectors.replies import EMPTY_MESSAGE, INVALID_POSITION, TRUNCATED_MESSAGE  # noqa: F401 (shared replies)
from knowledge.helplines import load_helplines

_WRITE_INSTEAD = "Écris-moi ta question, ou le nom de ta ville si tu cherches un lieu près de chez toi."

# Replies to messages without text, by kind of attachment.
ATTACHMENT_REPLIES: Dict[Text, Text] = {
    "like": "Merci 🙂 Je ne lis que les messages écrits. " + _WRITE_INSTEAD,
    "sticker": "Merci 🙂 Je ne lis que les messages écrits. " + _WRITE_INSTEAD,
    "image": "Je ne peux pas voir les images : je ne lis que les messages écrits. " + _WRITE_INSTEAD,
    "audio": "Je ne peux pas écouter les messages vocaux : je ne lis que les messages écrits. " + _WRITE_INSTEAD,
    "video": "Je ne peux pas regarder les vidéos : je ne lis que les messages écrits. " + _WRITE_INSTEAD,
    "file": "Je ne peux pas ouvrir les fichiers : je ne lis que les messages écrits. " + _WRITE_INSTEAD,
    "other": "Je ne peux pas lire ce type de message : je ne lis que les messages écrits. " + _WRITE_INSTEAD,
}

# Texts shown to the counsellor in the console in place of a message without text.
ATTACHMENT_HANDOFF_TEXTS: Dict[Text, Text] = {
    "like": "👍 Pouce levé envoyé sur Messenger",
    "sticker": "Autocollant envoyé sur Messenger (non affiché ici)",
    "image": "📷 Image envoyée sur Messenger (non affichée ici)",
    "audio": "🎤 Message vocal envoyé sur Messenger (non disponible ici)",
    "video": "🎬 Vidéo envoyée sur Messenger (non affichée ici)",
    "file": "📎 Fichier envoyé sur Messenger (non disponible ici)",
    "other": "Message Messenger d'un type non pris en charge (non affiché ici)",
}

LOCATION_HANDOFF_TEXT = "📍 Position partagée"

# Prompt put before quick replies when the bot sent buttons without text.
CHOOSE_PROMPT = "Choisis une réponse :"

# Quick-reply titles for the bot's buttons whose title is longer than the 20
# characters Messenger shows. tests/connectors/messenger/test_render.py
# fails when a button of the domain is longer and missing here.
SHORT_BUTTON_TITLES = {
    "Trouver un micro-lycée près de chez moi": "Micro-lycée proche",
    "École de la deuxième chance (E2C)": "École 2e chance",
    "Trouver un EPIDE près de chez moi": "EPIDE proche",
    "Trouver une E2C près de chez moi": "E2C proche",
    "Trouver un lieu près de chez moi": "Un lieu près de moi",
    "Contrat d'engagement jeune (CEJ)": "Le CEJ",
    "Trouver un CIO près de chez moi": "CIO proche",
    "Trouver une Mission locale": "Mission locale",
    "Reprendre une formation": "Une formation",
    "Parler à un conseiller": "Un conseiller",
}

# Titles of the buttons of place and training cards (20 characters at most).
MAP_BUTTON = "Voir sur la carte"
CALL_BUTTON = "Appeler"
WEBSITE_BUTTON = "Site web"
ONISEP_BUTTON = "Fiche Onisep"

CHECK_ADDRESS = "adresse à vérifier"
PHONE_PREFIX = "Tél. "
PLACE_SUBTITLE_FALLBACK = "Lieu d'accueil"
TRAINING_SUBTITLE_FALLBACK = "Formation"

# Reasons shown to the counsellor when Messenger does not take a message.
DELIVERY_BLOCKED = "La personne a bloqué la page ou supprimé la conversation : Messenger refuse l'envoi."
DELIVERY_WINDOW_CLOSED = "Messenger refuse l'envoi : le dernier message de la personne date de plus de 7 jours."
DELIVERY_HUMAN_AGENT_REFUSED = (
    "Messenger refuse l'envoi : le dernier message de la personne date de plus de 24 heures, et "
    "l'application n'a pas l'autorisation « Human Agent ». Prévenez l'administrateur."
)
DELIVERY_WINDOW_UNKNOWN = (
    "Messenger refuse l'envoi hors du délai de réponse : le dernier message de la personne date de "
    "plus de 7 jours, ou l'application n'a pas l'autorisation « Human Agent »."
)
DELIVERY_NOTICE_TOO_LATE = (
    "Avis automatique non envoyé : le dernier message de la personne date de plus de 24 heures, et "
    "Messenger n'autorise alors que les messages écrits par un conseiller."
)
DELIVERY_TOKEN_INVALID = (
    "Messenger refuse l'envoi : le jeton d'accès de la page n'est plus valide. Prévenez l'administrateur."
)
DELIVERY_NOT_ALLOWED = (
    "Messenger refuse l'envoi : l'application n'a pas l'autorisation nécessaire. Prévenez l'administrateur."
)
DELIVERY_INVALID_MESSAGE = "Messenger a refusé ce message comme invalide."
DELIVERY_UNKNOWN_PAGE = "La page Facebook de cette conversation n'est plus configurée : le message ne peut pas partir."
DELIVERY_UNAVAILABLE = "Messenger ne répond pas pour le moment : le message n'est pas encore parti."


def delivery_rejected(code: object) -> Text:
    """Return the reason for a rejection that has no specific text."""
    return f"Messenger a refusé l'envoi (erreur {code})."


def counsellor_places_intro(count: int) -> Text:
    """Return the line that a counsellor's signature introduces before the place cards they share."""
    places = "cette adresse" if count == 1 else "ces adresses"
    return f"Je t'envoie {places} :"


def technical_problem() -> Text:
    """Return the apology sent when a message got no reply because of a fault.

    The emergency numbers come from the reviewed helplines file.
    """
    helplines = load_helplines()
    emergency = helplines.get("112")
    suicide = helplines.get("3114")
    return (
        "Désolé, un problème technique m'empêche de te répondre pour le moment. "
        "Réessaie dans quelques minutes. "
        f"Si tu es en danger, appelle le {emergency.number}. "
        f"Si tu as des idées suicidaires, appelle le {suicide.number} ({suicide.hours})."
    )
