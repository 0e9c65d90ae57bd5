"""Fixtures of the channel tests: the handoff databases and Redis keys of tests/handoff."""

import asyncio
import time

from connectors.rate_limit import WINDOW_SECONDS

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


async def away_from_rate_window_edge() -> None:
    """Wait until the current rate-limit window has at least 5 s left.

    A test that counts messages against `connectors.rate_limit` would see the
    count restart if the clock's minute changed in the middle of it.
    """
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 5:
        await asyncio.sleep(left + 0.1)
