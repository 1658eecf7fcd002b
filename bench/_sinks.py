"""Loopback sinks for the fan-out benchmark: they receive and count, each in its own process.

- ``smtp``: an aiosmtpd server that accepts every message and counts recipients;
- ``push``: an asyncio HTTP/1.1 server (keep-alive) that answers every POST with 201 Created, as
  a push service does, and counts them (it does not decrypt);
- ``Kannel``: a real Kannel (bearerbox + smsbox + the fake SMSC ``fakesmsc`` from the Debian
  packages ``kannel`` and ``kannel-extras``) whose fake SMSC's output is counted.

Each counter is written to a small state file (``count()`` reads it), so the benchmark and the
sinks never share a Python process.

    python bench/_sinks.py smtp|push <port> <state file>
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BEARERBOX = os.environ.get("COPPS_KANNEL_BEARERBOX", "/usr/sbin/bearerbox")
SMSBOX = os.environ.get("COPPS_KANNEL_SMSBOX", "/usr/sbin/smsbox")
FAKESMSC = os.environ.get("COPPS_KANNEL_FAKESMSC", "/usr/lib/kannel/test/fakesmsc")
STDBUF = ["stdbuf", "-oL", "-eL"] if shutil.which("stdbuf") else []
GOT = re.compile(rb"Got message \d+: <\S+ \S+ (?:text|data|ucs-2|udh-text|udh-data) ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(what: str, ready, timeout: float = 20.0, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited ({proc.returncode}) before {what}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


# The sink processes --------------------------------------------------------------------------


class Counter:
    def __init__(self, path: Path):
        self.path, self.value, self.written = path, 0, -1

    async def keep_writing(self) -> None:
        while True:
            if self.value != self.written:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(str(self.value))
                os.replace(tmp, self.path)
                self.written = self.value
            await asyncio.sleep(0.05)


async def serve_smtp(port: int, counter: Counter) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            counter.value += len(envelope.rcpt_tos)
            return "250 OK"

    # data_size_limit=None: newsletters may be large; the sink accepts what comes.
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, data_size_limit=None)
    controller.start()
    try:
        await counter.keep_writing()
    finally:
        controller.stop()


async def serve_push(port: int, counter: Counter) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length:
                    await reader.readexactly(length)
                if head.startswith(b"POST "):
                    counter.value += 1
                    writer.write(
                        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n"
                        b"Location: /m/1\r\nTTL: 86400\r\n\r\n"
                    )
                else:
                    writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await counter.keep_writing()


def main(argv: list[str]) -> None:
    kind, port, state = argv[0], int(argv[1]), Path(argv[2])
    counter = Counter(state)
    serve = {"smtp": serve_smtp, "push": serve_push}[kind]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(serve(port, counter))


# Starting and reading them from the benchmark ------------------------------------------------


class Sink:
    """A sink process on a free loopback port; ``count()`` is what it has received so far."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        self.port = free_port()
        self.state = Path(workdir) / f"{kind}-{self.port}.count"
        self.log = open(Path(workdir) / f"{kind}-sink.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, __file__, kind, str(self.port), str(self.state)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(f"the {kind} sink", lambda: port_open(self.port), procs=[self.proc])

    def count(self) -> int:
        try:
            return int(self.state.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def wait_count(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Kannel:
    """bearerbox + fakesmsc + smsbox on loopback; ``count()`` counts what fakesmsc received."""

    username = "bench"
    password = "bench-sendsms"
    admin_password = "bench-admin"

    @staticmethod
    def available() -> bool:
        return all(os.access(p, os.X_OK) for p in (BEARERBOX, SMSBOX, FAKESMSC))

    def __init__(self, workdir: Path):
        self.dir = Path(workdir) / "kannel"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.admin_port, self.smsbox_port = free_port(), free_port()
        self.smsc_port, self.sendsms_port = free_port(), free_port()
        self.out = self.dir / "fakesmsc.out"
        self.procs: list[subprocess.Popen] = []
        self._seen, self._offset = 0, 0

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def status(self) -> str:
        url = f"http://127.0.0.1:{self.admin_port}/status.txt?password={self.admin_password}"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (loopback)
                return r.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _spawn(self, name: str, args: list[str], **kw) -> subprocess.Popen:
        kw.setdefault("stdout", open(self.dir / f"{name}.out", "ab"))  # noqa: SIM115
        proc = subprocess.Popen(args, stderr=subprocess.STDOUT, **kw)
        self.procs.append(proc)
        return proc

    def start(self) -> Kannel:
        d = self.dir
        conf = d / "kannel.conf"
        conf.write_text(
            f"""
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {self.admin_password}
smsbox-port = {self.smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{d}/bearerbox.log"
log-level = 2
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{d}/smsbox.log"
log-level = 2

group = sendsms-user
username = {self.username}
password = {self.password}
max-messages = 10
concatenation = true
"""
        )
        try:
            self._spawn("bearerbox", [BEARERBOX, str(conf)], stdin=subprocess.DEVNULL)
            wait_for("bearerbox", lambda: port_open(self.admin_port), procs=self.procs)
            self._spawn(
                "fakesmsc",
                # Line-buffered output (stdbuf), else what arrived shows up in 4 KB chunks.
                [*STDBUF, FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port)],
                stdin=subprocess.PIPE,  # interactive mode: it keeps running while stdin is open
                stdout=open(self.out, "ab"),  # noqa: SIM115
            )
            wait_for("the fake SMSC online", lambda: "online" in self._smsc(), procs=self.procs)
            self._spawn("smsbox", [SMSBOX, str(conf)], stdin=subprocess.DEVNULL)
            wait_for("smsbox", lambda: port_open(self.sendsms_port), procs=self.procs)
            wait_for("smsbox connected", lambda: "smsbox:" in self.status(), procs=self.procs)
        except Exception:
            self.stop()
            raise
        return self

    def _smsc(self) -> str:
        return next((ln for ln in self.status().splitlines() if "FAKE" in ln.upper()), "")

    def count(self) -> int:
        """Messages fakesmsc received (read incrementally from its output)."""
        try:
            with open(self.out, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return 0
        cut = chunk.rfind(b"\n") + 1
        # fakesmsc's line protocol splits a text at its newlines into several "messages": count
        # only the lines that start one (sender, receiver, type).
        self._seen += len(GOT.findall(chunk[:cut]))
        self._offset += cut
        return self._seen

    def wait_count(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                if proc.stdin:
                    proc.stdin.close()
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []


if __name__ == "__main__":
    main(sys.argv[1:])
