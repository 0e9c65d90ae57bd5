"""Tests of handoff.pseudonyms."""

from handoff.pseudonyms import ALPHABET, is_pseudonym, new_pseudonym


def test_pseudonym_format():
    pseudonym = new_pseudonym()
    assert pseudonym.startswith("Jeune-")
    assert len(pseudonym) == len("Jeune-7F3K2Q")
    assert is_pseudonym(pseudonym)


def test_pseudonym_alphabet_unambiguous():
    for character in "01OILU":
        assert character not in ALPHABET


def test_pseudonym_code_uses_alphabet():
    codes = "".join(new_pseudonym().split("-", 1)[1] for _ in range(200))
    assert set(codes) <= set(ALPHABET)


def test_pseudonyms_almost_all_distinct():
    # 10,000 draws among 30**6 codes give 0.07 repeats on average (the
    # birthday bound), so a repeat now and then is expected; 10 or more
    # would mean a generator that draws from far fewer codes.
    pseudonyms = {new_pseudonym() for _ in range(10000)}
    assert len(pseudonyms) > 10000 - 10


def test_is_pseudonym_rejects():
    for text in ("Jeune-7F3K2", "Jeune-7F3K2O", "jeune-7F3K2Q", "Jeune7F3K2Q", "Jeune-7F3K2Q "):
        assert not is_pseudonym(text), text
