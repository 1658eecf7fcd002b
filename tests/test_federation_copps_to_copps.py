"""copps-to-copps: two copps instances on two loopback ports follow each other and one's post
reaches the other, over real HTTP with real signatures.

Each instance is what an operator runs: gunicorn serving ``copps.wsgi`` with its own SQLite file
and ``SITE_URL``, driven only through ``copps`` management commands (``fediverse follow``,
``fediverse actors``, ``worker --once``) and ``copps shell -c`` for what has no command. Both
databases start from one migrated file (migrating twice would double the setup time).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support_fedify import free_port

ROOT = Path(__file__).resolve().parents[1]
# Settings the subprocesses must not inherit from the test run (CI may point tests at PostgreSQL).
DROPPED = ("DATABASE_URL", "COPPS_SQLITE_PATH", "COPPS_VAR_DIR", "SITE_URL", "MEDIA_ROOT")


class Instance:
    """One copps installation on ``http://127.0.0.1:<port>``."""

    def __init__(self, name: str, folder: Path, port: int):
        self.name, self.folder, self.port = name, folder, port
        self.url = f"http://127.0.0.1:{port}"
        self.domain = f"127.0.0.1:{port}"
        self.database = folder / "copps.sqlite3"
        env = {k: v for k, v in os.environ.items() if k not in DROPPED}
        env.update(
            COPPS_MODE="development",
            COPPS_VAR_DIR=str(folder),
            COPPS_SQLITE_PATH=str(self.database),
            SITE_URL=self.url,
            PORT=str(port),
            ALLOWED_HOSTS="127.0.0.1",
            COPPS_HTTP_ALLOW_PRIVATE_HOSTS="127.0.0.1",
            COPPS_DEFAULT_LANGUAGE="nl",
            DJANGO_SETTINGS_MODULE="copps.settings",
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.web: subprocess.Popen | None = None
        self.log = folder / "web.log"

    def copps(self, *args: str, timeout: float = 60) -> str:
        """Run ``copps ARGS`` (from the repository root, so this checkout's code runs). System
        checks are skipped: they take seconds per command, and the web server ran them."""
        checks = () if args[0] == "shell" else ("--skip-checks",)
        done = subprocess.run(
            [sys.executable, "-m", "copps.manage", args[0], *checks, *args[1:]],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"copps {' '.join(args)} on {self.name} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}\n--- web log:\n{self.web_log()}"
            )
        return done.stdout

    def shell(self, code: str) -> str:
        return self.copps("shell", "--no-imports", "-c", textwrap.dedent(code))

    def query(self, code: str):
        """Run ``code`` (which assigns ``result``) in ``copps shell``; returns ``result``."""
        code = textwrap.dedent(code) + "\nprint('RESULT=' + __import__('json').dumps(result))"
        out = self.shell(code)
        return json.loads(out.rsplit("RESULT=", 1)[1])

    def worker_round(self) -> None:
        self.copps("worker", "--once")

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.web = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "copps.wsgi",
                    "--bind",
                    self.domain,
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--access-logfile",
                    "-",
                    # Two servers at once: the default control socket path would be shared.
                    "--no-control-socket",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.web is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise AssertionError(f"copps {self.name} exited:\n{self.web_log()}")
            try:
                response = httpx.get(f"{self.url}/.well-known/nodeinfo", timeout=2, trust_env=False)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"copps {self.name} did not start in {timeout} s:\n{self.web_log()}")

    def stop(self) -> None:
        if self.web is not None and self.web.poll() is None:
            self.web.terminate()
            try:
                self.web.wait(10)
            except subprocess.TimeoutExpired:
                self.web.kill()
                self.web.wait(5)
        self.web = None

    def web_log(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


SETUP = """
from copps.accounts.models import User
from copps.accounts.roles import Role
from copps.federation import actions as fediverse

admin = User.objects.create(username="admin", role=Role.ADMIN)
User.objects.create(username="writer", role=Role.COMMUNICATOR)
User.objects.create(username="editor", role=Role.EDITOR)
fediverse.create_actor(by=admin, username="news", kind="force", name="{name}")
"""

PUBLISH = """
from copps.accounts.models import User
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput

writer, editor = User.objects.get(username="writer"), User.objects.get(username="editor")
message, _ = actions.create_message(
    by=writer,
    versions=[VersionInput("nl", "Fietsdiefstallen", "Sluit je fiets op slot. #fietsdiefstal")],
    channels=["web", "fediverse"],
)
actions.submit_message(message, by=writer)
actions.approve_message(message, by=editor)
result = message.pk
"""


def copy_database(source: Path, target: Path) -> None:
    """Copy through SQLite's backup API: the file alone may lack pages still in its WAL."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two copps instances, A and B, each with @news, running."""
    base = tmp_path_factory.mktemp("copps2copps")
    a = Instance("A", base / "a", free_port())
    b = Instance("B", base / "b", free_port())
    a.folder.mkdir()
    b.folder.mkdir()
    try:
        # The servers boot (imports only: no database access before the first request) while
        # A's database is migrated and copied for B.
        a.start()
        b.start()
        a.copps("migrate", "--no-input", "-v", "0")
        copy_database(a.database, b.database)
        a.wait_ready()
        b.wait_ready()
        both(
            lambda: a.shell(SETUP.format(name="Politie A")),
            lambda: b.shell(SETUP.format(name="Politie B")),
        )
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def mutual(pair):
    """A's @news follows B's by handle and B's follows A's; the worker rounds exchange the
    Follows and their Accepts. Returns what ``fediverse follow`` printed on each side."""
    a, b = pair
    printed = both(
        lambda: a.copps("fediverse", "follow", "news", f"@news@{b.domain}"),
        lambda: b.copps("fediverse", "follow", "@news", f"{a.url}/@news"),
    )
    a.worker_round()  # A's Follow -> B, which accepts at once and queues its Accept
    b.worker_round()  # B's Accept and B's Follow -> A, which accepts
    a.worker_round()  # A's Accept -> B
    return printed


def both(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    """Run two independent steps (one per instance) at the same time: each is mostly the
    start-up of a Python process."""
    with ThreadPoolExecutor(2) as pool:
        one, two = pool.submit(first), pool.submit(second)
        return one.result(), two.result()


FOLLOWS = """
from copps.federation.models import Follower, Following, Rejection
result = {
    "following": list(Following.objects.values_list("remote__uri", "state")),
    "followers": list(Follower.objects.values_list("remote__uri", "state")),
    "refused": list(Rejection.objects.values_list("reason", "count")),
}
"""

RETRACT = """
from copps.accounts.models import User
from copps.newsroom import actions
from copps.newsroom.models import Message

editor = User.objects.get(username="editor")
actions.retract_message(Message.objects.get(pk={}), by=editor, reason="Dubbel bericht")
"""

RECEIVED = """
from copps.federation.models import InboxItem
result = list(InboxItem.objects.values(
    "object_id", "kind", "actor__username", "remote__uri", "content_html", "language", "url",
    "state",
))
"""

SENT = """
from copps.channels.models import Delivery, Recipient
delivery = Delivery.objects.get(message_id={}, operation="post", channel__kind="activitypub")
result = [delivery.state, list(Recipient.objects.filter(delivery=delivery).values_list(
    "inbox", "state"
))]
"""


def test_each_news_account_follows_the_other_by_handle_and_each_follow_is_accepted(pair, mutual):
    a, b = pair
    assert mutual[0].strip() == f"@news requested @news@{b.domain}"
    assert mutual[1].strip() == f"@news requested @news@{a.domain}"
    on_a, listed = both(lambda: a.query(FOLLOWS), lambda: b.copps("fediverse", "actors"))
    assert on_a["following"] == [[f"{b.url}/@news", "accepted"]]
    assert on_a["followers"] == [[f"{b.url}/@news", "accepted"]]
    # Every request was signed and verified: the inbox refused nothing.
    assert on_a["refused"] == []
    assert listed.strip() == f"@news@{b.domain} force enabled followers=1 pending=0 following=1"
    # And what the servers publish says the same.
    for instance in pair:
        for collection in ("followers", "following"):
            response = httpx.get(
                f"{instance.url}/@news/{collection}",
                headers={"Accept": "application/activity+json"},
                trust_env=False,
            )
            assert response.json()["totalItems"] == 1, (instance.name, collection)


def test_a_message_b_publishes_arrives_at_a_as_a_post_and_leaves_when_b_retracts_it(pair, mutual):
    a, b = pair
    message_id = b.query(PUBLISH)
    b.worker_round()
    note_id = f"{b.url}/@news/posts/{message_id}"
    items, sent = both(lambda: a.query(RECEIVED), lambda: b.query(SENT.format(message_id)))
    assert len(items) == 1, items
    item = items[0]
    assert item["object_id"] == note_id
    assert (item["kind"], item["state"]) == ("post", "new")
    assert item["actor__username"] == "news"
    assert item["remote__uri"] == f"{b.url}/@news"
    assert "Sluit je fiets op slot." in item["content_html"]
    assert f'href="{b.url}/@news?tag=fietsdiefstal"' in item["content_html"]
    assert item["language"] == "nl"
    assert item["url"].startswith(b.url)
    # B counts the copy as delivered, once, to A's shared inbox.
    assert sent == ["sent", [[f"{a.url}/inbox", "sent"]]]
    # B retracts it: its Delete makes A drop the post.
    b.shell(RETRACT.format(message_id))
    b.worker_round()
    assert a.query(RECEIVED) == []
