"""Custom NLU components of the assistant's pipeline."""
