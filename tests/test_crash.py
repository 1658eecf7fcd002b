"""Crash injection: workers killed with SIGKILL mid-publication deliver each post exactly once
(or flag it unknown), never twice, never silently lost.

The run is ``bench/exactly_once.py`` at a small size: a fresh database of its own (an SQLite file,
or a PostgreSQL database next to the test database when DATABASE_URL points at PostgreSQL), real
worker processes (``python -m copps.manage worker``) with a 5-second sending timeout so the
sweeper takes stuck rows during the test, SIGKILLs at random moments from a seeded RNG (the seed
is printed; rerun with COPPS_CRASH_SEED=<seed>), and the sandbox services as the other side.

Why 5 s and not less: the sweeper takes any row "sending" for longer than the timeout as
abandoned, also when its worker is alive and merely waiting (an SQLite write lock under a burst
of publishes can take seconds). A second worker then sends the same post while the first one's
request is still in flight; with 2 s this produced a duplicate on the sandbox webhook even
without kills (bench/exactly_once.py --seed 2026, baseline run). That is an engine issue
reported to the lead (the sweep should take rows of dead workers only), not noise to hide.
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "exactly_once.py"

# One sandbox account per entry. Add the social kinds (e.g. "mastodon", "bluesky") once their
# adapters and imitations are on the branch; the checks match posts by idempotency key, or by
# the message's marker for imitations that keep no key.
CRASH_CHANNELS = ["webhook", "webhook", "webhook", "webhook", "webhook"]
MESSAGES = 40
# Publish further batches until at least this many deliveries were caught mid-send by a kill.
MIN_CRASHES = 2


def database_args() -> list[str]:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return ["--database", "sqlite"]
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    # A database of its own beside the test database: the workers are separate processes.
    return [
        "--database",
        "postgres",
        "--database-url",
        f"postgres://{auth}@{host}/{db['NAME']}_crash",
    ]


@pytest.fixture(scope="module")
def crash_run():
    seed = int(os.environ.get("COPPS_CRASH_SEED") or random.SystemRandom().randrange(1, 10**6))
    print(f"crash test seed={seed} (rerun with COPPS_CRASH_SEED={seed})")  # noqa: T201
    command = [
        sys.executable,
        str(BENCH),
        "--messages",
        str(MESSAGES),
        "--channels",
        ",".join(CRASH_CHANNELS),
        "--kill-every",
        "0.7",
        "--seed",
        str(seed),
        "--min-crashes",
        str(MIN_CRASHES),
        "--min-went-out",
        "1",
        # Above the time a live worker may hold a row under this load; see the module docstring.
        "--sending-timeout",
        "5",
        "--publish-pause",
        "0.02",
        "--read-back-grace",
        "2",
        "--timeout",
        "45",
        "--no-baseline",
        *database_args(),
    ]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    summary = json.loads(next(x for x in lines if x.startswith("summary="))[len("summary=") :])
    print(out.stdout)  # noqa: T201
    return seed, summary, lines[-1]


def test_it_kills_workers_while_they_send_and_the_sweeper_takes_over(crash_run):
    seed, summary, _ = crash_run
    assert summary["kills"] >= 1, seed
    # At least MIN_CRASHES deliveries were left "sending" by a killed worker and swept.
    assert summary["swept"] >= MIN_CRASHES, (seed, summary)
    assert summary["retried"] >= summary["swept"], (seed, summary)
    # ... and at least one of them had already reached the service: the "went out, no answer"
    # case that a blind retry would have duplicated.
    assert summary["arrived_before_crash"] >= 1, (seed, summary)


def test_it_ends_with_every_delivery_sent_exactly_once_or_flagged_unknown(crash_run):
    seed, summary, _ = crash_run
    assert summary["deliveries"] >= MESSAGES * len(CRASH_CHANNELS), (seed, summary)
    assert summary["not_final"] == 0, (seed, summary["problems"])
    assert summary["sent"] + summary["unknown"] == summary["deliveries"], (seed, summary)


def test_it_never_posts_twice_and_never_loses_a_post(crash_run):
    seed, summary, last_line = crash_run
    assert summary["duplicates"] == 0, (seed, summary["problems"])
    assert summary["lost"] == 0, (seed, summary["problems"])
    # Every sent delivery has exactly its one post; unknown ones at most one.
    assert summary["posts"] == summary["sent"] + summary["unknown_with_post"], (seed, summary)
    assert last_line == f"duplicates=0 lost=0 unknown={summary['unknown']}"
