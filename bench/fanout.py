"""Benchmark: one alert fanned out to e-mail, web push and SMS subscribers, beside a bare baseline.

On a fresh database (SQLite file or PostgreSQL) it starts the sinks on loopback (an aiosmtpd
server, an asyncio HTTP push endpoint, a real Kannel: bearerbox + smsbox + fakesmsc), creates
the subscribers with bulk_create (default: 100,000 e-mail, 100,000 web push, 10,000 SMS), one
e-mail, one web push and one Kannel SMS channel pointing at the sinks, and starts ``--workers``
real ``copps worker`` processes. It then publishes one alert (a crisis message for the whole
area) and times, per medium, from the approval to the moment its delivery is final, checking
that every copy reached its sink. Then, in the same run, the bare baseline (``_baseline.py``:
one asyncio loop, no database) sends the same messages to the same sinks.

    .venv/bin/python bench/fanout.py [--emails 100000] [--pushes 100000] [--sms 10000]
        [--database sqlite|postgres] [--workers 2] [--baseline-only] [--dry-run] [--profile]

``--dry-run`` swaps in throwaway adapters (``_dry.py``) so the engine's fan-out can be measured
before the real adapters are on the branch; ``--profile`` runs the engine in this process under
cProfile (no workers) and prints where the time goes. The last line is
``fanout_ratio=<copps msgs/s ÷ baseline msgs/s>`` over all media. Targets: ratio >= 0.5;
100,000 e-mails <= 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from _baseline import browser_keys, new_vapid_keys, send_emails, send_pushes, send_sms
from _common import Workers, log, prepare_database, require_adapters, setup_django
from _sinks import Kannel, Sink

SENDER = "alerts@police.example"
CONTACT = "mailto:webmaster@police.example"
KINDS = {"email": "email", "push": "webpush", "sms": "sms_kannel"}
RENDITION = {"email": "email", "push": "push", "sms": "sms"}


def make_subscribers(emails: int, pushes: int, sms: int, keys: dict) -> None:
    from django.utils import timezone

    from copps.channels.models import Subscription, SubscriptionState

    now = timezone.now()

    def rows(n, medium, **fields):
        for i in range(n):
            yield Subscription(
                medium=medium,
                language="nl",
                state=SubscriptionState.ACTIVE,
                secret=secrets.token_hex(16),
                confirmed_at=now,
                **{k: (v(i) if callable(v) else v) for k, v in fields.items()},
            )

    batches = [
        rows(emails, "email", address=lambda i: f"inwoner{i}@example.test"),
        rows(
            pushes,
            "push",
            push_endpoint=lambda i: f"{keys['push_base']}/push/{i}",
            push_p256dh=keys["p256dh"],
            push_auth=keys["auth"],
        ),
        rows(sms, "sms", address=lambda i: f"+3247{i:07d}"),
    ]
    for generator in batches:
        chunk = []
        for sub in generator:
            chunk.append(sub)
            if len(chunk) == 5000:
                Subscription.objects.bulk_create(chunk)
                chunk = []
        if chunk:
            Subscription.objects.bulk_create(chunk)


def make_channels(media, smtp_port, push_keys, kannel):
    from copps.channels.models import Channel

    settings = {
        "email": (
            {
                "host": "127.0.0.1",
                "port": str(smtp_port),
                "security": "none",
                "from_address": SENDER,
                "from_name": "Politie",
            },
            {},
        ),
        "push": (
            {"vapid_public_key": push_keys["public"], "contact": CONTACT},
            {"vapid_private_key": push_keys["private"]},
        ),
        "sms": (
            {
                "sendsms_url": kannel.sendsms_url if kannel else "",
                "username": Kannel.username,
                "sender": "Politie",
            },
            {"password": Kannel.password},
        ),
    }
    for medium in media:
        config, secret = settings[medium]
        channel = Channel(
            name=f"bench {medium}",
            slug=f"bench-{medium}",
            kind=KINDS[medium],
            language="nl",
            config=config,
        )
        channel.set_secrets(secret)
        channel.save()


def publish_alert(media) -> int:
    from copps.accounts.models import User
    from copps.newsroom import actions
    from copps.newsroom.actions import VersionInput

    author = User.objects.create(username="bench-author", role="communicator")
    editor = User.objects.create(username="bench-editor", role="editor")
    message, _ = actions.create_message(
        by=author,
        kind="crisis",
        versions=[
            VersionInput(
                "nl",
                "Brand in industriezone: houd ramen en deuren gesloten",
                "Door een brand in de industriezone is er veel rook. Houd ramen en deuren "
                "gesloten en zet ventilatie uit. Meer info volgt.",
            )
        ],
        channels=[RENDITION[m] for m in media],
    )
    actions.submit_message(message, by=author)
    actions.approve_message(message, by=editor)
    return message.pk


def payload_of(message_id: int) -> dict:
    from copps.channels.models import Delivery

    d = Delivery.objects.filter(message_id=message_id).order_by("pk").first()
    return dict(d.payload) if d else {}


def wait_final(message_id: int, media, started: float, timeout: float) -> dict:
    """Seconds from approval until each medium's delivery is final (polled), and its counts."""
    from django.db import close_old_connections

    from copps.channels.models import Delivery, Recipient
    from copps.channels.states import FINAL_STATES

    done: dict[str, dict] = {}
    last = 0.0
    while len(done) < len(media) and time.monotonic() - started < timeout:
        close_old_connections()
        for d in Delivery.objects.filter(message_id=message_id).select_related("channel"):
            medium = d.channel.adapter.medium
            # Final for the benchmark: sent, cancelled, unknown (a person decides), failed for good.
            final = (
                d.state in FINAL_STATES
                or d.state == "unknown"
                or (d.state == "failed" and d.permanent)
            )
            if final and medium not in done:
                done[medium] = {
                    "seconds": time.monotonic() - started,
                    "state": d.state,
                    "sent": d.recipients_sent,
                    "failed": d.recipients_failed,
                    "unknown": d.recipients_unknown,
                    "total": d.recipients_total,
                }
        if time.monotonic() - last > 2:
            last = time.monotonic()
            sent = Recipient.objects.filter(state="sent").count()
            log(f"\r[copps] {sent} copies sent, {time.monotonic() - started:.0f} s")
        time.sleep(0.1)
    return done


def run_copps(args, media, sinks, kannel, push_keys, tmp) -> dict:
    env = prepare_database(args.database, args.database_url, tmp)
    env.update(COPPS_HTTP_ALLOW_PRIVATE_HOSTS="127.0.0.1", COPPS_CHANNEL_RATE_LIMIT="0")
    if "push" in sinks:
        # Kannel fetches a delivery report URL (on SITE_URL) for every SMS; no copps web server
        # runs here, and a dead address makes smsbox retry and slow down. The push sink answers
        # those GETs at once (405), which Kannel logs and drops.
        env["SITE_URL"] = f"http://127.0.0.1:{sinks['push'].port}"
    if args.dry_run:
        env.update(BENCH_DRY_ADAPTERS="1")
    env["PYTHONPATH"] = str(Path(__file__).parent) + os.pathsep + env["PYTHONPATH"]
    setup_django(env)
    # httpx logs every request with its URL at INFO (phone numbers, the sendsms password).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    t0 = time.monotonic()
    make_subscribers(args.emails, args.pushes, args.sms, push_keys)
    make_channels(media, sinks["email"].port if "email" in sinks else 0, push_keys, kannel)
    log(
        f"[copps] {args.emails + args.pushes + args.sms} subscribers in {time.monotonic() - t0:.1f} s"
    )
    if args.profile:
        return profile_engine(media)
    workers = Workers(env, args.workers, tmp)
    workers.start()
    time.sleep(3)  # let them start before the clock runs
    try:
        started = time.monotonic()
        message_id = publish_alert(media)
        done = wait_final(message_id, media, started, args.timeout)
    finally:
        workers.stop()
    counts = {"email": args.emails, "push": args.pushes, "sms": args.sms}
    for medium, sink in (
        ("email", sinks.get("email")),
        ("push", sinks.get("push")),
        ("sms", kannel),
    ):
        if medium in done and sink is not None:
            sink.wait_count(counts[medium], 30)
            done[medium]["arrived"] = sink.count()
    done["payload"] = payload_of(message_id)
    return done


def profile_engine(media) -> dict:
    import cProfile
    import pstats

    from copps.channels import deliveries

    message_id = publish_alert(media)
    profiler = cProfile.Profile()
    started = time.monotonic()
    profiler.enable()
    deliveries.deliver_due()
    while deliveries.deliver_recipients(limit_seconds=60):
        pass
    profiler.disable()
    log(f"[profile] engine in this process: {time.monotonic() - started:.1f} s")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    return {"payload": payload_of(message_id)}


def run_baseline(args, media, sinks, kannel, push_keys, payload) -> dict:
    results = {}
    if "email" in media:
        t = time.monotonic()
        base = sinks["email"].count()
        addresses = [f"inwoner{i}@example.test" for i in range(args.emails)]
        asyncio.run(send_emails("127.0.0.1", sinks["email"].port, SENDER, addresses, payload))
        sinks["email"].wait_count(base + args.emails, 30)
        results["email"] = {
            "seconds": time.monotonic() - t,
            "arrived": sinks["email"].count() - base,
        }
    if "push" in media:
        t = time.monotonic()
        base = sinks["push"].count()
        keys = {"p256dh": push_keys["p256dh"], "auth": push_keys["auth"]}
        subs = [(f"{push_keys['push_base']}/push/{i}", keys) for i in range(args.pushes)]
        asyncio.run(send_pushes(subs, payload, push_keys["private"], CONTACT))
        sinks["push"].wait_count(base + args.pushes, 30)
        results["push"] = {"seconds": time.monotonic() - t, "arrived": sinks["push"].count() - base}
    if "sms" in media:
        t = time.monotonic()
        base = kannel.count()
        numbers = [f"+3247{i:07d}" for i in range(args.sms)]
        asyncio.run(
            send_sms(
                kannel.sendsms_url,
                Kannel.username,
                Kannel.password,
                "Politie",
                numbers,
                payload["text"],
            )
        )
        kannel.wait_count(base + args.sms, 60)
        results["sms"] = {"seconds": time.monotonic() - t, "arrived": kannel.count() - base}
    return results


def default_payload() -> dict:
    return {
        "title": "Brand in industriezone: houd ramen en deuren gesloten",
        "text": "Brand in industriezone: houd ramen en deuren gesloten. Meer info volgt.",
        "body_text": "Door een brand in de industriezone is er veel rook. Houd ramen en deuren "
        "gesloten en zet ventilatie uit. Meer info volgt.",
        "body_html": "<p>Door een brand in de industriezone is er veel rook. Houd ramen en deuren "
        "gesloten en zet ventilatie uit. Meer info volgt.</p>",
        "link": "https://police.example/nl/berichten/1",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--emails", type=int, default=100_000)
    parser.add_argument("--pushes", type=int, default=100_000)
    parser.add_argument("--sms", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (dropped first!)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--baseline-only", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="throwaway adapters (_dry.py)")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine in-process")
    args = parser.parse_args(argv)
    media = [m for m, n in (("email", args.emails), ("push", args.pushes), ("sms", args.sms)) if n]
    if not (args.baseline_only or args.dry_run):
        require_adapters(KINDS[m] for m in media)
    if "sms" in media and not Kannel.available():
        raise SystemExit("Kannel (bearerbox, smsbox, fakesmsc) is not installed: use --sms 0")
    tmp = Path(tempfile.mkdtemp(prefix="copps-fanout-"))
    public, private = new_vapid_keys()
    sinks: dict = {}
    kannel = None
    try:
        if "email" in media:
            sinks["email"] = Sink("smtp", tmp)
        if "push" in media:
            sinks["push"] = Sink("push", tmp)
        if "sms" in media:
            kannel = Kannel(tmp).start()
        push_keys = {
            "public": public,
            "private": private,
            "push_base": f"http://127.0.0.1:{sinks['push'].port}" if "push" in sinks else "",
            **browser_keys(),
        }
        copps: dict = {}
        payload = default_payload()
        if not args.baseline_only:
            copps = run_copps(args, media, sinks, kannel, push_keys, tmp)
            payload = {**payload, **{k: v for k, v in copps.pop("payload", {}).items() if v}}
            if args.profile:
                return 0
        log("[baseline] sending …")
        baseline = run_baseline(args, media, sinks, kannel, push_keys, payload)
    finally:
        for sink in sinks.values():
            sink.stop()
        if kannel:
            kannel.stop()
    counts = {"email": args.emails, "push": args.pushes, "sms": args.sms}
    print()
    print(f"fan-out on {args.database}, {args.workers} workers; logs in {tmp}")
    print(
        f"{'medium':<7} {'copies':>8} {'copps s':>8} {'copps/s':>9} {'arrived':>8} "
        f"{'base s':>7} {'base/s':>9} {'arrived':>8} {'ratio':>6}"
    )
    total = {"copps": 0.0, "base": 0.0}
    for medium in media:
        n = counts[medium]
        b = baseline[medium]
        b_rate = n / b["seconds"]
        total["base"] += b["seconds"]
        c = copps.get(medium)
        if c:
            c_rate = c["sent"] / c["seconds"]
            print(
                f"{medium:<7} {n:>8} {c['seconds']:>8.1f} {c_rate:>9.0f} {c.get('arrived', 0):>8} "
                f"{b['seconds']:>7.1f} {b_rate:>9.0f} {b['arrived']:>8} {c_rate / b_rate:>6.2f}"
            )
        else:
            print(
                f"{medium:<7} {n:>8} {'-':>8} {'-':>9} {'-':>8} {b['seconds']:>7.1f} {b_rate:>9.0f} {b['arrived']:>8}"
            )
    all_copies = sum(counts[m] for m in media)
    base_rate = all_copies / total["base"] if total["base"] else 0.0
    print(
        f"baseline overall: {all_copies} copies in {total['base']:.1f} s = {base_rate:.0f} msgs/s"
    )
    if copps and all(m in copps for m in media):
        # The media go out in parallel in copps: overall time is until the last one is final.
        copps_seconds = max(copps[m]["seconds"] for m in media)
        copps_rate = sum(copps[m]["sent"] for m in media) / copps_seconds
        print(
            f"copps overall: {all_copies} copies in {copps_seconds:.1f} s = {copps_rate:.0f} msgs/s"
        )
        if "email" in copps and args.emails >= 100_000:
            verdict = "OK" if copps["email"]["seconds"] <= 60 else "MISSED"
            print(
                f"100,000 e-mails in {copps['email']['seconds']:.1f} s (target <= 60 s): {verdict}"
            )
        print(f"fanout_ratio={copps_rate / base_rate:.2f}")
    else:
        print("fanout_ratio=nan")
    return 0


if __name__ == "__main__":
    sys.exit(main())
