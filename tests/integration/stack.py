"""Start the real processes of the service for end-to-end tests.

The stack runs the trained model given by ``SECONDE_CHANCE_MODEL`` (the test
command sets it after training), the real action server and the demo page, on
free ports of 127.0.0.1, with a tracker store in a temporary folder.

By default every stack uses the Redis server of REDIS_URL (127.0.0.1:6379).
``Stack(..., private_redis=True)`` starts its own ``redis-server`` on a free
port instead, without persistence, so that a test can restart it
(``restart_redis``) and so that the handoff events of one stack do not reach
the console of another.
"""

import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import redis

from handoff.db import upgrade_database

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
REDIS_SERVER = "redis-server"
REDIS_START_TIMEOUT_SECONDS = 15.0


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
    handoff_url: str = ""
    env: Dict[str, str] = field(default_factory=dict)
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    process_envs: Dict[str, Dict[str, str]] = field(default_factory=dict)
    log_files: List[Path] = field(default_factory=list)
    # Options that only new tests set; the defaults keep the original behaviour.
    private_redis: bool = False
    handoff_verbose: bool = False
    redis_port: Optional[int] = None
    redis_process: Optional[subprocess.Popen] = None

    def start(self, model: str, env_overrides: Optional[Dict[str, str]] = None) -> "Stack":
        """Start the action server, Rasa, the handoff service and the demo server.

        The chat is open (HANDOFF_FORCE_OPEN=open) unless ``env_overrides``
        says otherwise, so that the behaviour does not depend on the time of
        day the tests run.
        """
        action_port, rasa_port, demo_port = free_port(), free_port(), free_port()
        handoff_port = free_port()
        self.action_url = f"http://127.0.0.1:{action_port}"
        self.rasa_url = f"http://127.0.0.1:{rasa_port}"
        self.demo_url = f"http://127.0.0.1:{demo_port}"
        self.handoff_url = f"http://127.0.0.1:{handoff_port}"
        rasa_token = secrets.token_hex(16)
        handoff_database = f"sqlite:///{self.workdir / 'handoff.sqlite3'}"

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
                "RASA_URL": self.rasa_url,
                "RASA_TOKEN": rasa_token,
                "HANDOFF_DATABASE_URL": handoff_database,
                "HANDOFF_PORT": str(handoff_port),
                "HANDOFF_SECRET_KEY": secrets.token_hex(32),
                "HANDOFF_FORCE_OPEN": "open",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "RASA_TELEMETRY_ENABLED": "false",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            }
        )
        if self.private_redis:
            self.start_redis()
            env.update(
                {
                    "REDIS_HOST": "127.0.0.1",
                    "REDIS_PORT": str(self.redis_port),
                    "REDIS_LOCK_DB": "1",
                    "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                }
            )
        # credentials.yml names these variables, and Rasa refuses to start
        # when one is unset; empty turns the Telegram channel off.
        for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_SECRET_TOKEN", "TELEGRAM_API_URL"):
            env.setdefault(name, "")
        # Rasa needs the Messenger variables too, and empty turns that channel off.
        for name in ("MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN", "MESSENGER_PAGES_FILE",
                     "MESSENGER_GRAPH_API_URL"):
            env.setdefault(name, "")
        env.update(env_overrides or {})
        self.env = env
        upgrade_database(handoff_database)

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
             "--interface", "127.0.0.1", "--port", str(rasa_port),
             "--enable-api", "--auth-token", rasa_token],
            env,
        )
        self._spawn(
            "handoff",
            [sys.executable, "-m", "handoff", *(["-v"] if self.handoff_verbose else []),
             "serve", "--host", "127.0.0.1", "--port", str(handoff_port)],
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
        wait_for_http(f"{self.handoff_url}/healthz", 60, self.processes["handoff"], "handoff service")
        return self

    def restart(self, name: str, timeout: float = 120) -> None:
        """Stop one process and start it again with the same command and environment."""
        process = self.processes[name]
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._spawn(name, list(process.args), self.process_envs[name])
        health = {
            "handoff": f"{self.handoff_url}/healthz",
            "actions": f"{self.action_url}/health",
            "rasa": f"{self.rasa_url}/webhooks/widget/",
            "demo": f"{self.demo_url}/healthz",
        }[name]
        wait_for_http(health, timeout, self.processes[name], name)

    def create_counsellor(self, login: str, password: str, role: str = "counsellor",
                          display_name: Optional[str] = None) -> None:
        """Create a console account with the operators' command."""
        command = [sys.executable, "-m", "handoff", "create-user", login, "--role", role,
                   "--password-stdin"]
        if display_name:
            command += ["--display-name", display_name]
        subprocess.run(command, cwd=ROOT, env=self.env, input=password + "\n",
                       text=True, check=True, capture_output=True)

    def start_redis(self) -> None:
        """Start the private Redis server (a free port the first time, the same port after).

        Nothing is saved to disk, so a restart loses every key, as a Redis
        server that crashed without persistence does.
        """
        if self.redis_port is None:
            self.redis_port = free_port()
        log_path = self.workdir / "redis.log"
        if log_path not in self.log_files:
            self.log_files.append(log_path)
        with open(log_path, "ab") as handle:
            self.redis_process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                cwd=self.workdir, stdout=handle, stderr=subprocess.STDOUT,
            )
        client = redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=1)
        deadline = time.monotonic() + REDIS_START_TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline:
                if self.redis_process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with code {self.redis_process.returncode}")
                try:
                    if client.ping():
                        return
                except redis.exceptions.RedisError:
                    pass
                time.sleep(0.1)
        finally:
            client.close()
        raise RuntimeError(
            f"redis-server did not answer on port {self.redis_port} within {REDIS_START_TIMEOUT_SECONDS:.0f} s"
        )

    def restart_redis(self) -> None:
        """Kill the private Redis server (SIGKILL, as in a crash) and start it again on the same port."""
        if self.redis_process is None:
            raise RuntimeError("this stack has no private Redis server: create it with private_redis=True")
        self.stop_redis(kill=True)
        self.start_redis()

    def stop_redis(self, kill: bool = False) -> None:
        """Stop the private Redis server, if it runs."""
        process = self.redis_process
        if process is None or process.poll() is not None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _spawn(self, name: str, command: List[str], env: Dict[str, str]) -> None:
        log_path = self.workdir / f"{name}.log"
        if log_path not in self.log_files:
            self.log_files.append(log_path)
        handle = open(log_path, "ab")
        self.process_envs[name] = env
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
        self.stop_redis()

    def logs_tail(self, lines: int = 40) -> str:
        """Return the last lines of every log, for failure messages."""
        parts = []
        for path in self.log_files:
            if path.exists():
                content = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name}\n" + "\n".join(content))
        return "\n".join(parts)
