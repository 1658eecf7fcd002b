"""copps listening_run [--source ID] [--once] | --import FILE --source ID | --webhook-token --source ID"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from copps.listening import runner
from copps.listening.models import Source, SourceKind
from copps.listening.sources import importer, webhook


class Command(BaseCommand):
    help = (
        "Run listening sources: streaming ones (Bluesky Jetstream, Mastodon streaming) stay "
        "connected, polling ones are polled; or import a JSONL/CSV file; or make a webhook token."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", type=int, action="append", help="Source id (repeatable).")
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument("--import", dest="import_file", metavar="FILE")
        parser.add_argument("--format", choices=["jsonl", "csv"], default="")
        parser.add_argument("--webhook-token", action="store_true")

    def handle(self, *args, source=None, once=False, import_file=None, **options):
        ids = source or []
        if import_file or options["webhook_token"]:
            if len(ids) != 1:
                raise CommandError("Name exactly one source with --source.")
            target = Source.objects.filter(pk=ids[0]).first()
            if target is None:
                raise CommandError(f"No source {ids[0]}.")
            if options["webhook_token"]:
                return self._token(target)
            return self._import(target, import_file, options["format"])
        sources = list(Source.objects.filter(enabled=True).order_by("pk"))
        if ids:
            sources = [s for s in sources if s.pk in ids]
            missing = set(ids) - {s.pk for s in sources}
            if missing:
                raise CommandError(f"No enabled source {sorted(missing)}.")
        stop = threading.Event()
        if not once:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        runner.run(sources, stop=stop, once=once)
        for src in Source.objects.filter(pk__in=[s.pk for s in sources]):
            state = f"error: {src.last_error}" if src.last_error else "ok"
            self.stdout.write(
                f"source {src.pk} ({src.kind}): received={src.received} "
                f"skipped={src.skipped} {state}"
            )

    def _token(self, target: Source) -> None:
        if target.kind != SourceKind.WEBHOOK:
            raise CommandError("Only webhook sources have a token.")
        token = webhook.new_token(target)
        self.stdout.write(f"POST /hooks/listening/{target.pk}/{token}")

    def _import(self, target: Source, path: str, fmt: str) -> None:
        try:
            report = importer.import_file(target, path, fmt=fmt)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        for line, message in report.errors:
            self.stderr.write(f"line {line}: {message}")
        self.stdout.write(f"read={report.read} stored={report.stored} skipped={report.skipped}")
