"""Tests of bot.nlu.age_entity_rules."""

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.age_entity_rules import AgeEntityRules, is_departement_number


def _message_with_age(text, number):
    start = text.index(number)
    message = Message(data={"text": text})
    message.set(
        "entities",
        [{"entity": "age", "value": number, "start": start, "end": start + len(number), "extractor": "DIETClassifier"}],
    )
    return message


@pytest.mark.parametrize(
    "text, number",
    [
        ("celle du 26", "26"),
        ("je suis dans le 93", "93"),
        ("en 75 y a quoi", "75"),
        ("Celle DU 2A", "2A"),
        ("le 07", "07"),
        ("y a un cio vers 13 ?", "13"),
    ],
)
def test_departement_number_becomes_location(text, number):
    message = _message_with_age(text, number)

    AgeEntityRules.create({}, None, None, None).process([message])

    [entity] = message.get("entities")
    assert entity["entity"] == "location"
    assert entity["value"] == number
    assert entity["extractor"] == "DIETClassifier+AgeEntityRules"


@pytest.mark.parametrize(
    "text, number",
    [
        ("j'ai 19 ans", "19"),
        ("19", "19"),
        ("le 19 ans c'est trop tard ?", "19"),
        ("j'ai eu 17 en maths", "17"),
        ("du haut de mes 16 ans", "16"),
        ("je suis né en 2008", "2008"),
        ("je suis parti vers 17 ans", "17"),
    ],
)
def test_ages_stay_ages(text, number):
    message = _message_with_age(text, number)

    AgeEntityRules.create({}, None, None, None).process([message])

    assert message.get("entities")[0]["entity"] == "age"


def test_other_entities_untouched():
    message = Message(data={"text": "cap cuisine du 26"})
    message.set("entities", [{"entity": "field", "value": "cuisine", "start": 4, "end": 11}])

    AgeEntityRules.create({}, None, None, None).process([message])

    assert message.get("entities") == [{"entity": "field", "value": "cuisine", "start": 4, "end": 11}]


def test_departement_number_range():
    assert not is_departement_number("celle du 99", 9, 11)
    assert is_departement_number("celle du 95", 9, 11)


@pytest.mark.parametrize(
    "text, age",
    [
        ("jai 16 ans ma mere dit que jsuis obligé de faire une formation c vrai ??", "16"),
        ("j'ai 19ans et pas de diplome", "19"),
        ("J'ai 17 ans", "17"),
        ("g 18 ans", "18"),
        ("mon fils a 17 ans et il a arrêté le lycée", "17"),
        ("ma fille âgée de 16 ans", "16"),
    ],
)
def test_stated_age_added(text, age):
    message = Message(data={"text": text})
    message.set("entities", [])

    AgeEntityRules.create({}, None, None, None).process([message])

    [entity] = message.get("entities")
    assert entity["entity"] == "age"
    assert entity["value"] == age
    assert text[entity["start"]:entity["end"]] == age


@pytest.mark.parametrize(
    "text",
    ["il y a 10 ans j'ai eu mon brevet", "ça fait 2 ans que j'ai arrêté", "ça fait 12 ans", "le CAP dure 2 ans"],
)
def test_durations_are_not_ages(text):
    message = Message(data={"text": text})
    message.set("entities", [])

    AgeEntityRules.create({}, None, None, None).process([message])

    assert message.get("entities") == []


def test_model_age_kept():
    text = "j'ai 19 ans"
    message = _message_with_age(text, "19")

    AgeEntityRules.create({}, None, None, None).process([message])

    assert message.get("entities") == [
        {"entity": "age", "value": "19", "start": 5, "end": 7, "extractor": "DIETClassifier"}
    ]


def _message_with_location(text, value):
    start = text.index(value)
    message = Message(data={"text": text})
    message.set(
        "entities",
        [{"entity": "location", "value": value, "start": start, "end": start + len(value), "extractor": "DIETClassifier"}],
    )
    return message


@pytest.mark.parametrize(
    "text, number",
    [
        ("Elle a 17 ans et moi j'en ai 45. Que peut-elle faire ?", "45"),
        ("jai 93 messages", "93"),
        ("il a 75 ans mon grand-père", "75"),
    ],
)
def test_number_someone_has_is_no_location(text, number):
    message = _message_with_location(text, number)

    AgeEntityRules.create({}, None, None, None).process([message])

    assert all(entity["entity"] != "location" for entity in message.get("entities"))


@pytest.mark.parametrize(
    "text, value",
    [("je suis dans le 93", "93"), ("j'habite à 75011", "75011"), ("j'ai déménagé à Nice", "Nice")],
)
def test_places_kept(text, value):
    message = _message_with_location(text, value)

    AgeEntityRules.create({}, None, None, None).process([message])

    assert [entity["value"] for entity in message.get("entities")] == [value]
