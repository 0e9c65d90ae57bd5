"""Fixtures of the end-to-end tests: the real service, started once per session."""

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.integration.stack import Stack
from tests.integration.widget_client import WidgetUser


@pytest.fixture(scope="session")
def trained_model() -> str:
    """Path of the trained model; the test command trains it and sets the variable."""
    model = os.environ.get("SECONDE_CHANCE_MODEL")
    if not model or not Path(model).is_file():
        pytest.fail(
            "SECONDE_CHANCE_MODEL is not set to a trained model: run the tests with "
            "scripts/test.sh, which trains the model first"
        )
    return model


@pytest.fixture(scope="session")
def live_stack(trained_model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The action server, Rasa with the widget channel and the demo page, running."""
    stack = Stack(workdir=tmp_path_factory.mktemp("stack"))
    try:
        stack.start(trained_model)
    except Exception as error:
        tail = stack.logs_tail()
        stack.stop()
        pytest.fail(f"the service did not start: {error}\n{tail}")
    yield stack
    stack.stop()


@pytest.fixture
def widget_user(live_stack: Stack) -> Iterator[WidgetUser]:
    """A new user connected to the widget channel."""
    user = WidgetUser(live_stack.rasa_url).connect()
    yield user
    user.close()
