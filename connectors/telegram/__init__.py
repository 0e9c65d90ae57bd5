"""Telegram channel: a Rasa input channel fed by the Bot API webhook, and the sender of the handoff service."""
