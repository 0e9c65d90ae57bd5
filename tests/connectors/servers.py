"""Servers of the connector tests: a Sanic blueprint on 127.0.0.1, and an event loop in a thread.

The channel tests serve each channel's blueprint for real with `serve_blueprint`.
Synchronous tests (Hypothesis) cannot await, so they run their servers in a
`LoopThread` and hand it the coroutines to run.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Coroutine, TypeVar

from sanic import Blueprint, Sanic

from tests.integration.stack import free_port

T = TypeVar("T")


@asynccontextmanager
async def serve_blueprint(
    name: str, blueprint: Blueprint, url_prefix: str, *, run_after_start: bool = False
) -> AsyncIterator[str]:
    """Serve a blueprint with Sanic on a free port of 127.0.0.1 and yield the base URL.

    The server runs in the current event loop until the block exits.

    Args:
        name: The prefix of the Sanic app's name, to which the port is appended.
        blueprint: The blueprint to serve.
        url_prefix: The path under which the blueprint's routes are served.
        run_after_start: Whether to run the after_server_start listeners, such as
            one that registers a webhook. With ``return_asyncio_server=True``,
            Sanic 21.12 runs no listener by itself.

    Yields:
        The base URL, such as ``http://127.0.0.1:40123``.
    """
    # Sanic rewrites some of its methods when an app starts. In test mode it
    # keeps the originals, so that several apps can start in one process.
    Sanic.test_mode = True
    port = free_port()
    app = Sanic(f"{name}_{port}")
    app.blueprint(blueprint, url_prefix=url_prefix)

    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    if run_after_start:
        await server.after_start()
    task = asyncio.ensure_future(server.serve_forever())

    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        server.close()
        await server.wait_closed()


class LoopThread:
    """An asyncio event loop running in a daemon thread, for synchronous tests (Hypothesis).

    Args:
        name: The thread's name, shown in tracebacks and thread dumps.
    """

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        # A daemon thread, so that a test that fails before `stop` does not keep pytest from exiting.
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)

    def start(self) -> "LoopThread":
        """Start the thread, which runs the loop until `stop`."""
        self._thread.start()
        return self

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run a coroutine in the loop, wait for it and return its result.

        Raises:
            concurrent.futures.TimeoutError: The coroutine did not finish within
                `timeout` seconds. It is not cancelled and keeps running in the loop.
        """
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self, timeout: float = 10) -> None:
        """Stop the loop, wait for the thread to end and close the loop.

        Raises:
            RuntimeError: The thread was still running after `timeout` seconds.
        """
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the event loop thread {self._thread.name} did not stop within {timeout} s")
        self.loop.close()
