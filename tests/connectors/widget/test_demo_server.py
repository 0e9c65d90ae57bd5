"""Tests of the widget's demo web server, started for real as a subprocess.

The socket.io client must be installed first: `npm ci` in connectors/widget.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
WIDGET_DIR = REPO_ROOT / "connectors" / "widget"
SOCKET_IO_FILE = WIDGET_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
RASA_URL = "http://127.0.0.1:5999"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass
class DemoServer:
    """A demo server process and the URL it listens on."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class Fetched:
    """Status, headers and body of one HTTP response."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> Fetched:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return Fetched(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Fetched(error.code, error.headers, error.read())


def launch(
    log_path: Path,
    port: int,
    rasa_url_env: Optional[str] = None,
    extra_args: Sequence[str] = (),
    cwd: Path = REPO_ROOT,
) -> subprocess.Popen:
    env = os.environ.copy()
    env.pop("RASA_URL", None)
    # The module must come from `cwd`, which may be a copy of the widget, not
    # from a repository that PYTHONPATH points to.
    env["PYTHONPATH"] = str(cwd)
    if rasa_url_env is not None:
        env["RASA_URL"] = rasa_url_env
    command = [sys.executable, "-m", "connectors.widget.demo_server",
               "--host", "127.0.0.1", "--port", str(port), *extra_args]
    with log_path.open("wb") as log_file:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def wait_until_healthy(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"demo server exited with code {process.returncode}:\n"
                        f"{log_path.read_text(errors='replace')}")
        try:
            if fetch(url + "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"demo server did not answer on {url} within {START_TIMEOUT_S} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_server(tmp_path: Path, rasa_url_env: Optional[str] = RASA_URL,
                 extra_args: Sequence[str] = ()) -> DemoServer:
    port = free_port()
    log_path = tmp_path / f"demo-server-{port}.log"
    process = launch(log_path, port, rasa_url_env, extra_args)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, url, log_path)
    except BaseException:
        stop(process)
        raise
    return DemoServer(process, url, log_path)


def run_until_exit(tmp_path: Path, rasa_url_env: Optional[str], cwd: Path = REPO_ROOT) -> tuple[int, str]:
    """Run a server that is expected to fail at start, and return its exit code and output."""
    log_path = tmp_path / "failed-start.log"
    process = launch(log_path, free_port(), rasa_url_env, cwd=cwd)
    try:
        code = process.wait(timeout=START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stop(process)
        pytest.fail("demo server started although it was expected to fail")
    return code, log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    demo = start_server(tmp_path_factory.mktemp("demo-server"))
    yield demo
    stop(demo.process)


def test_page_served_as_french_html(server: DemoServer) -> None:
    page = fetch(server.url + "/")
    assert page.status == 200
    assert page.headers.get_content_type() == "text/html"
    assert '<html lang="fr">' in page.text
    assert "Seconde chance" in page.text


def test_page_embeds_rasa_url(server: DemoServer) -> None:
    page = fetch(server.url + "/").text
    assert f'data-server-url="{RASA_URL}"' in page
    assert "{{RASA_URL}}" not in page


def test_page_loads_widget_files(server: DemoServer) -> None:
    page = fetch(server.url + "/").text
    assert '<script src="/static/widget.js"' in page
    assert '<link rel="stylesheet" href="/static/widget.css">' in page


def test_widget_js_served(server: DemoServer) -> None:
    response = fetch(server.url + "/static/widget.js")
    assert response.status == 200
    assert response.headers.get_content_type() in ("application/javascript", "text/javascript")
    assert response.body == (WIDGET_DIR / "static" / "widget.js").read_bytes()


def test_widget_css_served(server: DemoServer) -> None:
    response = fetch(server.url + "/static/widget.css")
    assert response.status == 200
    assert response.headers.get_content_type() == "text/css"
    assert response.body == (WIDGET_DIR / "static" / "widget.css").read_bytes()


def test_demo_css_served(server: DemoServer) -> None:
    response = fetch(server.url + "/demo/demo.css")
    assert response.status == 200
    assert response.body == (WIDGET_DIR / "demo" / "demo.css").read_bytes()


def test_socket_io_served_from_node_modules(server: DemoServer) -> None:
    response = fetch(server.url + "/static/socket.io.min.js")
    assert response.status == 200
    assert response.headers.get_content_type() in ("application/javascript", "text/javascript")
    assert response.body == SOCKET_IO_FILE.read_bytes()


def test_page_security_headers(server: DemoServer) -> None:
    headers = fetch(server.url + "/").headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert f"connect-src 'self' {RASA_URL} ws://127.0.0.1:5999;" in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_not_found_has_security_headers(server: DemoServer) -> None:
    response = fetch(server.url + "/missing-page")
    assert response.status == 404
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers


def test_healthz_reports_ok(server: DemoServer) -> None:
    response = fetch(server.url + "/healthz")
    assert response.status == 200
    assert response.text == '{"status": "ok"}'


@pytest.mark.parametrize("path", [
    "/static/../demo_server.py",
    "/static/%2e%2e/demo_server.py",
    "/static/..%2fdemo_server.py",
    "/static/",
])
def test_static_stays_inside_folder(server: DemoServer, path: str) -> None:
    # http.client sends the path exactly as written, with no normalisation.
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status in (403, 404)
    assert b"def main" not in body


def test_malicious_rasa_url_escaped(tmp_path: Path) -> None:
    malicious = 'http://127.0.0.1:5999/"><script>alert(1)</script>'
    demo = start_server(tmp_path, rasa_url_env=malicious)
    try:
        response = fetch(demo.url + "/")
    finally:
        stop(demo.process)
    assert "<script>alert(1)</script>" not in response.text
    assert 'data-server-url="http://127.0.0.1:5999/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text
    assert "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999;" in response.headers["Content-Security-Policy"]
    assert "<script>" not in response.headers["Content-Security-Policy"]


def test_rasa_url_option_overrides_env(tmp_path: Path) -> None:
    demo = start_server(tmp_path, rasa_url_env="http://127.0.0.1:5999",
                        extra_args=["--rasa-url", "https://127.0.0.1:6443"])
    try:
        response = fetch(demo.url + "/")
    finally:
        stop(demo.process)
    assert 'data-server-url="https://127.0.0.1:6443"' in response.text
    assert "https://127.0.0.1:6443 wss://127.0.0.1:6443" in response.headers["Content-Security-Policy"]


def test_rasa_url_default_without_env(tmp_path: Path) -> None:
    demo = start_server(tmp_path, rasa_url_env=None)
    try:
        response = fetch(demo.url + "/")
    finally:
        stop(demo.process)
    assert 'data-server-url="http://127.0.0.1:5005"' in response.text


@pytest.mark.parametrize("rasa_url", [
    "javascript:alert(1)",
    "ftp://127.0.0.1:5005",
    "http://127.0.0.1;script-src *:5005",
    "http://",
    "http://127.0.0.1:notaport",
])
def test_invalid_rasa_url_rejected(tmp_path: Path, rasa_url: str) -> None:
    code, output = run_until_exit(tmp_path, rasa_url)
    assert code == 1
    assert "invalid Rasa URL" in output


def test_missing_node_modules_rejected(tmp_path: Path) -> None:
    # A copy of the widget without node_modules, run from its own root.
    copy_dir = tmp_path / "connectors" / "widget"
    copy_dir.mkdir(parents=True)
    shutil.copy2(WIDGET_DIR / "demo_server.py", copy_dir / "demo_server.py")
    shutil.copytree(WIDGET_DIR / "static", copy_dir / "static")
    shutil.copytree(WIDGET_DIR / "demo", copy_dir / "demo")
    code, output = run_until_exit(tmp_path, RASA_URL, cwd=tmp_path)
    assert code == 1
    assert "socket.io client not found" in output
    assert "npm ci" in output


def test_logs_start_without_request_data(tmp_path: Path) -> None:
    demo = start_server(tmp_path)
    fetch(demo.url + "/?prenom=Camille")
    fetch(demo.url + "/static/widget.js?ville=Villeurbanne")
    stop(demo.process)
    log = demo.log()
    assert f"Demo server started on {demo.url}" in log
    assert "Camille" not in log
    assert "Villeurbanne" not in log
    assert "127.0.0.1 [" not in log
