"""Tests of handoff.config."""

from __future__ import annotations

import logging

import pytest

from handoff import config
from handoff.config import load_settings


def test_defaults():
    settings = load_settings({"HANDOFF_SECRET_KEY": "k"})
    assert settings.database_url.endswith("/var/handoff.sqlite3")
    assert settings.port == 5006
    assert settings.max_wait_minutes == 20
    assert settings.grace_seconds == 120
    assert settings.retention_days == 30
    assert settings.followup_retention_days == 30
    assert settings.office_hours_file == config.DEFAULT_OFFICE_HOURS_FILE
    assert settings.force_open is None
    assert settings.rasa_url == "http://127.0.0.1:5005"


def test_values_from_environment():
    settings = load_settings(
        {
            "HANDOFF_SECRET_KEY": "k",
            "HANDOFF_DATABASE_URL": "postgresql://u@h/db",
            "HANDOFF_PORT": "6000",
            "RASA_URL": "http://rasa:5005/",
            "RASA_TOKEN": "t",
            "SMTP_HOST": "smtp.example.org",
            "SMTP_PORT": "587",
            "SMTP_STARTTLS": "1",
            "HANDOFF_FORCE_OPEN": "Open",
            "HANDOFF_OFFICE_HOURS_FILE": "handoff/office_hours.yml",
        }
    )
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.port == 6000
    assert settings.rasa_url == "http://rasa:5005"
    assert settings.smtp_port == 587
    assert settings.smtp_starttls is True
    assert settings.force_open == "open"
    assert settings.office_hours_file == config.DEFAULT_OFFICE_HOURS_FILE


def test_secrets_hidden_from_repr():
    settings = load_settings({"HANDOFF_SECRET_KEY": "secret-value", "SMTP_PASSWORD": "smtp-pass", "RASA_TOKEN": "tok"})
    text = repr(settings)
    assert "secret-value" not in text
    assert "smtp-pass" not in text
    assert "rasa_token" not in text


@pytest.mark.parametrize(
    "name, value",
    [
        ("HANDOFF_PORT", "abc"),
        ("HANDOFF_PORT", "70000"),
        ("HANDOFF_RETENTION_DAYS", "0"),
        ("SMTP_STARTTLS", "peut-être"),
        ("HANDOFF_FORCE_OPEN", "sometimes"),
    ],
)
def test_invalid_value_names_variable(name, value):
    with pytest.raises(ValueError, match=name):
        load_settings({"HANDOFF_SECRET_KEY": "k", name: value})


def test_missing_secret_generated_with_warning(monkeypatch, caplog):
    monkeypatch.setattr(config, "_secret_key_warning_logged", False)
    with caplog.at_level(logging.WARNING, logger="handoff.config"):
        first = load_settings({})
        second = load_settings({})
    assert first.secret_key_generated is True
    assert len(first.secret_key) >= 32
    assert second.secret_key == first.secret_key
    assert "HANDOFF_SECRET_KEY is not set" in caplog.text
    assert len(caplog.records) == 1


def test_missing_secret_warning_off(monkeypatch, caplog):
    monkeypatch.setattr(config, "_secret_key_warning_logged", False)
    with caplog.at_level(logging.WARNING, logger="handoff.config"):
        load_settings({}, warn_missing_secret=False)
    assert caplog.records == []
