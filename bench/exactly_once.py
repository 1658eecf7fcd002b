"""Benchmark and proof: exactly-once delivery while workers are killed with SIGKILL.

On a fresh database (SQLite file or PostgreSQL) it creates one sandbox channel account per entry
of ``--channels`` (the built-in imitations answer at https://<service>.sandbox.invalid and keep
what arrives as SandboxPost rows), starts ``--workers`` real worker processes
(``python -m copps.manage worker``), publishes ``--messages`` messages to all channels through
the newsroom's actions, and meanwhile kills a random worker with SIGKILL at random moments
(``--kill-every`` seconds on average; seeded, the seed is printed) and starts a new one. Once
everything is published and the deliveries have settled it stops killing, lets the sweeper
(rows stuck in "sending") and the read-back (unknown outcomes) run, and checks every delivery:

- sent: exactly one post arrived at the service (matched by the delivery's idempotency key, or
  by the message's marker for services that keep no key) and it carries the delivery's
  external id;
- unknown: at most one post arrived (a person decides);
- nothing is left pending, sending or failed.

    .venv/bin/python bench/exactly_once.py [--messages 1000] [--channels webhook,webhook,...]
        [--kill-every 3] [--seed N] [--workers 2] [--database sqlite|postgres]

Progress goes to stderr. The report goes to stdout: crash evidence (deliveries that needed more
than one attempt or were swept after a killed worker), a same-run baseline (the same publishes
delivered by workers that are never killed) and the ratio, a ``summary=<json>`` line and, last,
``duplicates=<n> lost=<n> unknown=<n>``. Target: 0 duplicates, 0 lost.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, Workers, log, prepare_database, require_adapters, setup_django

# Kinds the crash test and this benchmark use by default. Extend with the social kinds
# (mastodon, bluesky, x, facebook, telegram) once their adapters and imitations exist.
DEFAULT_CHANNELS = ("webhook", "webhook", "webhook", "webhook", "webhook")

# The sandbox service that receives a kind's posts (the imitation's name), when it differs.
SERVICE = {"sms_kannel": "kannel", "sms_http": "smshttp"}

# The event or payload marker of a *post* (not an edit or deletion) in a SandboxPost, per
# service: a callable on SandboxPost.payload returning True for posts. Default: every row.
IS_POST = {"webhook": lambda payload: payload.get("event") == "message.published"}

# Secrets and settings a sandbox account of each kind needs to pass validation.
CHANNEL_SECRETS = {"webhook": {"signing_secret": "s" * 32}}
CHANNEL_CONFIG: dict[str, dict] = {}


# Publishing and checking ----------------------------------------------------------------------


def create_people_and_channels(kinds: list[str]):
    from copps.accounts.models import User
    from copps.channels.models import Channel

    author = User.objects.create(username="bench-author", role="communicator")
    editor = User.objects.create(username="bench-editor", role="editor")
    channels = []
    for i, kind in enumerate(kinds, start=1):
        channel = Channel(
            name=f"{kind} {i}",
            slug=f"{kind}-{i}".replace("_", "-"),
            kind=kind,
            language="nl",
            sandbox=True,
            config=dict(CHANNEL_CONFIG.get(kind, {})),
        )
        channel.set_secrets(dict(CHANNEL_SECRETS.get(kind, {})))
        channel.save()
        channels.append(channel)
    renditions = sorted({c.adapter.rendition for c in channels})
    return author, editor, renditions


def publish(i: int, marker: str, author, editor, renditions) -> None:
    from copps.newsroom import actions
    from copps.newsroom.actions import VersionInput

    title = f"Oefening {marker}-{i}"
    message, _ = actions.create_message(
        by=author,
        versions=[VersionInput("nl", title, f"Tekst van oefenbericht {marker}-{i}.")],
        channels=renditions,
    )
    actions.submit_message(message, by=author)
    actions.approve_message(message, by=editor)


def working_pids() -> set[int]:
    """Pids of the workers that have finished at least one round (worker id: host-pid-random)."""
    from copps.worker.models import Heartbeat

    pids = set()
    for worker_id in Heartbeat.objects.filter(ticks__gte=1).values_list("worker_id", flat=True):
        try:
            pids.add(int(worker_id.rsplit("-", 2)[1]))
        except (IndexError, ValueError):
            continue
    return pids


def sending_now() -> bool:
    from copps.channels.models import Delivery, Recipient
    from copps.channels.states import DeliveryState as S

    return (
        Delivery.objects.filter(state=S.SENDING, recipients_total=0).exists()
        or Recipient.objects.filter(state=S.SENDING).exists()
    )


def arrived_unrecorded() -> bool:
    """A post is at the service and its delivery is still "sending" (keyed services)."""
    from copps.channels.models import Delivery, SandboxPost
    from copps.channels.states import DeliveryState as S

    keys = Delivery.objects.filter(state=S.SENDING, recipients_total=0).values("key")
    return SandboxPost.objects.filter(idempotency_key__in=keys).exists()


def crashes_caught() -> tuple[int, int]:
    """Deliveries the sweeper found "sending" after their worker was killed, and how many of
    those had already reached the service (went out, no answer recorded)."""
    from django.db.models import Min

    from copps.channels.models import Delivery, DeliveryEvent, SandboxPost

    swept = dict(
        DeliveryEvent.objects.filter(detail__startswith="the worker stopped while sending")
        .values("delivery_id")
        .annotate(at=Min("at"))
        .values_list("delivery_id", "at")
    )
    arrived = 0
    for pk, key in Delivery.objects.filter(pk__in=list(swept)).values_list("pk", "key"):
        arrived += SandboxPost.objects.filter(
            idempotency_key=key, created_at__lt=swept[pk]
        ).exists()
    return len(swept), arrived


def counts() -> dict[str, int]:
    from django.db.models import Count

    from copps.channels.models import Delivery
    from copps.channels.states import DeliveryState as S

    rows = Delivery.objects.values("state", "permanent").annotate(n=Count("pk"))
    out = {"total": 0, "active": 0}
    for row in rows:
        out["total"] += row["n"]
        out[row["state"]] = out.get(row["state"], 0) + row["n"]
        if row["state"] in (S.PENDING, S.SENDING) or (
            row["state"] == S.FAILED and not row["permanent"]
        ):
            out["active"] += row["n"]
    return out


def unknown_waiting_for_read_back() -> int:
    """Unknown posts on channels that can read back: reconcile will settle them."""
    from copps.channels.models import Delivery
    from copps.channels.states import DeliveryState as S

    return sum(
        1
        for d in Delivery.objects.filter(state=S.UNKNOWN).select_related("channel")
        if d.channel.adapter.can_find
    )


def check(marker: str) -> dict:
    """Compare every delivery with what the sandbox services received."""
    from copps.channels.models import Delivery, DeliveryEvent, SandboxPost
    from copps.channels.states import DeliveryState as S

    deliveries = list(Delivery.objects.select_related("channel").order_by("pk"))
    services = {SERVICE.get(d.channel.kind, d.channel.kind) for d in deliveries}
    posts = [
        p
        for p in SandboxPost.objects.filter(service__in=services)
        if IS_POST.get(p.service, lambda payload: True)(p.payload or {})
    ]
    keyed: dict[tuple[str, str], list] = {}
    for p in posts:
        if p.idempotency_key:
            keyed.setdefault((p.service, p.idempotency_key), []).append(p)
    services_with_keys = {service for service, _ in keyed}
    sending_events: dict[int, int] = {}
    for pk in DeliveryEvent.objects.filter(to_state=S.SENDING).values_list(
        "delivery_id", flat=True
    ):
        sending_events[pk] = sending_events.get(pk, 0) + 1
    swept: dict[int, object] = {}  # delivery id -> when the sweeper found it stuck
    for pk, at in DeliveryEvent.objects.filter(
        detail__startswith="the worker stopped while sending"
    ).values_list("delivery_id", "at"):
        swept.setdefault(pk, at)
    matched: set[int] = set()
    result = {
        "deliveries": len(deliveries),
        "posts": len(posts),
        "sent": 0,
        "unknown": 0,
        "duplicates": 0,
        "lost": 0,
        "unknown_with_post": 0,
        "not_final": 0,
        "retried": 0,
        "swept": len(swept),
        "arrived_before_crash": 0,
        "problems": [],
    }
    for d in deliveries:
        service = SERVICE.get(d.channel.kind, d.channel.kind)
        if service in services_with_keys:
            mine = keyed.get((service, d.key), [])
        else:  # the service keeps no key: the message's marker identifies the post
            title = d.payload.get("title", "")
            mine = [p for p in posts if p.service == service and title and title in p.text]
        matched.update(p.pk for p in mine)
        if d.attempts > 1 or sending_events.get(d.pk, 0) > 1 or d.pk in swept:
            result["retried"] += 1
        if d.pk in swept and any(p.created_at < swept[d.pk] for p in mine):
            # The post had arrived and the worker died before recording it: "went out, no
            # answer". The retry (or read-back) must not have posted it again.
            result["arrived_before_crash"] += 1
        problem = None
        if d.state == S.SENT:
            result["sent"] += 1
            if not mine:
                result["lost"] += 1
                problem = "sent but nothing arrived"
            elif len(mine) > 1:
                result["duplicates"] += len(mine) - 1
                problem = f"sent but {len(mine)} posts arrived"
            elif d.external_id and d.external_id != mine[0].external_id:
                problem = f"external id {d.external_id!r} is not the post's {mine[0].external_id!r}"
                result["lost"] += 1
        elif d.state == S.UNKNOWN:
            result["unknown"] += 1
            result["unknown_with_post"] += bool(mine)
            if len(mine) > 1:
                result["duplicates"] += len(mine) - 1
                problem = f"unknown and {len(mine)} posts arrived"
        else:
            result["not_final"] += 1
            result["lost"] += 1
            problem = f"left {d.state}{' (permanent)' if d.permanent else ''}: {d.last_error}"
        if problem and len(result["problems"]) < 20:
            result["problems"].append(f"delivery {d.pk} ({d.channel.slug}): {problem}")
    stray = [p for p in posts if p.pk not in matched]
    result["duplicates"] += len(stray)
    if stray:
        result["problems"].append(f"{len(stray)} posts match no delivery")
    return result


# The run ----------------------------------------------------------------------------------------


def run(args, *, kill: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="copps-exactly-once-"))
    label = f"[{args.database}{'' if kill else ' baseline'}]"
    env = prepare_database(args.database, args.database_url, tmp)
    env.update(
        COPPS_CHANNEL_RATE_LIMIT="0",
        COPPS_DELIVERY_SENDING_TIMEOUT=str(args.sending_timeout),
        # A SIGKILLed worker's heartbeat goes stale this fast, so the sweeper takes its rows.
        COPPS_WORKER_STALE_SECONDS=str(max(2, args.sending_timeout)),
        COPPS_DELIVERY_BACKOFF_CAP="1",
        COPPS_WORKER_TICK_SECONDS="0",
        COPPS_READ_BACK_GRACE=str(max(1, round(args.read_back_grace))),
    )
    setup_django(env)
    from django.db import close_old_connections

    kinds = [k.strip() for k in args.channels.split(",") if k.strip()]
    author, editor, renditions = create_people_and_channels(kinds)
    rng = random.Random(args.seed)
    marker = f"{args.seed}{'k' if kill else 'b'}"
    workers = Workers(env, args.workers, tmp)
    workers.start()
    warm_until = time.monotonic() + 60
    while len(working_pids() & {p.pid for p in workers.procs}) < args.workers:
        if time.monotonic() > warm_until:
            raise SystemExit(f"the workers did not start; see the logs in {tmp}")
        time.sleep(0.1)
    started = time.monotonic()
    next_kill = started + rng.uniform(0.2, 1.8) * args.kill_every
    published = 0
    target = args.messages
    kill_until = None
    last_progress = 0.0
    try:
        while True:
            now = time.monotonic()
            if published < target:
                publish(published + 1, marker, author, editor, renditions)
                published += 1
                if args.publish_pause:  # SQLite: let the workers have the write lock too
                    time.sleep(args.publish_pause)
            state = counts() if published == target or now - last_progress > 1 else None
            done_publishing = published == target
            if done_publishing and kill_until is None:
                # Keep killing while the deliveries catch up (bounded, so the run ends).
                kill_until = now + max(10.0, 4 * args.kill_every)
            if kill and now >= next_kill and (kill_until is None or now < kill_until):
                # Only a worker that is running rounds (it has a heartbeat) can be caught at
                # work; one still importing Django would make a kill that proves nothing.
                # (A worker's first round can take long under load: old enough counts too.)
                warm = (working_pids() | workers.older_than(args.warmup)) & {
                    p.pid for p in workers.procs
                }
                if warm:
                    # Now and then every worker at once (a power cut), else one at random.
                    everyone = rng.random() < args.kill_all_share
                    # Aim for the window that matters, waiting at most 0.5 s: half of the
                    # kills for a post that has arrived while its delivery still says
                    # "sending" (went out, no answer recorded), the others for any "sending".
                    aim = arrived_unrecorded if rng.random() < 0.5 else sending_now
                    aim_until = time.monotonic() + 0.5
                    while not aim() and time.monotonic() < aim_until:
                        time.sleep(0.001)
                    workers.kill(rng, among=warm, everyone=everyone)
                    next_kill = now + rng.uniform(0.2, 1.8) * args.kill_every
            workers.check_alive()
            if state is not None and now - last_progress > 1:
                last_progress = now
                log(
                    f"\r{label} published {published}/{target}, deliveries "
                    f"{state['total'] - state['active']}/{state['total']} settled "
                    f"({state.get('unknown', 0)} unknown), kills {workers.kills}, "
                    f"{now - started:.0f} s"
                )
            if done_publishing and state is not None and state["active"] == 0:
                swept, arrived = crashes_caught() if kill else (0, 0)
                short = swept < args.min_crashes or arrived < args.min_went_out
                if kill and short and now - started < args.timeout:
                    # No kill has caught a worker mid-send often enough yet: publish some more.
                    target += 10
                    kill_until = None
                    continue
                if not kill or now >= (kill_until or 0) or workers.kills:
                    break
            if done_publishing:
                time.sleep(0.2)
            if now - started > args.timeout:
                log(f"{label} timed out after {args.timeout} s")
                break
        delivered_at = time.monotonic()
        # After the last restart: let the sweeper and the read-back settle what they can.
        settle_until = time.monotonic() + args.sending_timeout + 3
        while time.monotonic() < settle_until + (
            args.read_back_grace + 5 if unknown_waiting_for_read_back() else 0
        ):
            close_old_connections()
            state = counts()
            if state["active"] == 0 and not unknown_waiting_for_read_back():
                break
            time.sleep(0.5)
    finally:
        workers.stop()
    elapsed = delivered_at - started
    result = check(marker)
    result.update(
        messages=published,
        seconds=round(elapsed, 2),
        kills=workers.kills,
        per_second=round(result["deliveries"] / elapsed, 1) if elapsed else 0.0,
        logs=str(tmp),
    )
    from django.db import connections

    connections.close_all()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument(
        "--min-crashes",
        type=int,
        default=0,
        help="publish further batches of 10 until kills caught this many deliveries mid-send",
    )
    parser.add_argument(
        "--channels",
        default=",".join(DEFAULT_CHANNELS),
        help="comma-separated channel kinds, one sandbox account each (repeats allowed)",
    )
    parser.add_argument(
        "--min-went-out",
        type=int,
        default=0,
        help="... and this many of them had reached the service before the kill",
    )
    parser.add_argument("--kill-every", type=float, default=3.0, help="mean seconds between kills")
    parser.add_argument(
        "--kill-all-share",
        type=float,
        default=0.3,
        help="share of the kills that hit every worker at once (a power cut)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--warmup",
        type=float,
        default=4.0,
        help="seconds a new worker gets before it may be killed",
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (dropped first!)")
    parser.add_argument("--sending-timeout", type=int, default=2)
    parser.add_argument(
        "--publish-pause", type=float, default=0.0, help="seconds between publishes"
    )
    parser.add_argument("--read-back-grace", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--no-baseline", action="store_true", help="skip the run without kills")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 10**6)
    print(f"seed={args.seed}", flush=True)
    require_adapters(k.strip() for k in args.channels.split(",") if k.strip())
    # Each run needs a fresh Django in a fresh process: run them as children of this script.
    results = {}
    for mode in ["kill"] if args.no_baseline else ["baseline", "kill"]:
        child = subprocess.run(
            [sys.executable, __file__, "--child", mode, json.dumps(vars(args))],
            cwd=ROOT,
            capture_output=False,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = child.stdout.strip().splitlines()
        if child.returncode != 0 or not lines:
            raise SystemExit(f"the {mode} run failed (exit {child.returncode})")
        results[mode] = json.loads(lines[-1])
    r = results["kill"]
    print()
    print(
        f"{'run':<10} {'deliveries':>10} {'seconds':>8} {'deliv/s':>8} {'kills':>6} "
        f"{'retried':>8} {'swept':>6} {'sent':>6} {'unknown':>8} {'dup':>4} {'lost':>5}"
    )
    for mode, x in results.items():
        print(
            f"{mode:<10} {x['deliveries']:>10} {x['seconds']:>8.1f} {x['per_second']:>8.1f} "
            f"{x['kills']:>6} {x['retried']:>8} {x['swept']:>6} {x['sent']:>6} "
            f"{x['unknown']:>8} {x['duplicates']:>4} {x['lost']:>5}"
        )
    if "baseline" in results and results["baseline"]["per_second"]:
        ratio = r["per_second"] / results["baseline"]["per_second"]
        print(f"throughput under kills / without kills: {ratio:.2f}")
    for problem in r["problems"]:
        print("  " + problem)
    print("summary=" + json.dumps(r))
    print(f"duplicates={r['duplicates']} lost={r['lost']} unknown={r['unknown']}")
    return 0


def child(mode: str, raw: str) -> None:
    args = argparse.Namespace(**json.loads(raw))
    result = run(args, kill=mode == "kill")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
