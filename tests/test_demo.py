"""`make demo`'s pieces end to end: demo data, then web server + worker on $PORT, healthy."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

COPPS = str(Path(sys.executable).parent / "copps")
ROLES = [
    "communicator",
    "editor",
    "officer",
    "coach",
    "investigator",
    "analyst",
    "commander",
    "admin",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SITE_URL")}
    env.update(COPPS_VAR_DIR=str(tmp_path), PORT=str(free_port()))
    subprocess.run([COPPS, "migrate", "-v0"], env=env, check=True, timeout=120)
    return env


def test_demo_data_has_a_user_per_role_and_messages_in_every_state(demo_env):
    out = subprocess.run(
        [COPPS, "demo_data"], env=demo_env, check=True, capture_output=True, text=True
    )
    assert "demo data loaded" in out.stdout
    again = subprocess.run(
        [COPPS, "demo_data"], env=demo_env, check=True, capture_output=True, text=True
    )
    assert "already loaded" in again.stdout
    probe = (
        "import json; from copps.accounts.models import User; from copps.newsroom.models import Message;"
        "print(json.dumps({'users': sorted(User.objects.values_list('username', flat=True)),"
        "'states': sorted(set(Message.objects.values_list('state', flat=True))),"
        "'languages': sorted(set(Message.objects.values_list('versions__language', flat=True)))}))"
    )
    result = subprocess.run(
        [COPPS, "shell", "-c", probe], env=demo_env, check=True, capture_output=True, text=True
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["users"] == sorted(f"demo-{role}" for role in ROLES)
    assert data["states"] == sorted(
        [
            "draft",
            "submitted",
            "approved",
            "scheduled",
            "published",
            "corrected",
            "retracted",
            "expired",
        ]
    )
    assert {"nl", "fr"} <= set(data["languages"])
    verify = subprocess.run(
        [COPPS, "audit", "verify"], env=demo_env, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stderr


def test_the_runner_serves_on_port_and_is_healthy_once_web_and_worker_run(demo_env):
    port = demo_env["PORT"]
    # As `make demo` does: migrate (the fixture), load the demo zone, start the runner.
    subprocess.run([COPPS, "demo_data"], env=demo_env, check=True, capture_output=True)
    runner = subprocess.Popen(
        [sys.executable, "-m", "copps.runner"],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Read the runner's output as it comes: it prints the sign-ins after its own health check,
    # which may come a moment after ours (stopping it before then is a race, not a failure).
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(runner.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status, body = r.status, json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert status == 200 and body == {"status": "ok", "database": "ok", "worker": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/nl/", timeout=5) as r:
            assert r.status == 200
        # Contract (issue 4): the demo's force account is acct:news@<host:port of the demo>, and
        # WebFinger and the actor it links answer activity+json when asked for it.
        wants_as = {"Accept": "application/activity+json"}
        finger = httpx.get(
            f"http://127.0.0.1:{port}/.well-known/webfinger",
            params={"resource": f"acct:news@127.0.0.1:{port}"},
            headers=wants_as,
        )
        assert finger.headers["Content-Type"] == "application/activity+json", finger.text
        links = {link["rel"]: link for link in finger.json()["links"]}
        assert links["self"]["type"] == "application/activity+json"
        actor = httpx.get(links["self"]["href"], headers=wants_as)
        assert actor.headers["Content-Type"] == "application/activity+json"
        assert actor.json()["preferredUsername"] == "news"
        ready = time.monotonic() + 15
        while time.monotonic() < ready and not any("demo-editor" in line for line in lines):
            time.sleep(0.1)
    finally:
        runner.terminate()
        runner.wait(timeout=30)
        reader.join(timeout=10)
    output = "".join(lines)
    assert "demo-editor" in output  # the demo sign-ins are printed once ready
    assert runner.returncode == 0
