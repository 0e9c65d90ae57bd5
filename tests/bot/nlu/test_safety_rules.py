"""Tests of bot.nlu.safety_rules with spaCy's French model."""

import pytest
import spacy
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.safety_rules import SafetyRulesClassifier


@pytest.fixture(scope="module")
def nlp():
    return spacy.load("fr_core_news_md")


@pytest.fixture
def component():
    return SafetyRulesClassifier(SafetyRulesClassifier.get_default_config())


def _message(nlp, text, intent, entities=None):
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": 0.9})
    message.set("intent_ranking", [{"name": intent, "confidence": 0.9}])
    message.set("entities", entities or [])
    message.set("text_spacy_doc", nlp(text))
    return message


@pytest.mark.parametrize(
    "text, predicted",
    [
        ("t'es un robot ? jveux me suicider", "bot_challenge"),
        ("le CEJ on est payé combien ? de toute façon je vais me foutre en l'air", "ask_money"),
        ("bonjour, mon beau-père me frappe", "greet"),
        ("je dors dans la rue depuis 3 jours", "find_place"),
    ],
)
def test_distress_overrules_model(nlp, component, text, predicted):
    message = _message(nlp, text, predicted)
    component.process([message])
    assert message.get("intent")["name"] == "distress"
    assert message.get("intent_ranking")[0]["name"] == "distress"


def test_adult_reporting_distress_marked(nlp, component):
    message = _message(nlp, "mon fils dit qu'il veut mourir, je ne sais plus quoi faire", "parent_question")
    component.process([message])
    assert message.get("intent")["name"] == "distress"
    writers = [entity["value"] for entity in message.get("entities") if entity["entity"] == "writer"]
    assert writers == ["adult"]


@pytest.mark.parametrize(
    "text, predicted",
    [
        ("Bonjour, je suis la mère de Léa", "greet"),
        ("Je suis CPE, où se trouve le CIO le plus proche ?", "find_place"),
    ],
)
def test_adult_introduction_marked_on_any_intent(nlp, component, text, predicted):
    message = _message(nlp, text, predicted)
    component.process([message])
    assert message.get("intent")["name"] == predicted
    writers = [entity["value"] for entity in message.get("entities") if entity["entity"] == "writer"]
    assert writers == ["adult"]


@pytest.mark.parametrize(
    "text, predicted", [("je suis la mère de Léa", "distress"), ("je suis cpe", "out_of_scope")]
)
def test_bare_introduction_becomes_greeting(nlp, component, text, predicted):
    message = _message(nlp, text, predicted)
    component.process([message])
    assert message.get("intent")["name"] == "greet"
    writers = [entity["value"] for entity in message.get("entities") if entity["entity"] == "writer"]
    assert writers == ["adult"]


def test_introduction_with_question_keeps_intent(nlp, component):
    message = _message(nlp, "je suis CPE, c'est quoi l'EPIDE ?", "ask_scheme")
    component.process([message])
    assert message.get("intent")["name"] == "ask_scheme"


def test_adult_intent_needs_no_writer_entity(nlp, component):
    # action_answer_adult sets the role itself.
    message = _message(nlp, "Je suis CPE, un élève ne vient plus en cours", "teacher_question")
    component.process([message])
    assert message.get("intent")["name"] == "teacher_question"
    assert all(entity["entity"] != "writer" for entity in message.get("entities"))


@pytest.mark.parametrize("text", ["bonjour, ma mère veut que je reprenne les cours", "salut je cherche un cio"])
def test_young_writer_not_marked(nlp, component, text):
    message = _message(nlp, text, "find_place")
    component.process([message])
    assert all(entity["entity"] != "writer" for entity in message.get("entities"))


def test_young_person_distress_not_marked(nlp, component):
    message = _message(nlp, "ma mère me frappe quand elle a bu", "distress")
    component.process([message])
    assert all(entity["entity"] != "writer" for entity in message.get("entities"))


def test_hyperbole_left_to_model(nlp, component):
    message = _message(nlp, "mdr je vais mourir si je rate ce cap", "out_of_scope")
    component.process([message])
    assert message.get("intent")["name"] == "out_of_scope"


@pytest.mark.parametrize("text", ["😭😭😭", "🔥", "?!", "..."])
def test_emoji_only_becomes_fallback(nlp, component, text):
    message = _message(nlp, text, "goodbye")
    component.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"


def test_unknown_words_become_fallback(nlp, component):
    message = _message(nlp, "hjkl qsdf", "ask_scheme")
    component.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    "text, predicted",
    [
        ("jsuis pa alé en cour depui 2 mois", "find_training"),
        ("Villeurbane", "inform_location"),
        ("c quoi l'epide", "ask_scheme"),
    ],
)
def test_ordinary_messages_unchanged(nlp, component, text, predicted):
    message = _message(nlp, text, predicted)
    component.process([message])
    assert message.get("intent")["name"] == predicted


@pytest.mark.parametrize(
    "text, predicted",
    [
        ("I want to kill myself", "find_training"),
        ("hello can you help me find a school", "greet"),
    ],
)
def test_foreign_message_becomes_fallback(nlp, component, text, predicted):
    message = _message(nlp, text, predicted)
    component.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
    languages = [entity["value"] for entity in message.get("entities") if entity["entity"] == "language"]
    assert languages == ["en"]


def test_foreign_rule_can_be_turned_off(nlp):
    component = SafetyRulesClassifier({**SafetyRulesClassifier.get_default_config(), "foreign": False})
    message = _message(nlp, "hello can you help me find a school", "greet")
    component.process([message])
    assert message.get("intent")["name"] == "greet"


def test_entity_keeps_unknown_words(nlp, component):
    entities = [{"entity": "location", "value": "Plouzévédé", "start": 0, "end": 10}]
    message = _message(nlp, "Plouzévédé Kerlouan", "inform_location", entities)
    component.process([message])
    assert message.get("intent")["name"] == "inform_location"


@pytest.mark.parametrize(
    "text, predicted",
    [
        ("jean.dupont@example.org", "inform_location"),
        ("mon mail c'est lea-95@exemple.fr", "find_place"),
        ("Vous pouvez m'écrire à Camille.Martin@Example.COM merci", "nlu_fallback"),
    ],
)
def test_email_address_becomes_give_email(nlp, component, text, predicted):
    message = _message(nlp, text, predicted)
    component.process([message])
    assert message.get("intent")["name"] == "give_email"


@pytest.mark.parametrize(
    "text, predicted",
    [
        ("annule ma demande, n'utilisez plus jean@example.org", "cancel_followup"),
        ("jean@example.org je veux me suicider", "distress"),
        ("je cherche une formation @ Lyon", "find_training"),
        ("rdv à 14h@la mission locale", "find_place"),
    ],
)
def test_email_rule_keeps_other_intents(nlp, component, text, predicted):
    message = _message(nlp, text, predicted)
    component.process([message])
    assert message.get("intent")["name"] == predicted


@pytest.mark.parametrize(
    "text, predicted, entities",
    [
        ("wxcvbn poiuyt", "inform_location", [{"entity": "location", "value": "poiuyt", "start": 7, "end": 13}]),
        (
            "azertyuiop qsdfghjk",
            "find_training",
            [
                {"entity": "place_type", "value": "azertyuiop", "start": 0, "end": 10},
                {"entity": "place_type", "value": "qsdfghjk", "start": 11, "end": 19},
            ],
        ),
    ],
)
def test_made_up_entity_is_noise(nlp, component, text, predicted, entities):
    message = _message(nlp, text, predicted, entities)
    component.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get("entities") == []


@pytest.mark.parametrize(
    "entity, predicted",
    [
        ("place_type", "find_place"),
        ("scheme", "ask_scheme"),
    ],
)
def test_known_entity_keeps_unknown_words(nlp, component, entity, predicted):
    entities = [{"entity": entity, "value": "epide", "start": 5, "end": 10}]
    message = _message(nlp, "kwa epide", predicted, entities)
    component.process([message])
    assert message.get("intent")["name"] == predicted


@pytest.mark.parametrize(
    "text, predicted",
    [
        ("jsuis au fond du trou", "goodbye"),
        ("je sers à rien, je suis un poids pour tout le monde", "teacher_question"),
        ("je vais vraiment pas bien", "deny"),
    ],
)
def test_despair_overrules_model(nlp, component, text, predicted):
    message = _message(nlp, text, predicted)
    component.process([message])
    assert message.get("intent")["name"] == "distress"


def _ranked_message(nlp, text, ranking):
    message = _message(nlp, text, ranking[0][0])
    message.set("intent", {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set("intent_ranking", [{"name": name, "confidence": confidence} for name, confidence in ranking])
    return message


def test_adult_intent_without_adult_gives_way(nlp, component):
    ranking = [("teacher_question", 0.6), ("ask_scheme", 0.3), ("parent_question", 0.05), ("ask_money", 0.05)]
    message = _ranked_message(nlp, "Comment trouver une formation en alternance ?", ranking)

    component.process([message])

    assert message.get("intent")["name"] == "ask_scheme"
    assert message.get("intent")["confidence"] == pytest.approx(0.3 / 0.35)
    assert [entry["name"] for entry in message.get("intent_ranking")] == ["ask_scheme", "ask_money"]


def test_unsure_intent_left_by_adult_becomes_fallback(nlp):
    component = SafetyRulesClassifier({**SafetyRulesClassifier.get_default_config(), "fallback_threshold": 0.45})
    ranking = [("parent_question", 0.7), ("inform_location", 0.072), ("find_training", 0.07),
               ("greet", 0.08), ("ask_money", 0.078)]
    message = _ranked_message(nlp, "j'ai 19 ans et une fille de 2 ans", ranking)

    component.process([message])

    assert message.get("intent")["name"] == "nlu_fallback"


def test_sure_intent_left_by_adult_kept(nlp):
    component = SafetyRulesClassifier({**SafetyRulesClassifier.get_default_config(), "fallback_threshold": 0.45})
    ranking = [("teacher_question", 0.6), ("ask_scheme", 0.3), ("ask_money", 0.1)]
    message = _ranked_message(nlp, "Comment trouver une formation en alternance ?", ranking)

    component.process([message])

    assert message.get("intent")["name"] == "ask_scheme"


@pytest.mark.parametrize(
    "text, predicted",
    [
        ("Bonjour, mon fils de 17 ans a quitté le lycée, que faire ?", "parent_question"),
        ("Je suis CPE, comment signaler un élève absent ?", "teacher_question"),
        ("je suis la tante d'un jeune de 17 ans qui a quitté l'école", "parent_question"),
    ],
)
def test_adult_intent_with_adult_kept(nlp, component, text, predicted):
    message = _ranked_message(nlp, text, [(predicted, 0.7), ("find_training", 0.3)])
    component.process([message])
    assert message.get("intent")["name"] == predicted


def test_adult_rule_can_be_turned_off(nlp):
    component = SafetyRulesClassifier({**SafetyRulesClassifier.get_default_config(), "adult": False})
    message = _ranked_message(nlp, "Comment trouver une formation en alternance ?", [("teacher_question", 0.6), ("ask_scheme", 0.4)])
    component.process([message])
    assert message.get("intent")["name"] == "teacher_question"
