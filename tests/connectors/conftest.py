"""Fixtures of the channel tests: the handoff databases and Redis keys of tests/handoff."""

from tests.handoff.conftest import (  # noqa: F401 - imported fixtures are registered by name
    database_url,
    key_prefix,
    make_counsellor,
    postgres_database_url,
    postgres_url,
    redis_client,
    sqlite_url,
    test_password_hash,
)
