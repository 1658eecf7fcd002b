"""Benchmark: one post from a copps fediverse account to 50,000 followers on 2,000 servers.

On a fresh database (SQLite file or PostgreSQL) it starts ``--servers`` loopback fediverse
servers (``_ap_sinks.py``: one asyncio process, one port per server, every request's HTTP
signature checked with the account's public key), creates one copps account (``@bench``, a
force account) through the federation's actions, and ``--followers`` remote accounts following
it (bulk_create), spread over the servers as fediverse users are: a few large servers and a long
tail (Zipf, s = 1; every server has at least one). ``--shared`` of the servers (0.9) announce a
shared inbox, spread evenly over the sizes; the others' followers each have only a personal one.
Followers are created in a shuffled order (``--seed``), as follows arrive over time.

It then starts ``--workers`` real ``copps worker`` processes, publishes one message to the
"fediverse" rendition through the newsroom's actions (create, submit, approve) and times from
the approval to the moment the delivery is final; then it checks what the servers received.

Printed per run: followers, servers, requests sent (copies), the requests needed without
shared inboxes (one per follower), the share saved, seconds, requests/s, followers reached/s,
verified requests (must equal sent), signature failures, duplicates, and inboxes that got
nothing. The baseline, in the same invocation, is the same fan-out with shared inboxes ignored
(every follower's personal inbox, one request each) at ``--baseline-scale`` of the size (the
full size by default, about two minutes); the last line is
``ap_fanout_ratio=<followers reached/s with shared inboxes ÷ without>``.

    .venv/bin/python bench/ap_fanout.py [--followers 50000] [--servers 2000] [--shared 0.9]
        [--database sqlite|postgres] [--workers 2] [--baseline-scale 1] [--no-baseline]
        [--profile] [--seed 1]

``--profile`` runs the engine in this process under cProfile instead of in workers and prints
where the time goes. Each run is a child process of this script (a fresh Django).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Workers, log, prepare_database, setup_django

HERE = Path(__file__).resolve().parent
USERNAME = "bench"


# The fediverse around us ------------------------------------------------------------------------


def spread(followers: int, servers: int, shared: float) -> list[tuple[int, bool]]:
    """(followers, has a shared inbox) per server, largest first: Zipf (s = 1) with at least one
    follower each; the servers without a shared inbox are spread evenly over the ranks."""
    if followers < servers:
        raise SystemExit("--followers must be at least --servers (one follower per server)")
    weights = [1 / rank for rank in range(1, servers + 1)]
    total = sum(weights)
    rest = followers - servers
    exact = [rest * w / total for w in weights]
    counts = [1 + int(x) for x in exact]
    # Largest remainder: the sum is exactly ``followers``.
    short = followers - sum(counts)
    for i in sorted(range(servers), key=lambda i: int(exact[i]) - exact[i])[:short]:
        counts[i] += 1
    without = round(servers * (1 - shared))
    return [
        (n, rank * without // servers == (rank - 1) * without // servers)
        for rank, n in enumerate(counts, start=1)
    ]


class Sinks:
    """The loopback servers (``_ap_sinks.py``) in their own process."""

    def __init__(self, count: int, tmp: Path, key_id: str, public_pem: str):
        self.state = tmp / "sinks.json"
        ports_file = tmp / "sinks-ports.json"
        key_file = tmp / "actor-key.pem"
        key_file.write_text(public_pem)
        self.out = open(tmp / "sinks.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "_ap_sinks.py"),
                str(count),
                str(ports_file),
                str(self.state),
                key_id,
                str(key_file),
            ],
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not ports_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the sinks did not start; see {tmp / 'sinks.log'}")
            time.sleep(0.05)
        self.ports: list[int] = json.loads(ports_file.read_text())

    def totals(self) -> dict:
        try:
            return json.loads(self.state.read_text())
        except (OSError, ValueError):
            return {"received": 0, "verified": 0, "failed": 0}

    def stop(self) -> tuple[dict, dict[str, list[str]]]:
        """Final totals and, per inbox ("port/path"), the activity ids it received."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self.out.close()
        detail = Path(f"{self.state}.detail")
        return self.totals(), json.loads(detail.read_text()) if detail.exists() else {}


def make_followers(actor, plan, ports: list[int], use_shared: bool, seed: int) -> dict[str, int]:
    """RemoteActor + accepted Follower rows; returns the expected inboxes ("port/path") and how
    many followers each one stands for."""
    from django.utils import timezone

    from copps.federation.models import Follower, FollowState, RemoteActor

    now = timezone.now()
    people: list[tuple[int, int, bool]] = []  # (port, number on that server, shared)
    for (count, shared), port in zip(plan, ports, strict=True):
        people.extend((port, j, shared) for j in range(count))
    random.Random(seed).shuffle(people)
    expected: dict[str, int] = {}
    for start in range(0, len(people), 5000):
        remotes = []
        for port, j, shared in people[start : start + 5000]:
            base = f"http://127.0.0.1:{port}"
            uri = f"{base}/users/u{j}"
            shared_inbox = f"{base}/inbox" if shared and use_shared else ""
            target = f"{port}/inbox" if shared_inbox else f"{port}/users/u{j}/inbox"
            expected[target] = expected.get(target, 0) + 1
            remotes.append(
                RemoteActor(
                    uri=uri,
                    domain=f"127.0.0.1:{port}",
                    inbox=f"{uri}/inbox",
                    shared_inbox=shared_inbox,
                    key_id=f"{uri}#main-key",
                    username=f"u{j}",
                    kind="Person",
                    fetched_at=now,
                )
            )
        remotes = RemoteActor.objects.bulk_create(remotes)
        Follower.objects.bulk_create(
            Follower(
                actor=actor,
                remote=remote,
                state=FollowState.ACCEPTED,
                activity_id=f"{remote.uri}#follows/{actor.username}",
                created_at=now,
                accepted_at=now,
            )
            for remote in remotes
        )
    return expected


# copps ------------------------------------------------------------------------------------------


def create_people_and_actor():
    from copps.accounts.models import User
    from copps.federation import actions

    admin = User.objects.create(username="bench-admin", role="admin")
    author = User.objects.create(username="bench-author", role="communicator")
    editor = User.objects.create(username="bench-editor", role="editor")
    actor = actions.create_actor(by=admin, username=USERNAME, kind="force", name="Politie")
    return author, editor, actor


def publish(author, editor) -> int:
    from copps.newsroom import actions
    from copps.newsroom.actions import VersionInput

    message, _ = actions.create_message(
        by=author,
        versions=[
            VersionInput(
                "nl",
                "Wegenwerken op de ring: verwacht hinder tot vrijdag",
                "Door wegenwerken op de ring is er tot vrijdag maar één rijstrook open. "
                "Vermijd de ring tijdens de spits en volg de omleiding.",
            )
        ],
        channels=["fediverse"],
    )
    actions.submit_message(message, by=author)
    actions.approve_message(message, by=editor)
    return message.pk


def delivery_of(message_id: int):
    from copps.channels.models import Delivery

    return Delivery.objects.filter(message_id=message_id, channel__kind="activitypub").first()


def wait_final(message_id: int, sinks: Sinks, started: float, timeout: float, label: str):
    from django.db import close_old_connections

    from copps.channels.models import Recipient

    last = 0.0
    while time.monotonic() - started < timeout:
        close_old_connections()
        d = delivery_of(message_id)
        if d is not None and (
            d.state in ("sent", "cancelled", "unknown") or (d.state == "failed" and d.permanent)
        ):
            return d, time.monotonic() - started
        if time.monotonic() - last > 2:
            last = time.monotonic()
            sent = Recipient.objects.filter(state="sent").count()
            total = d.recipients_total if d else 0
            log(
                f"{label} {sent}/{total or '?'} requests sent, "
                f"{sinks.totals().get('verified', 0)} verified, "
                f"{time.monotonic() - started:.0f} s"
            )
        time.sleep(0.1)
    raise SystemExit(f"{label} not final after {timeout:.0f} s")


def wait_for_workers(count: int, tmp: Path) -> None:
    from copps.worker.models import Heartbeat

    deadline = time.monotonic() + 120
    while Heartbeat.objects.filter(ticks__gte=1).count() < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"the workers did not start; see the logs in {tmp}")
        time.sleep(0.1)


def profile_engine() -> None:
    import cProfile
    import pstats

    from copps.channels import deliveries

    profiler = cProfile.Profile()
    profiler.enable()
    deliveries.deliver_due()
    while deliveries.deliver_recipients(limit_seconds=60):
        pass
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def run(args, *, baseline: bool) -> dict:
    scale = args.baseline_scale if baseline else 1.0
    followers = max(1, round(args.followers * scale))
    servers = max(1, min(followers, round(args.servers * scale)))
    label = f"[{args.database}{' baseline' if baseline else ''}]"
    tmp = Path(tempfile.mkdtemp(prefix="copps-ap-fanout-"))
    env = prepare_database(args.database, args.database_url, tmp)
    env.update(
        # The servers are on loopback: let copps' HTTP entry point call them.
        COPPS_HTTP_ALLOW_PRIVATE_HOSTS="127.0.0.1",
        COPPS_CHANNEL_RATE_LIMIT="0",
    )
    setup_django(env)
    from django.db import connections

    from copps.federation import ids

    logging.getLogger("httpx").setLevel(logging.WARNING)
    author, editor, actor = create_people_and_actor()
    plan = spread(followers, servers, args.shared)
    t0 = time.monotonic()
    sinks = Sinks(servers, tmp, ids.key(actor.username), actor.public_key_pem)
    log(f"{label} {servers} servers listening in {time.monotonic() - t0:.1f} s")
    t0 = time.monotonic()
    expected = make_followers(actor, plan, sinks.ports, not baseline, args.seed)
    shared = "shared inboxes ignored" if baseline else f"{sum(s for _n, s in plan)} shared"
    log(
        f"{label} {followers} followers in {time.monotonic() - t0:.1f} s; "
        f"{len(expected)} inboxes (largest server {plan[0][0]} followers; {shared})"
    )
    workers = None
    try:
        if args.profile:
            message_id = publish(author, editor)
            started = time.monotonic()
            profile_engine()
            d, seconds = delivery_of(message_id), time.monotonic() - started
        else:
            workers = Workers(env, args.workers, tmp)
            workers.start()
            wait_for_workers(args.workers, tmp)  # the clock starts when they are running
            started = time.monotonic()
            message_id = publish(author, editor)
            d, seconds = wait_final(message_id, sinks, started, args.timeout, label)
        # Every answer is sent after the count: the totals are complete once the sinks flush.
        deadline = time.monotonic() + 10
        while sinks.totals().get("received", 0) < d.recipients_sent and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        if workers:
            workers.stop()
        totals, detail = sinks.stop()
    activity_id = ids.create(actor.username, message_id)
    reached = [inbox for inbox, got in detail.items() if activity_id in got]
    result = {
        "baseline": baseline,
        "scale": scale,
        "followers": followers,
        "servers": servers,
        "shared_servers": sum(1 for _n, s in plan if s) if not baseline else 0,
        "inboxes": len(expected),
        "state": d.state,
        "sent": d.recipients_sent,
        "failed": d.recipients_failed,
        "unknown": d.recipients_unknown,
        "seconds": seconds,
        "received": totals.get("received", 0),
        "verified": totals.get("verified", 0),
        "signature_failures": totals.get("failed", 0),
        "reasons": totals.get("reasons", {}),
        "duplicates": sum(len(got) - 1 for got in detail.values() if got),
        "missing": sum(1 for inbox in expected if inbox not in detail),
        "unexpected": sum(1 for inbox in detail if inbox not in expected),
        "followers_reached": sum(expected.get(inbox, 0) for inbox in reached),
        "logs": str(tmp),
    }
    connections.close_all()
    return result


# Report -----------------------------------------------------------------------------------------


def report(results: dict[str, dict]) -> None:
    print()
    print(
        f"{'run':<9} {'followers':>9} {'servers':>7} {'requests':>8} {'without':>8} "
        f"{'saved':>6} {'seconds':>8} {'req/s':>7} {'reached/s':>9} {'verified':>8} "
        f"{'sig fail':>8} {'failed':>6} {'dup':>4} {'missing':>7}"
    )
    for name, r in results.items():
        saved = 1 - r["sent"] / r["followers"]
        print(
            f"{name:<9} {r['followers']:>9} {r['servers']:>7} {r['sent']:>8} "
            f"{r['followers']:>8} {saved:>6.1%} {r['seconds']:>8.1f} "
            f"{r['sent'] / r['seconds']:>7.1f} {r['followers_reached'] / r['seconds']:>9.0f} "
            f"{r['verified']:>8} {r['signature_failures']:>8} {r['failed'] + r['unknown']:>6} "
            f"{r['duplicates']:>4} {r['missing']:>7}"
        )
    main = results["copps"]
    print(
        f"shared inboxes: {main['shared_servers']} of {main['servers']} servers; "
        f"{main['sent']} requests instead of {main['followers']} "
        f"({1 - main['sent'] / main['followers']:.1%} saved)"
    )
    ok = (
        main["verified"] == main["sent"] == main["inboxes"]
        and main["signature_failures"] == main["missing"] == 0
        and main["followers_reached"] == main["followers"]
    )
    print(
        f"verified == sent: {main['verified'] == main['sent']}; every follower reached: "
        f"{main['followers_reached'] == main['followers']} ({'OK' if ok else 'PROBLEM'})"
    )
    base = results.get("baseline")
    if base:
        print(
            f"baseline: shared inboxes ignored, {base['scale']:g} of the size "
            f"({base['followers']} followers on {base['servers']} servers)"
        )
        req_ratio = (main["sent"] / main["seconds"]) / (base["sent"] / base["seconds"])
        print(f"requests/s with shared inboxes ÷ without: {req_ratio:.2f}")
        full = main["followers"] / (base["sent"] / base["seconds"])
        print(
            f"without shared inboxes the full size would take ~{full:.0f} s at the baseline's "
            f"rate (measured: {main['seconds']:.1f} s with them)"
        )
        ratio = (main["followers_reached"] / main["seconds"]) / (
            base["followers_reached"] / base["seconds"]
        )
        print(f"ap_fanout_ratio={ratio:.2f}")
    else:
        print("ap_fanout_ratio=nan")
    print("logs: " + ", ".join(f"{name} {r['logs']}" for name, r in results.items()))
    print("summary=" + json.dumps(results))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--followers", type=int, default=50_000)
    parser.add_argument("--servers", type=int, default=2_000)
    parser.add_argument(
        "--shared", type=float, default=0.9, help="share of the servers with a shared inbox"
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (dropped first!)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument(
        "--baseline-scale",
        type=float,
        default=1.0,
        help="size of the baseline (shared inboxes ignored) relative to the main run",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine in-process")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 0 <= args.shared <= 1:
        raise SystemExit("--shared is a share between 0 and 1")
    results = {}
    runs = ["copps"] if args.no_baseline or args.profile else ["copps", "baseline"]
    for name in runs:
        # Each run needs a fresh Django (a fresh database) in a fresh process.
        child = subprocess.run(
            [sys.executable, __file__, "--child", name, json.dumps(vars(args))],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = child.stdout.strip().splitlines()
        if child.returncode != 0 or not lines:
            raise SystemExit(f"the {name} run failed (exit {child.returncode})")
        results[name] = json.loads(lines[-1])
    print(f"fediverse fan-out on {args.database}, {args.workers} workers, seed {args.seed}")
    report(results)
    return 0


def child(name: str, raw: str) -> None:
    args = argparse.Namespace(**json.loads(raw))
    result = run(args, baseline=name == "baseline")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
