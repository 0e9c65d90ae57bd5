"""French texts that the widget channel sends by itself, outside Rasa."""

from connectors.replies import EMPTY_MESSAGE, INVALID_POSITION, TRUNCATED_MESSAGE  # noqa: F401 (shared replies)

MALFORMED_MESSAGE = (
    "Je n'ai pas pu lire ce message. Réessaie, et si le problème continue, "
    "recharge la page."
)

TECHNICAL_PROBLEM = (
    "Désolé, un problème technique m'empêche de te répondre pour le moment. "
    "Réessaie dans quelques minutes. Si tu as besoin d'aide tout de suite, "
    "les numéros d'urgence sont dans « Besoin d'aide tout de suite ? »."
)
