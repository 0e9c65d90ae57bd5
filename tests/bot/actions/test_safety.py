"""Tests of bot.actions.safety: the numbers given for each situation."""

import re

import pytest

from bot.actions.answers import ActionHandleFallback, ActionHandleYesNo
from bot.actions.distress import assess
from bot.actions.safety import ActionDistressSupport
from bot.actions.sent_messages import sent_texts
from knowledge.helplines import load_helplines
from tests.bot.conftest import make_tracker


@pytest.mark.parametrize(
    "text, first_response, number",
    [
        ("je pense a me suicider", "utter_distress_suicide", "3114"),
        ("ce soir j'ai pris des cachets", "utter_distress_immediate", "15"),
        ("mon beau pere me frappe", "utter_distress_violence_home", "119"),
        ("des gens ont mis des photos de moi sur insta", "utter_distress_harassment", "3018"),
        ("je me scarifie depuis 2 mois", "utter_distress_self_harm", "3114"),
        ("je suis a la rue depuis hier soir", "utter_distress_homeless", "119"),
        ("je me sens nul personne m'aime", "utter_distress_despair", "3114"),
        ("ma pote dit qu'elle veut en finir", "utter_distress_third_party", "3114"),
    ],
    ids=["suicide", "immediate", "violence", "harassment", "self-harm", "homeless",
         "despair", "third-party"],
)
def test_distress_answer_per_situation(run_action, text, first_response, number):
    result = run_action(ActionDistressSupport(), make_tracker(text, "distress"))
    assert result.responses[0] == first_response
    assert number in result.texts
    assert result.responses[-1] == "utter_handoff_distress_no_counsellor"


def test_distress_hyperbole_gets_check_in(run_action):
    result = run_action(
        ActionDistressSupport(), make_tracker("mdr je vais mourir si je rate ce cap", "distress")
    )
    assert result.responses == ["utter_distress_checkin"]
    assert result.slot("last_question") == "checkin"


def test_distress_without_rule_checks_in(run_action):
    result = run_action(ActionDistressSupport(), make_tracker("ça va vraiment pas du tout", "distress"))
    assert result.responses == ["utter_distress_checkin_unsure"]
    assert result.messages[0]["line"] == "3114"
    assert {"event": "slot", "name": "last_question", "value": "checkin"} in [
        {key: event.get(key) for key in ("event", "name", "value")} for event in result.events
    ]
    assert "pause" not in [event["event"] for event in result.events]


def test_distress_checkin_no_gets_numbers(run_action):
    tracker = make_tracker("non pas vraiment", "deny", slots={"last_question": "checkin"})
    result = run_action(ActionHandleYesNo(), tracker)
    assert result.responses[0] == "utter_distress_despair"
    assert "3114" in result.texts


def test_numbers_filled_from_helplines(run_action, domain):
    helplines = load_helplines()
    result = run_action(ActionDistressSupport(), make_tracker("je pense a me suicider", "distress"))
    message = result.messages[0]
    template = domain["responses"][message["response"]][0]["text"]
    rendered = template.format(**{k: v for k, v in message.items() if isinstance(v, str)})
    assert helplines.get("3114").number in rendered


def test_responses_name_only_reviewed_numbers(domain):
    # Every phone-like number a response shows must be in the reviewed
    # helplines file; the safety responses take theirs from it directly.
    allowed = {h.number.replace(" ", "") for h in load_helplines().helplines}
    # Long numbers anywhere, short ones where a sentence dials them
    # ("appelle le 15", "au 114"), so that ages like "16-25 ans" do not count.
    phone_like = re.compile(
        r"\b0\d(?:[ .]?\d{2,3}){3,4}\b"
        r"|(?<=\ble )(?:1\d{1,2}|3\d{3})\b"
        r"|(?<=\bau )(?:1\d{1,2}|3\d{3})\b"
    )
    for name, variations in domain["responses"].items():
        for variation in variations:
            text = variation.get("text") or ""
            for number in phone_like.findall(text):
                assert number.replace(" ", "").replace(".", "") in allowed, f"{name}: {number}"


@pytest.mark.parametrize(
    "reply, intent, first_response",
    [
        ("oui", "affirm", "utter_distress_suicide_confirmed"),
        ("je sais pas", "nlu_fallback", "utter_distress_suicide_unsure"),
        ("jsp", "nlu_fallback", "utter_distress_suicide_unsure"),
        ("non pas maintenant", "deny", "utter_distress_suicide_unsure"),
        ("c quoi l'epide", "ask_scheme", "utter_distress_suicide_confirmed"),
        ("non", "deny", "utter_distress_suicide_denied"),
        ("non ça va", "deny", "utter_distress_suicide_denied"),
        ("oui je vais le faire ce soir", "affirm", "utter_distress_immediate"),
        ("oui ce soir", "affirm", "utter_distress_immediate"),
    ],
    ids=["yes", "unsure", "jsp", "not-now", "other-subject", "no", "no-fine", "plan-tonight", "yes-tonight"],
)
def test_reply_to_suicide_question(run_action, reply, intent, first_response):
    from bot.actions.answers import ActionExplainScheme, ActionHandleFallback, ActionHandleYesNo

    action = {
        "affirm": ActionHandleYesNo(), "deny": ActionHandleYesNo(),
        "nlu_fallback": ActionHandleFallback(), "ask_scheme": ActionExplainScheme(),
    }[intent]
    tracker = make_tracker(reply, intent, slots={"last_question": "suicide_check"})
    result = run_action(action, tracker)
    assert result.responses[0] == first_response
    assert result.slot("last_question") is None
    if first_response != "utter_distress_suicide_denied":
        assert "3114" in result.texts or "15" in result.texts


def test_suicide_answer_asks_the_question(run_action):
    result = run_action(ActionDistressSupport(), make_tracker("je pense a me suicider", "distress"))
    assert result.slot("last_question") == "suicide_check"


def test_helpline_list_shows_numbers(run_action):
    result = run_action(ActionDistressSupport(), make_tracker("je me sens nul personne m'aime", "distress"))
    assert "0800 235 236" in result.texts


def test_closing_message_names_no_number(run_action):
    tracker = make_tracker("je pense a me suicider", "distress")
    result = run_action(ActionDistressSupport(), tracker)
    closing = sent_texts(result.messages, tracker)[-1]
    assert "assistant automatique" in closing
    assert "numéros ci-dessus" in closing
    assert not re.search(r"\d", closing)



# ---------- Length of the safety answer ----------

# Messages of every path of answer_distress: each situation, two situations
# at once, someone else, a user who cannot phone, and the model alone.
SHORT_ANSWER_CASES = [
    ("je pense a me suicider", "distress", {}),
    ("ce soir j'ai pris des cachets", "distress", {}),
    ("je veux mourir ce soir j'ai la corde", "distress", {}),
    ("mon beau pere me frappe", "distress", {}),
    ("des gens ont mis des photos de moi sur insta", "distress", {}),
    ("je me scarifie depuis 2 mois", "distress", {}),
    ("je suis a la rue depuis hier soir", "distress", {}),
    ("je me sens nul personne m'aime", "distress", {}),
    ("ma pote dit qu'elle veut en finir", "distress", {}),
    ("on me harcèle au lycée et je veux plus vivre", "distress", {}),
    ("je me scarifie et j'ai des idées noires", "distress", {}),
    ("jsuis sourde je peux pas appeler et je veux mourir", "distress", {}),
    ("ça va vraiment pas du tout", "distress", {}),
    ("mon fils dit qu'il veut mourir", "distress", {"role": "adult"}),
    ("Ma fille est victime de harcèlement au collège, que faire ?", "parent_question", {"role": "adult"}),
    ("je n'en peux plus", "distress", {"role": "adult"}),
    ("oui", "affirm", {"last_question": "suicide_check"}),
    ("oui je vais le faire ce soir", "affirm", {"last_question": "suicide_check"}),
    ("oui mais je peux pas appeler", "affirm", {"last_question": "suicide_check"}),
]


@pytest.mark.parametrize("text, intent, slots", SHORT_ANSWER_CASES, ids=[case[0][:40] for case in SHORT_ANSWER_CASES])
def test_distress_answer_is_short(run_action, text, intent, slots):
    from bot.actions.answers import ActionAnswerAdult

    action = {"distress": ActionDistressSupport(), "affirm": ActionHandleYesNo(),
              "parent_question": ActionAnswerAdult()}[intent]
    tracker = make_tracker(text, intent, slots=slots)
    result = run_action(action, tracker)
    texts = sent_texts(result.messages, tracker)

    assert len(result.messages) <= 3
    assert len(texts) == len(result.messages)
    # Rasa's socket.io channel sends each paragraph as a message of its own.
    assert sum(len(text.strip().split("\n\n")) for text in texts) <= 3
    assert len([text for text in texts if "3114" in text]) <= 2
    assert all("{" not in text for text in texts)


# ---------- Adults ----------

# A word of « tu »: the pronouns and possessives of the second person singular.
TU_WORDS = re.compile(r"(?<![\w-])(tu|te|toi|ton|ta|tes|t')(?![\w-])|(?<![\w])t'", re.IGNORECASE)
VOUS_WORDS = re.compile(r"\b(vous|votre|vos)\b", re.IGNORECASE)

ADULT_CASES = [
    ("mon fils dit qu'il veut mourir", "utter_distress_third_party"),
    ("Ma fille se scarifie, j'ai vu ses bras ce matin.", "utter_distress_third_party"),
    ("Mon fils de 15 ans se fait frapper par son père.", "utter_distress_third_party_minor"),
    ("Une élève m'a dit que son oncle la touche, comment réagir ?", "utter_distress_third_party_minor"),
    ("Ma fille est victime de harcèlement au collège, que faire ?", "utter_distress_third_party_harassment"),
    ("ce jeune a été mis à la porte par son père", "utter_distress_third_party_minor"),
]


@pytest.mark.parametrize("text, opening", ADULT_CASES, ids=[case[0][:40] for case in ADULT_CASES])
def test_adult_about_young_person_gets_vous(run_action, text, opening):
    tracker = make_tracker(text, "distress", slots={"role": "adult"})
    result = run_action(ActionDistressSupport(), tracker)
    texts = sent_texts(result.messages, tracker)

    assert result.responses[0] == opening
    assert VOUS_WORDS.search(texts[0])
    for sent in texts:
        assert not TU_WORDS.search(sent), sent
    assert "Si tu as moins de 18 ans" not in "\n".join(texts)


@pytest.mark.parametrize("text, opening", ADULT_CASES, ids=[case[0][:40] for case in ADULT_CASES])
def test_young_writer_gets_tu(run_action, text, opening):
    tracker = make_tracker(text, "distress")
    result = run_action(ActionDistressSupport(), tracker)
    texts = sent_texts(result.messages, tracker)

    assert TU_WORDS.search(texts[0])
    assert not VOUS_WORDS.search(texts[0])


def test_adult_young_person_is_third_party(run_action):
    # No third-party pattern fires on « ma fille se fait frapper », but an
    # adult naming their daughter speaks of her. Blows at school are
    # harassment for the rule layer.
    tracker = make_tracker("ma fille se fait frapper au college", "distress", slots={"role": "adult"})
    assert not assess("ma fille se fait frapper au college").third_party
    result = run_action(ActionDistressSupport(), tracker)
    opening = sent_texts(result.messages, tracker)[0]
    assert result.responses[0] == "utter_distress_third_party_harassment"
    assert "Si tu as moins de 18 ans" not in opening
    assert "3018" in result.texts


def test_adult_own_distress_gets_vous(run_action):
    tracker = make_tracker("je suis prof et je suis a bout", "distress", slots={"role": "adult"})
    result = run_action(ActionDistressSupport(), tracker)
    texts = sent_texts(result.messages, tracker)
    assert result.responses[0] == "utter_distress_despair"
    assert "vous sentiez" in texts[0]
    # The 12-25 listening line is not for the adult.
    assert "Fil Santé Jeunes" not in "\n".join(texts)


def test_every_distress_response_has_adult_variant(domain):
    names = [name for name in domain["responses"]
             if name.startswith(("utter_distress_", "utter_handoff_distress_"))]
    assert len(names) >= 20
    for name in names:
        adult, *_, young = domain["responses"][name]
        assert adult.get("condition") == [{"type": "slot", "name": "role", "value": "adult"}], name
        assert not TU_WORDS.search(adult["text"]), name
        # « vous », or a verb in the « vous » imperative (« contactez »).
        assert VOUS_WORDS.search(adult["text"]) or re.search(r"\w+ez\b", adult["text"]), name
        assert not young.get("condition"), name


# ---------- Users who cannot phone ----------


def test_cannot_call_in_distress_lists_written_ways_first(run_action):
    tracker = make_tracker("jsuis sourde je peux pas appeler et je veux mourir", "distress")
    result = run_action(ActionDistressSupport(), tracker)
    numbers = result.messages[1]["text"].splitlines()

    assert result.responses[0] == "utter_distress_suicide"
    assert numbers[0].startswith("✉️ 114")
    assert "sourdes ou malentendantes" in numbers[0]
    assert any(line.startswith("💬 Tchat du Fil Santé Jeunes") for line in numbers)
    # The 3114 chat was not confirmed, so the bot never offers it.
    assert not any("Tchat du 3114" in line for line in numbers)
    assert any(line.startswith("📞 3114") for line in numbers)


def test_cannot_call_violence_offers_119_chat(run_action):
    tracker = make_tracker("mon pere me frappe et j'ai plus de forfait", "distress")
    result = run_action(ActionDistressSupport(), tracker)
    numbers = result.messages[1]["text"].splitlines()
    assert numbers[0].startswith("✉️ 114")
    assert numbers[1].startswith("💬 Tchat du 119")


SAFETY_TURN = [
    {"event": "user", "text": "mon beau pere me frappe", "parse_data": {"intent": {"name": "distress"}}},
    {"event": "action", "name": "action_distress_support"},
    {"event": "bot", "text": "Personne n'a le droit…", "metadata": {"utter_action": "utter_distress_violence_home"}},
    {"event": "bot", "text": "📞 119 – Allô Enfance en danger", "metadata": {}},
    {"event": "bot", "text": "Je suis un assistant automatique…",
     "metadata": {"utter_action": "utter_handoff_distress_no_counsellor"}},
]


@pytest.mark.parametrize(
    "text", ["jsuis sourde je peux pas appeler", "je peux pas téléphoner", "je suis malentendant",
             "j'ai plus de forfait", "pas de crédit"],
)
@pytest.mark.parametrize("intent", ["nlu_fallback", "distress", "deny"])
def test_cannot_call_after_safety_answer(run_action, text, intent):
    action = {"nlu_fallback": ActionHandleFallback(), "distress": ActionDistressSupport(),
              "deny": ActionHandleYesNo()}[intent]
    tracker = make_tracker(text, intent, events=SAFETY_TURN)
    result = run_action(action, tracker)
    [written] = sent_texts(result.messages, tracker)

    assert result.responses == ["utter_distress_cannot_call"]
    assert "par écrit" in written
    lines = written.splitlines()
    assert lines[1].startswith("✉️ 114")
    assert [line.split(" (")[0] for line in lines[2:]] == [
        "💬 Tchat du 119 – Allô Enfance en danger",
        "💬 Tchat du 3018 – Harcèlement et violences numériques",
        "💬 Tchat du Fil Santé Jeunes",
    ]
    assert "pause" not in [event["event"] for event in result.events]


def test_cannot_call_after_suicide_question(run_action):
    tracker = make_tracker("je peux pas appeler je suis malentendante", "nlu_fallback",
                           slots={"last_question": "suicide_check"})
    result = run_action(ActionHandleFallback(), tracker)
    assert result.responses == ["utter_distress_cannot_call"]
    # The question is still unanswered: the next « oui » answers it.
    assert result.slot("last_question") == "suicide_check"


def test_cannot_call_adult_gets_vous(run_action):
    tracker = make_tracker("je ne peux pas téléphoner", "nlu_fallback", events=SAFETY_TURN,
                           slots={"role": "adult"})
    result = run_action(ActionHandleFallback(), tracker)
    [written] = sent_texts(result.messages, tracker)
    assert written.startswith("D'accord. Vous pouvez")
    assert "Fil Santé Jeunes" not in written


@pytest.mark.parametrize(
    "text", ["je suis malentendante, je cherche une mission locale", "je peux pas téléphoner", "pas de crédit"]
)
def test_cannot_call_alone_is_not_distress(run_action, text):
    # Without a safety answer just before, the message is an ordinary one.
    result = run_action(ActionHandleFallback(), make_tracker(text, "nlu_fallback"))
    assert not [name for name in result.responses if "distress" in name]
    assert "3114" not in result.texts


def test_cannot_call_after_other_answer_is_not_distress(run_action):
    events = [
        {"event": "user", "text": "bonjour", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "bot", "text": "Bonjour !", "metadata": {"utter_action": "utter_greet"}},
    ]
    result = run_action(ActionHandleFallback(), make_tracker("je peux pas appeler", "nlu_fallback", events=events))
    assert not [name for name in result.responses if "distress" in name]


# ---------- A relative reports an emergency ----------


@pytest.mark.parametrize(
    "text",
    [
        "Elle vient d'avaler des médicaments, elle ne répond plus",
        "il s'est enfermé dans sa chambre avec un couteau et dit qu'il va se tuer",
    ],
)
def test_adult_reporting_emergency_gets_emergency_numbers(run_action, text):
    tracker = make_tracker(text, "distress", slots={"role": "adult"})
    result = run_action(ActionDistressSupport(), tracker)
    assert result.responses[0] == "utter_distress_immediate"
    assert "15" in result.messages[1]["text"]
    # The adult is not asked whether they think of suicide themselves.
    assert result.slot("last_question") is None


def test_adult_reporting_threat_is_about_young_person(run_action):
    tracker = make_tracker("il dit qu'il va se tuer", "distress", slots={"role": "adult"})
    result = run_action(ActionDistressSupport(), tracker)
    assert result.responses[0] == "utter_distress_third_party"
    assert result.slot("last_question") is None


def test_cannot_call_said_earlier_lists_written_ways_first(run_action):
    events = [{"event": "user", "text": "jsuis sourde", "parse_data": {"intent": {"name": "nlu_fallback"}}}]
    tracker = make_tracker("jveux mourir", "distress", events=events)
    result = run_action(ActionDistressSupport(), tracker)
    numbers = result.messages[1]["text"].splitlines()
    assert numbers[0].startswith("✉️ 114")

