"""Rasa input and output channels of the assistant, one sub-package per channel."""
