"""`copps blotter import FILE` (CSV with the documented header, or JSON lines) and
`copps blotter publish` (publish what is due now, as the worker does every tick)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Import incidents into the police blotter, or publish what is due."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import a CSV or JSON-lines file of incidents")
        imp.add_argument("file", help="the file (CSV with a header row, or .jsonl)")
        imp.add_argument("--format", choices=["csv", "jsonl"], default="")
        imp.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.add_parser("publish", help="publish the entries whose delay has passed")

    def handle(self, *args, **options) -> None:
        if options["action"] == "publish":
            from copps.blotter.publish import publish_due

            self.stdout.write(f"{publish_due()} entries published or taken down")
            return
        self._import(options)

    def _import(self, options) -> None:
        from copps.blotter.importer import Result, import_rows, rows_from_file

        path = Path(options["file"])
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        result = Result()
        rows = list(rows_from_file(raw, path.name, result, options["format"]))
        total = len(rows)
        show = not options["quiet"] and total > 0

        def progress(done: int) -> None:
            if not show:
                return
            width = 30
            filled = int(width * done / total) if total else width
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows")
            sys.stderr.flush()

        import_rows(rows, result=result, actor="import", progress=progress)
        if show:
            sys.stderr.write("\n")
        for note in result.notes:
            self.stdout.write(f"note: {note}")
        for line, error in result.errors[:50]:
            self.stdout.write(f"line {line}: {error}")
        if len(result.errors) > 50:
            self.stdout.write(f"… and {len(result.errors) - 50} more errors")
        self.stdout.write(
            f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
            f"{len(result.errors)} errors"
        )
        if result.errors and not result.accepted:
            raise CommandError("no row could be imported")
