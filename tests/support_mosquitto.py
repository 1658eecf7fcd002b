"""A real Mosquitto on loopback for the tests and bench/crowd.py (Debian ``mosquitto``).

``Mosquitto(tmpdir)`` writes a mosquitto.conf into ``tmpdir`` with a free loopback port, no
limit on the counts queued for a client that is away (the default 1,000 would drop counts during
a long outage), and starts the broker; ``stop()`` ends it. A broker of its own per test module
keeps the persistent sessions of one run away from the next. Without the binary, ``url_for_tests``
falls back to a broker already answering (COPPS_TEST_MQTT_URL, default mqtt://127.0.0.1:1883).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

MOSQUITTO = os.environ.get("COPPS_MOSQUITTO", shutil.which("mosquitto") or "/usr/sbin/mosquitto")
FALLBACK_URL = os.environ.get("COPPS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def available() -> bool:
    return os.access(MOSQUITTO, os.X_OK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    where = urlsplit(url)
    try:
        with socket.create_connection((where.hostname or "127.0.0.1", where.port or 1883), 1):
            return True
    except OSError:
        return False


class Mosquitto:
    def __init__(self, tmpdir: Path):
        self.dir = Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        conf = self.dir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"log_dest file {self.dir / 'mosquitto.log'}\n"
        )
        self.proc = subprocess.Popen(  # noqa: S603 - the broker binary
            [MOSQUITTO, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not answers(self.url):
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode()[-500:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("mosquitto did not answer within 10 s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()

    def log(self) -> str:
        path = self.dir / "mosquitto.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""
