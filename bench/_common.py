"""Helpers shared by the benchmarks: a fresh database, Django in this process, real workers."""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/copps_bench")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def require_adapters(kinds: Iterable[str]) -> None:
    """Stop with a clear message when a kind's adapter is not in this checkout."""
    sys.path.insert(0, str(ROOT))
    from copps.channels.registry import ADAPTERS

    for kind in kinds:
        if kind not in ADAPTERS:
            raise SystemExit(f"unknown channel kind {kind!r}; known: {', '.join(ADAPTERS)}")
        module = ADAPTERS[kind].rsplit(".", 1)[0]
        if importlib.util.find_spec(module) is None:
            raise SystemExit(
                f"the {kind} adapter ({ADAPTERS[kind]}) is missing from this checkout: "
                f"{module.replace('.', '/')}.py does not exist yet"
            )


# The database and Django in this process ------------------------------------------------------


def prepare_database(database: str, url: str | None, tmp: Path) -> dict:
    """A fresh database; returns the environment every process (this one included) uses."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COPPS_SQLITE_PATH")}
    env.update(
        COPPS_VAR_DIR=str(tmp),
        DJANGO_SETTINGS_MODULE="bench._settings",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    if database == "postgres":
        url = url or PG_URL
        dbname = url.rsplit("/", 1)[1].split("?")[0]
        admin = url.rsplit("/", 1)[0] + "/postgres"
        for sql in (f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)", f"CREATE DATABASE {dbname}"):
            subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
        env["DATABASE_URL"] = url
    subprocess.run(
        [sys.executable, "-m", "copps.manage", "migrate", "-v0"], env=env, cwd=ROOT, check=True
    )
    return env


def setup_django(env: dict) -> None:
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# Workers ------------------------------------------------------------------------------------


class Workers:
    """Real worker processes; kill() sends SIGKILL to one and starts a replacement."""

    def __init__(self, env: dict, count: int, logdir: Path):
        self.env, self.count, self.logdir = env, count, logdir
        self.procs: list[subprocess.Popen] = []
        self.born: dict[int, float] = {}  # pid -> when it was started (monotonic)
        self.kills = 0
        self.started = 0

    def _start(self) -> subprocess.Popen:
        self.started += 1
        out = open(self.logdir / f"worker-{self.started}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "copps.manage", "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.born[proc.pid] = time.monotonic()
        return proc

    def older_than(self, seconds: float) -> set[int]:
        now = time.monotonic()
        return {p.pid for p in self.procs if now - self.born.get(p.pid, now) >= seconds}

    def start(self) -> None:
        self.procs = [self._start() for _ in range(self.count)]

    def kill(self, rng: random.Random, among: set[int] | None = None, everyone=False) -> bool:
        """SIGKILL a random worker (or every one) whose pid is in ``among`` (if given), then
        start replacements. False when no worker qualified."""
        candidates = [i for i, p in enumerate(self.procs) if among is None or p.pid in among]
        if not candidates:
            return False
        chosen = candidates if everyone else [rng.choice(candidates)]
        for i in chosen:
            self.procs[i].send_signal(signal.SIGKILL)
        for i in chosen:
            self.procs[i].wait()
            self.kills += 1
            self.procs[i] = self._start()
        return True

    def check_alive(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:  # a worker must never die on its own
                log(f"worker exited with {proc.returncode}; see {self.logdir}")
                self.procs[i] = self._start()

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
