"""Tests of connectors.messenger.ids."""

from urllib.parse import quote

import pytest

from connectors.messenger.ids import make_sender_id, split_sender_id, user_ref


def test_sender_id_round_trip():
    sender_id = make_sender_id("111111111111111", "2468013579246801")
    assert split_sender_id(sender_id) == ("111111111111111", "2468013579246801")


def test_sender_id_survives_percent_encoding():
    # The handoff service percent-encodes the sender id in Rasa's tracker URL, which Rasa does not decode.
    sender_id = make_sender_id("111111111111111", "2468013579246801")
    assert quote(sender_id, safe="") == sender_id


@pytest.mark.parametrize("value", ["", "111", "abc_123", "111_", "_123", "111_2_3", "0123456789abcdef0123456789abcdef",
                                   "111:222", None])
def test_other_ids_not_split(value):
    assert split_sender_id(value) is None


def test_user_ref_hides_ids():
    reference = user_ref(make_sender_id("111111111111111", "2468013579246801"))
    assert len(reference) == 12
    assert "2468013579246801" not in reference
