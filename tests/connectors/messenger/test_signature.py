"""Tests of connectors.messenger.signature."""

import pytest

from connectors.messenger.signature import sign, signature_problem

SECRET = "secret-de-test"
BODY = b'{"object":"page","entry":[]}'
# openssl dgst -sha256 -hmac 'secret-de-test' over BODY.
EXPECTED_HEX = "aa0a6b4db6a7570c40c5aba1a7fbe55fe49237406f86e9a17513cb4ca3ab17bb"


def test_sign_matches_openssl():
    assert sign(SECRET, BODY) == f"sha256={EXPECTED_HEX}"


def test_valid_signature_accepted():
    assert signature_problem(SECRET, BODY, f"sha256={EXPECTED_HEX}") is None


def test_uppercase_hex_accepted():
    assert signature_problem(SECRET, BODY, f"sha256={EXPECTED_HEX.upper()}") is None


def test_surrounding_spaces_accepted():
    assert signature_problem(SECRET, BODY, f"  sha256={EXPECTED_HEX} ") is None


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header_rejected(header):
    assert signature_problem(SECRET, BODY, header) == "missing X-Hub-Signature-256 header"


@pytest.mark.parametrize("header", [
    EXPECTED_HEX,
    f"sha1={EXPECTED_HEX}",
    f"sha256={EXPECTED_HEX[:-1]}",
    f"sha256={EXPECTED_HEX}00",
    "sha256=" + "z" * 64,
    "sha256=",
])
def test_malformed_header_rejected(header):
    assert signature_problem(SECRET, BODY, header) == "malformed X-Hub-Signature-256 header"


def test_other_body_rejected():
    assert signature_problem(SECRET, BODY + b" ", f"sha256={EXPECTED_HEX}") == "signature does not match the body"


def test_other_secret_rejected():
    assert signature_problem("autre-secret", BODY, f"sha256={EXPECTED_HEX}") == "signature does not match the body"


def test_empty_secret_rejects_everything():
    assert signature_problem("", BODY, sign("", BODY)) == "no app secret is configured"
