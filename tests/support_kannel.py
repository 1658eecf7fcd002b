"""A real Kannel on loopback for the tests: bearerbox + smsbox + fakesmsc (Debian `kannel`,
`kannel-extras`).

``Kannel(tmpdir, get_url=...)`` writes a kannel.conf into ``tmpdir`` with free loopback ports,
starts bearerbox, smsbox and fakesmsc (the fake SMSC, in interactive mode: what it receives is
read from its output, what a phone sends is written to its stdin), waits until bearerbox reports
the SMSC online and smsbox connected, and stops everything on ``stop()``. Logs stay in
``tmpdir`` (``logs()`` returns their tails for assertion messages).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

BEARERBOX = os.environ.get("COPPS_KANNEL_BEARERBOX", "/usr/sbin/bearerbox")
SMSBOX = os.environ.get("COPPS_KANNEL_SMSBOX", "/usr/sbin/smsbox")
FAKESMSC = os.environ.get("COPPS_KANNEL_FAKESMSC", "/usr/lib/kannel/test/fakesmsc")

GOT_RE = re.compile(r"Got message \d+: <(.*)>$")
MESSAGE_RE = re.compile(r"^(\S+) (\S+) (text|data|ucs-2|udh-text|udh-data) (.*)$")


def available() -> bool:
    return all(os.access(path, os.X_OK) for path in (BEARERBOX, SMSBOX, FAKESMSC))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _decode(kind: str, data: str) -> str:
    raw = unquote_to_bytes(data.replace("+", "%20"))
    if kind == "ucs-2":
        return raw.decode("utf-16-be", errors="replace")
    if kind == "data":
        return raw.decode("latin-1")
    return data  # "text": fakesmsc prints it as is


class Kannel:
    username = "copps"
    password = "sendsms-secret"
    admin_password = "admin-secret"

    def __init__(self, tmpdir: Path, *, get_url: str = ""):
        self.dir = Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.get_url = get_url
        self.admin_port = free_port()
        self.smsbox_port = free_port()
        self.smsc_port = free_port()
        self.sendsms_port = free_port()
        self.conf = self.dir / "kannel.conf"
        self.procs: dict[str, subprocess.Popen] = {}
        self.fakesmsc_out = self.dir / "fakesmsc.out"

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def write_conf(self) -> None:
        d = self.dir
        service = ""
        if self.get_url:
            service = f"""
group = sms-service
keyword = default
catch-all = true
get-url = "{self.get_url}"
max-messages = 1
omit-empty = true
"""
        self.conf.write_text(
            f"""
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {self.admin_password}
smsbox-port = {self.smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{d}/bearerbox.log"
log-level = 1
access-log = "{d}/access.log"
dlr-storage = internal
store-type = file
store-location = "{d}/store"

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
log-level = 1
mo-recode = true
http-request-retry = 3
http-queue-delay = 1

group = sendsms-user
username = {self.username}
password = {self.password}
concatenation = true
max-messages = 10
{service}"""
        )

    def _spawn(self, name: str, args: list[str], **kwargs) -> subprocess.Popen:
        out = open(self.dir / f"{name}.out", "ab")  # noqa: SIM115 (closed with the process)
        kwargs.setdefault("stdout", out)
        proc = subprocess.Popen(
            args, stderr=subprocess.STDOUT, stdin=kwargs.pop("stdin", subprocess.DEVNULL), **kwargs
        )
        self.procs[name] = proc
        return proc

    def status(self) -> str:
        url = f"http://127.0.0.1:{self.admin_port}/status.txt?password={self.admin_password}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                return response.read().decode("utf-8", "replace")
        except (OSError, urllib.error.URLError):
            return ""

    def _wait(self, what: str, ready, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}) waiting for {what}\n")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"Kannel: timed out waiting for {what}\n{self.logs()}")

    def start(self) -> Kannel:
        import atexit

        atexit.register(self.stop)  # never leave a Kannel behind, even if the run dies
        self.write_conf()
        try:
            self._spawn("bearerbox", [BEARERBOX, str(self.conf)])
            self._wait("the bearerbox admin port", lambda: port_open(self.admin_port))
            self._spawn(
                "fakesmsc",
                [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port)],
                stdin=subprocess.PIPE,
                stdout=open(self.fakesmsc_out, "ab"),  # noqa: SIM115
            )
            self._wait("the fake SMSC online", lambda: "online" in self._smsc_line())
            self.start_smsbox()
        except Exception:
            self.stop()
            raise
        return self

    def _smsc_line(self) -> str:
        return next((ln for ln in self.status().splitlines() if "FAKE" in ln.upper()), "")

    def start_smsbox(self) -> None:
        self._spawn("smsbox", [SMSBOX, str(self.conf)])
        self._wait("the sendsms port", lambda: port_open(self.sendsms_port))
        self._wait("smsbox connected", lambda: "smsbox:" in self.status())

    def stop_smsbox(self) -> None:
        self._end("smsbox")
        deadline = time.monotonic() + 10
        while port_open(self.sendsms_port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _end(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        if proc.stdin:
            proc.stdin.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            self._end(name)

    # What the fake SMSC saw ---------------------------------------------------------------

    def received(self) -> list[tuple[str, str, str]]:
        """(from, to, text) of each message the fake SMSC received, in order.

        fakesmsc's protocol is line based: a plain text with line breaks arrives as several
        "Got message" lines; a line that is not "<from> <to> <type> <data>" continues the
        previous text.
        """
        messages: list[tuple[str, str, str]] = []
        if not self.fakesmsc_out.exists():
            return messages
        for line in self.fakesmsc_out.read_text("utf-8", "replace").splitlines():
            got = GOT_RE.search(line)
            if not got:
                continue
            match = MESSAGE_RE.match(got.group(1))
            if match:
                sender, to, kind, data = match.groups()
                messages.append((sender, to, _decode(kind, data)))
            elif messages:
                sender, to, text = messages[-1]
                messages[-1] = (sender, to, f"{text}\n{got.group(1)}")
        return messages

    def wait_received(self, count: int, timeout: float = 15.0) -> list[tuple[str, str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"fakesmsc got {len(self.received())} of {count}\n{self.logs()}")

    def send_mo(self, sender: str, to: str, text: str) -> None:
        """A phone sends a text to the force's number (mobile originated), through the SMSC."""
        proc = self.procs["fakesmsc"]
        assert proc.stdin is not None
        if text.isascii():
            line = f"{sender} {to} text {text}\n"
        else:
            line = f"{sender} {to} ucs2 {quote(text.encode('utf-16-be'))}\n"
        proc.stdin.write(line.encode())
        proc.stdin.flush()

    def logs(self, lines: int = 15) -> str:
        parts = []
        for name in ("bearerbox.log", "smsbox.log", "access.log", "fakesmsc.out"):
            path = self.dir / name
            if path.exists():
                tail = path.read_text("utf-8", "replace").splitlines()[-lines:]
                parts.append(f"--- {path}\n" + "\n".join(tail))
        return "\n".join(parts)


class Gate:
    """An HTTP relay between Kannel and copps' live server that can hold callbacks.

    With SQLite's in-memory test database the live server shares the test's connection, so a
    delivery report arriving while the test thread writes would collide. Tests close the gate
    while the engine sends, then open it: the reports still travel Kannel -> HTTP -> copps.
    """

    def __init__(self, target: str):
        import http.server
        import threading

        self.target = target.rstrip("/")
        self.is_open = threading.Event()
        self.is_open.set()
        self.forwarded = 0
        self._lock = threading.Lock()
        self._forwarding = threading.Lock()
        gate = self

        class Relay(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                gate.is_open.wait(30)
                # One callback at a time: the live server shares the test's SQLite connection,
                # which two threads must never use at once.
                with gate._forwarding:
                    try:
                        with urllib.request.urlopen(gate.target + self.path, timeout=30) as answer:  # noqa: S310
                            status, body = answer.status, answer.read()
                    except urllib.error.HTTPError as exc:
                        status, body = exc.code, exc.read()
                    except OSError:
                        status, body = 502, b"relay failed"
                with gate._lock:
                    gate.forwarded += 1
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.is_open.clear()

    def open(self) -> None:
        self.is_open.set()

    def wait_forwarded(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.forwarded < count and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.forwarded < count:
            raise AssertionError(f"only {self.forwarded} of {count} callbacks reached copps")

    def stop(self) -> None:
        self.open()
        self.server.shutdown()
        self.server.server_close()
