"""Measure the latency of the human handoff with every real process running.

It starts a stack (action server, Rasa with the widget channel, the handoff
service, the demo page and a private Redis server) on free ports of
127.0.0.1, creates a counsellor, opens the console's WebSocket as that
counsellor and connects socket.io users (polling transport) to the widget
channel. It measures, with time.perf_counter:

- escalation: from a user's emit of ``/ask_counsellor`` to the console
  WebSocket receiving the ``queue`` message that lists that conversation;
- counsellor message: from the start of the counsellor's POST of a message
  to the user's socket receiving it as ``bot_uttered``.

Every step runs one at a time, so the figures are latencies without
concurrent load. The results go to bench/handoff.md.

Usage:
    .venv/bin/python bench/handoff_latency.py --model models/<model>.tar.gz [--count 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, Python puts bench/ on the path, not the repository root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from handoff import store  # noqa: E402 - after the path set-up above
from handoff.db import dispose_engine, get_sessionmaker  # noqa: E402
from tests.integration.console_client import ConsoleClient  # noqa: E402
from tests.integration.stack import Stack  # noqa: E402

logger = logging.getLogger("bench.handoff_latency")

DEFAULT_OUTPUT = ROOT / "bench" / "handoff.md"
COUNSELLOR_LOGIN = "banc-essai"
COUNSELLOR_PASSWORD = "mot-de-passe-du-banc-d-essai"
# A reply of Rasa goes through the action server and SQL: seconds on a busy machine.
REPLY_TIMEOUT_SECONDS = 60.0
QUEUE_TIMEOUT_SECONDS = 30.0
MESSAGE_TIMEOUT_SECONDS = 30.0


@dataclass
class BenchUser:
    """One socket.io user of the widget channel and the bot_uttered messages it received."""

    client: socketio.AsyncClient
    session_id: str = ""
    inbox: "asyncio.Queue[Tuple[float, Dict[str, Any]]]" = field(default_factory=asyncio.Queue)

    async def next_message(self, timeout: float) -> Tuple[float, Dict[str, Any]]:
        """Return the arrival time and content of the next bot_uttered message."""
        return await asyncio.wait_for(self.inbox.get(), timeout)


@dataclass
class QueueWatcher:
    """Records the arrival time of every ``queue`` message of the console WebSocket."""

    ws: aiohttp.ClientWebSocketResponse
    snapshots: List[Tuple[float, Set[str]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        """Read the socket until it closes."""
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            arrived = time.perf_counter()
            data = json.loads(message.data)
            if data.get("type") == "queue":
                ids = {conversation["id"] for conversation in data.get("conversations", [])}
                self.snapshots.append((arrived, ids))
                self.changed.set()

    async def wait_for_size(self, size: int, timeout: float) -> None:
        """Wait until a queue message lists at least ``size`` conversations."""
        deadline = time.monotonic() + timeout
        while not self.snapshots or len(self.snapshots[-1][1]) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the console queue did not reach {size} conversations in {timeout} s")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                continue

    def first_listing(self, conversation_id: str, since: float) -> Optional[float]:
        """Return the arrival time of the first queue message after ``since`` that lists the conversation."""
        for arrived, ids in self.snapshots:
            if arrived >= since and conversation_id in ids:
                return arrived
        return None


async def connect_user(rasa_url: str) -> BenchUser:
    """Connect a socket.io user with the polling transport and obtain its session id."""
    client = socketio.AsyncClient(reconnection=False)
    user = BenchUser(client)
    confirmed: "asyncio.Future[str]" = asyncio.get_running_loop().create_future()

    async def on_bot_uttered(data: Dict[str, Any]) -> None:
        user.inbox.put_nowait((time.perf_counter(), data))
        # As the widget does: a counsellor or system message that is not
        # acknowledged is delivered again with every later one.
        if isinstance(data, dict) and data.get("message_id") is not None:
            await client.emit("message_ack", {"session_id": user.session_id, "message_ids": [data["message_id"]]})

    async def on_session_confirm(session_id: Any) -> None:
        if not confirmed.done():
            confirmed.set_result(session_id if isinstance(session_id, str) else session_id["session_id"])

    client.on("bot_uttered", on_bot_uttered)
    client.on("session_confirm", on_session_confirm)
    await client.connect(rasa_url, socketio_path="/socket.io", transports=["polling"], wait_timeout=30)
    await client.emit("session_request", {"session_id": None})
    user.session_id = await asyncio.wait_for(confirmed, 30)
    return user


def conversation_ids(database_url: str, session_ids: List[str]) -> Dict[str, str]:
    """Return the open handoff conversation of each session, read from SQL."""
    factory = get_sessionmaker(database_url)
    found: Dict[str, str] = {}
    with factory() as session:
        for session_id in session_ids:
            conversation = store.open_conversation_for(session, "widget", session_id)
            if conversation is not None:
                found[session_id] = conversation.id
    return found


async def measure(stack: Stack, count: int) -> Dict[str, List[float]]:
    """Run both measurements and return their latencies in milliseconds."""
    results: Dict[str, List[float]] = {"escalation": [], "message": [], "message_post": []}
    users: List[BenchUser] = []
    async with ConsoleClient(stack.handoff_url) as console:
        await console.login(COUNSELLOR_LOGIN, COUNSELLOR_PASSWORD)
        ws = await console.websocket()
        watcher = QueueWatcher(ws)
        watcher_task = asyncio.ensure_future(watcher.run())
        try:
            await watcher.wait_for_size(0, QUEUE_TIMEOUT_SECONDS)
            logger.info("Connecting %d socket.io users", count)
            for _ in range(count):
                users.append(await connect_user(stack.rasa_url))

            emitted_at: Dict[str, float] = {}
            for index, user in enumerate(users, start=1):
                emitted_at[user.session_id] = time.perf_counter()
                await user.client.emit("user_uttered", {"message": "/ask_counsellor", "session_id": user.session_id})
                await user.next_message(REPLY_TIMEOUT_SECONDS)
                await watcher.wait_for_size(index, QUEUE_TIMEOUT_SECONDS)
                if index % 20 == 0:
                    logger.info("%d escalations done", index)

            ids = await asyncio.to_thread(
                conversation_ids, stack.env["HANDOFF_DATABASE_URL"], [user.session_id for user in users]
            )
            for session_id, started in emitted_at.items():
                listed = watcher.first_listing(ids[session_id], started) if session_id in ids else None
                if listed is None:
                    raise RuntimeError("a conversation never appeared in the console queue")
                results["escalation"].append((listed - started) * 1000)

            target = users[0]
            conversation_id = ids[target.session_id]
            claim = await console.claim(conversation_id)
            if claim.status != 200:
                raise RuntimeError(f"claim failed with HTTP {claim.status}: {claim.data}")
            await target.next_message(MESSAGE_TIMEOUT_SECONDS)  # « Un conseiller a rejoint la conversation. »
            logger.info("Sending %d counsellor messages", count)
            for index in range(count):
                text = f"Message de test n° {index + 1} du banc d'essai."
                started = time.perf_counter()
                response = await console.send(conversation_id, text)
                posted = time.perf_counter()
                if response.status != 200:
                    raise RuntimeError(f"message {index + 1} rejected with HTTP {response.status}: {response.data}")
                while True:
                    try:
                        arrived, data = await target.next_message(MESSAGE_TIMEOUT_SECONDS)
                    except asyncio.TimeoutError:
                        raise RuntimeError(
                            f"message {index + 1} did not reach the user in {MESSAGE_TIMEOUT_SECONDS} s "
                            f"(socket connected: {target.client.connected})"
                        ) from None
                    if data.get("text") == text:
                        break
                    logger.debug("Skipped message %s of the user while waiting.", data.get("message_id"))
                results["message"].append((arrived - started) * 1000)
                results["message_post"].append((posted - started) * 1000)
        finally:
            watcher_task.cancel()
            await ws.close()
            for user in users:
                await user.client.disconnect()
    return results


def percentile(values: List[float], share: float) -> float:
    """Return the nearest-rank percentile (share between 0 and 1)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def machine_description() -> Tuple[str, str]:
    """Return the CPU model and the number of CPUs, from lscpu."""
    output = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    fields = {}
    for line in output.splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields.get("Model name", "unknown"), fields.get("CPU(s)", "unknown")


def write_report(path: Path, results: Dict[str, List[float]], command: str, count: int) -> str:
    """Write the Markdown report and return it."""
    model_name, cpus = machine_description()
    rows = [
        ("Escalation: emit of `/ask_counsellor` → console WebSocket lists the conversation", results["escalation"]),
        ("Counsellor message: start of the POST → user's socket receives it", results["message"]),
        ("Counsellor message: the POST alone (request → response)", results["message_post"]),
    ]
    lines = [
        "# Handoff latency",
        "",
        f"Measured on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `bench/handoff_latency.py`.",
        "",
        "| measure | count | median (ms) | p95 (ms) | max (ms) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, values in rows:
        lines.append(
            f"| {label} | {len(values)} | {statistics.median(values):.1f} | "
            f"{percentile(values, 0.95):.1f} | {max(values):.1f} |"
        )
    lines += [
        "",
        "p95 is the nearest-rank percentile.",
        "",
        "## Set-up",
        "",
        f"- Machine: {model_name}, {cpus} CPUs (lscpu); Python {platform.python_version()}.",
        f"- Command: `{command}`",
        "- Every process runs on this machine, on 127.0.0.1: the action server, Rasa with the widget",
        "  channel, the handoff service (`python -m handoff serve`), the demo page, and a private",
        "  `redis-server` without persistence. The handoff database is a SQLite file.",
        f"- {count} socket.io users (python-socketio, polling transport) stay connected. They ask for",
        "  a counsellor one after the other: each escalation waits for the previous one to be",
        "  listed, so the figures are latencies without concurrent load. The queue grows to",
        f"  {count} conversations, and every `queue` message lists all of them.",
        "- The escalation time covers Rasa, the action server (SQL write, routing cache, event),",
        "  Redis pub/sub and the console, which waits 0.2 s to merge bursts of queue events",
        "  into one refresh (`QUEUE_REFRESH_DELAY_SECONDS` in `handoff/web/ws.py`).",
        "- The counsellor message time covers the POST (SQL write), the socket.io Redis queue",
        "  and Rasa's socket.io server. One conversation is claimed, then the messages are",
        "  sent one after the other, each once the previous one arrived.",
        "- The clock is `time.perf_counter` of the benchmark process, which holds both ends.",
        "",
    ]
    report = "\n".join(lines)
    path.write_text(report, encoding="utf-8")
    return report


def parse_arguments(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure the latency of the human handoff on a local stack.")
    parser.add_argument("--model", required=True, help="trained Rasa model (.tar.gz)")
    parser.add_argument("--count", type=int, default=100,
                        help="number of escalations and of counsellor messages (default: 100)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"Markdown report to write (default: {DEFAULT_OUTPUT.relative_to(ROOT)})")
    arguments = parser.parse_args(argv)
    if arguments.count < 1:
        parser.error("--count must be at least 1")
    if not Path(arguments.model).is_file():
        parser.error(f"model not found: {arguments.model}")
    return arguments


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    arguments = parse_arguments(argv)
    command = " ".join(shlex.quote(part) for part in [".venv/bin/python", "bench/handoff_latency.py",
                                                       *(sys.argv[1:] if argv is None else argv)])
    with tempfile.TemporaryDirectory(prefix="handoff-bench-") as workdir:
        stack = Stack(workdir=Path(workdir), private_redis=True, handoff_verbose=True)
        logger.info("Starting the stack in %s", workdir)
        try:
            stack.start(str(Path(arguments.model).resolve()))
            stack.create_counsellor(COUNSELLOR_LOGIN, COUNSELLOR_PASSWORD, display_name="Banc d'essai")
            results = asyncio.run(measure(stack, arguments.count))
        except Exception:
            logger.error("Benchmark failed; last lines of the logs:\n%s", stack.logs_tail())
            raise
        finally:
            stack.stop()
            if stack.env:
                dispose_engine(stack.env["HANDOFF_DATABASE_URL"])
    report = write_report(arguments.output, results, command, arguments.count)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
