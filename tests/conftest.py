"""Fixtures shared by every test package."""

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root folder."""
    return ROOT


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the Redis server the tests use (a real one)."""
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def unique_id() -> str:
    """A random id for keys and session ids that must not collide between tests."""
    return uuid.uuid4().hex
