"""Fixtures of the end-to-end tests: the real service, started once per session."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from tests.integration.stack import Stack, free_port
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


class SmtpRecorder:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: List[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's naming
        self.envelopes.append(envelope)
        return "250 Message accepted"


@dataclass
class SmtpServer:
    """A real SMTP server on 127.0.0.1 and the messages it received."""

    recorder: SmtpRecorder
    port: int


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on a free port of 127.0.0.1, recording the e-mails sent to it."""
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(recorder, port)
    controller.stop()
