"""copps listening_nats publish --source ID FILE | consume [--batch N] [--idle-exit S]"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from copps.listening import nats
from copps.listening.models import Source
from copps.listening.sources import importer, records


class Command(BaseCommand):
    help = (
        "Scale-out with NATS JetStream (COPPS_NATS_URL): publish a JSONL/CSV file of posts for "
        "a source to the stream, or run one consumer that ingests from it (run N of them)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        publish = sub.add_parser("publish", help="Publish a JSONL/CSV file's posts.")
        publish.add_argument("--source", type=int, required=True)
        publish.add_argument("--format", choices=["jsonl", "csv"], default="")
        publish.add_argument("file")
        consume = sub.add_parser("consume", help="Consume, ingest and acknowledge.")
        consume.add_argument("--batch", type=int, default=100)
        consume.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS")

    def handle(self, *args, action, **options):
        if not nats.enabled():
            raise CommandError("Set COPPS_NATS_URL (e.g. nats://127.0.0.1:4222).")
        if action == "publish":
            return self._publish(options["source"], options["file"], options["format"])
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        acked = nats.consume(
            batch=max(1, min(options["batch"], 1000)), stop=stop.is_set,
            idle_exit=options["idle_exit"],
        )  # fmt: skip
        self.stdout.write(f"acknowledged={acked}")

    def _publish(self, source_id: int, path: str, fmt: str) -> None:
        source = Source.objects.filter(pk=source_id).first()
        if source is None:
            raise CommandError(f"No source {source_id}.")
        path_ = Path(path)
        fmt = fmt or ("csv" if path_.suffix.lower() == ".csv" else "jsonl")
        items, bad = [], 0
        try:
            with path_.open("rb") as handle:
                for _number, record, _problem in (
                    importer._csv if fmt == "csv" else importer._jsonl
                )(handle):
                    if record is None:
                        bad += 1
                        continue
                    try:
                        items.append(records.to_incoming(record))
                    except records.BadRecord:
                        bad += 1
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        sent = nats.publish(source, items)
        self.stdout.write(f"published={sent} skipped={bad}")
