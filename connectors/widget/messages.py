"""French texts that the widget channel sends by itself, outside Rasa."""

EMPTY_MESSAGE = (
    "Ton message est vide. Écris ta question, par exemple : "
    "« mission locale à Lyon » ou « je veux reprendre mes études »."
)

MALFORMED_MESSAGE = (
    "Je n'ai pas pu lire ce message. Réessaie, et si le problème continue, "
    "recharge la page."
)

TRUNCATED_MESSAGE = (
    "Ton message est très long : je n'en lis que le début et la fin. "
    "N'hésite pas à poser ta question en quelques phrases."
)

INVALID_POSITION = (
    "Je n'ai pas pu lire ta position. Tu peux écrire ta ville ou ton code postal."
)

TECHNICAL_PROBLEM = (
    "Désolé, un problème technique m'empêche de te répondre pour le moment. "
    "Réessaie dans quelques minutes. Si tu as besoin d'aide tout de suite, "
    "les numéros d'urgence sont dans « Besoin d'aide tout de suite ? »."
)
