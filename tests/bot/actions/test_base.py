"""Tests of bot.actions.base: the log reference of a conversation."""

import re
from pathlib import Path

from bot.actions.base import conversation_ref

ACTIONS_DIR = Path(__file__).resolve().parents[3] / "bot" / "actions"


def test_conversation_ref_hides_the_sender_id():
    reference = conversation_ref("111111111111111_2710610110318081")
    assert re.fullmatch(r"c-[0-9a-f]{12}", reference)
    assert "2710610110318081" not in reference


def test_conversation_ref_is_stable_and_distinct():
    assert conversation_ref("1968932379") == conversation_ref("1968932379")
    assert conversation_ref("1968932379") != conversation_ref("1968932378")


def test_no_log_call_names_a_raw_sender_id():
    # On Messenger and Telegram the sender id is the user's platform id.
    offending = []
    for path in ACTIONS_DIR.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"logger\.\w+\((?:[^()]|\([^()]*\))*\)", source, re.DOTALL):
            if re.search(r"(?<!conversation_ref\()tracker\.sender_id", call.group(0)):
                offending.append(f"{path.name}: {call.group(0)[:80]}")
    assert offending == []
