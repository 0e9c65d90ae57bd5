"""Start the real processes of the service for end-to-end tests.

The stack runs the trained model given by ``SECONDE_CHANCE_MODEL`` (the test
command sets it after training), the real action server and the demo page, on
free ports of 127.0.0.1, with a tracker store in a temporary folder.
"""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float, process: subprocess.Popen, name: str) -> None:
    """Wait until a URL answers 200, failing early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{name} did not answer at {url} within {timeout:.0f} s")


@dataclass
class Stack:
    """The running processes and their addresses."""

    workdir: Path
    rasa_url: str = ""
    demo_url: str = ""
    action_url: str = ""
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    log_files: List[Path] = field(default_factory=list)

    def start(self, model: str, env_overrides: Optional[Dict[str, str]] = None) -> "Stack":
        """Start the action server, Rasa and the demo server."""
        action_port, rasa_port, demo_port = free_port(), free_port(), free_port()
        self.action_url = f"http://127.0.0.1:{action_port}"
        self.rasa_url = f"http://127.0.0.1:{rasa_port}"
        self.demo_url = f"http://127.0.0.1:{demo_port}"

        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "ACTION_ENDPOINT_URL": f"{self.action_url}/webhook",
                "TRACKER_DB_DIALECT": "sqlite",
                "TRACKER_DB_URL": f"sqlite:///{self.workdir / 'trackers.sqlite3'}",
                "REDIS_HOST": env.get("REDIS_HOST", "127.0.0.1"),
                "REDIS_PORT": env.get("REDIS_PORT", "6379"),
                "REDIS_LOCK_DB": env.get("REDIS_LOCK_DB", "1"),
                "REDIS_URL": env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                "WIDGET_ALLOWED_ORIGINS": "*",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "RASA_TELEMETRY_ENABLED": "false",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            }
        )
        env.update(env_overrides or {})

        self._spawn(
            "actions",
            [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "bot.actions",
             "--port", str(action_port)],
            {**env, "SANIC_HOST": "127.0.0.1"},
        )
        self._spawn(
            "rasa",
            [str(VENV_BIN / "rasa"), "run", "--model", model,
             "--endpoints", str(ROOT / "endpoints.yml"),
             "--credentials", str(ROOT / "credentials.yml"),
             "--interface", "127.0.0.1", "--port", str(rasa_port)],
            env,
        )
        self._spawn(
            "demo",
            [sys.executable, "-m", "connectors.widget.demo_server", "--host", "127.0.0.1",
             "--port", str(demo_port), "--rasa-url", self.rasa_url],
            env,
        )

        wait_for_http(f"{self.action_url}/health", 120, self.processes["actions"], "action server")
        wait_for_http(f"{self.rasa_url}/webhooks/widget/", 300, self.processes["rasa"], "Rasa")
        wait_for_http(f"{self.demo_url}/healthz", 30, self.processes["demo"], "demo server")
        return self

    def _spawn(self, name: str, command: List[str], env: Dict[str, str]) -> None:
        log_path = self.workdir / f"{name}.log"
        self.log_files.append(log_path)
        handle = open(log_path, "wb")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        """Stop every process."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def logs_tail(self, lines: int = 40) -> str:
        """Return the last lines of every log, for failure messages."""
        parts = []
        for path in self.log_files:
            if path.exists():
                content = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name}\n" + "\n".join(content))
        return "\n".join(parts)
