"""`renalpath users …` and `renalpath serve` through the installed console script."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import renalpath_exe, run_cli

PASSWORD = "a long enough password"


def _db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_cli("db", "init", "--db", url).returncode == 0
    return url


def test_users_add_list_token(tmp_path: Path) -> None:
    url = _db(tmp_path)
    res = run_cli("users", "add", "ann", "--role", "clinician", "--password", PASSWORD, "--db", url)
    assert res.returncode == 0, res.stderr
    res = run_cli("users", "add", "ann", "--role", "admin", "--password", PASSWORD, "--db", url)
    assert res.returncode == 1 and "already exists" in res.stderr
    # password from stdin when not a terminal
    res = run_cli(
        "users", "add", "bob", "--role", "researcher", "--db", url, input_text=PASSWORD + "\n"
    )
    assert res.returncode == 0, res.stderr
    res = run_cli("users", "list", "--json", "--db", url)
    assert json.loads(res.stdout) == [
        {"name": "ann", "role": "clinician", "active": True},
        {"name": "bob", "role": "researcher", "active": True},
    ]
    res = run_cli("users", "token", "ann", "--db", url)
    assert res.returncode == 0 and res.stdout.strip().startswith("rp_")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--role", "boss", "--password", PASSWORD], "role"),
        (["--role", "admin", "--password", "short"], "too short"),
    ],
)
def test_users_add_refusals(tmp_path: Path, args: list[str], needle: str) -> None:
    url = _db(tmp_path)
    res = run_cli("users", "add", "cy", *args, "--db", url)
    assert res.returncode == 1 and needle in res.stderr


def test_serve_refuses_uninitialised_database(tmp_path: Path) -> None:
    res = run_cli("serve", "--db", f"sqlite:///{tmp_path / 'empty.db'}", "--port", "1")
    assert res.returncode == 1 and "db upgrade" in res.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_demo_end_to_end(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [renalpath_exe(), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "RENALPATH_DATABASE_URL"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "demo server did not start"
            time.sleep(0.3)
        assert (tmp_path / "renalpath-demo.db").exists()
        with httpx.Client(base_url=base) as http:
            token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
            assert token
            resp = http.post(
                "/login",
                data={
                    "username": "clinician",
                    "password": "clinician-demo",
                    "csrf_token": token.group(1),
                },
            )
            assert resp.status_code == 303
            assert http.get("/api/v1/me").json()["role"] == "clinician"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "clinician-demo" in out and "300 synthetic patients" in out
