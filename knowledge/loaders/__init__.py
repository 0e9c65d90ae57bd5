"""Readers that turn the open data files into table rows, with a report per file.

Each reader validates its rows, counts what it keeps and why it rejects or
ignores the others, and returns plain dictionaries ready for bulk inserts.
"""
