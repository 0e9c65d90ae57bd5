"""French replies that every channel sends by itself, outside Rasa.

They answer what the channel rejects before Rasa sees it: an empty text, a
text cut to the length limit, a position that cannot be read. Each channel's
own `messages` module imports them, beside the texts only it sends.
"""

EMPTY_MESSAGE = (
    "Ton message est vide. Écris ta question, par exemple : "
    "« mission locale à Lyon » ou « je veux reprendre mes études »."
)

TRUNCATED_MESSAGE = (
    "Ton message est très long : je n'en lis que le début et la fin. "
    "N'hésite pas à poser ta question en quelques phrases."
)

INVALID_POSITION = "Je n'ai pas pu lire ta position. Tu peux écrire ta ville ou ton code postal."
