"""`copps redact --input IN --output OUT`: the blotter's redactor on a JSON-lines file.

One ``{"id": …, "text": …}`` object per input line; the same objects with the text redacted come
out, one line per input line, in order (other keys are kept). A line that is not such an object
gives an error on stderr with its line number and no output line; the good lines are all
written, and the command then ends with exit code 1. ``--flags`` adds ``"unsure"`` and
``"reasons"`` to each object. ``--warm`` only loads (on a new install:
builds) deduce's lookup cache, for deployment scripts.
"""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = 'Redact personal data from the texts of a JSON-lines file ({"id", "text"} per line).'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", help="JSON lines in (- for stdin)")
        parser.add_argument("--output", help="JSON lines out (- for stdout)")
        parser.add_argument("--language", default="", help="nl, fr, de or en (default: detect)")
        parser.add_argument(
            "--flags", action="store_true", help='add "unsure" and "reasons" to each object'
        )
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
        parser.add_argument(
            "--warm", action="store_true", help="only load deduce (builds its cache once)"
        )

    def handle(self, *args, **options) -> None:
        from copps.blotter.redact import redact, warm

        if options["warm"]:
            started = time.monotonic()
            if not warm():
                raise CommandError("deduce could not be loaded")
            self.stdout.write(f"deduce ready in {time.monotonic() - started:.1f} s")
            return
        if not options["input"] or not options["output"]:
            raise CommandError("--input and --output are required")
        stderr = sys.stderr
        try:
            source = (
                sys.stdin
                if options["input"] == "-"
                else open(options["input"], encoding="utf-8", errors="replace")  # noqa: SIM115
            )
        except OSError as exc:
            raise CommandError(f"cannot read {options['input']}: {exc.strerror}") from None
        try:
            target = (
                sys.stdout
                if options["output"] == "-"
                else open(options["output"], "w", encoding="utf-8")  # noqa: SIM115
            )
        except OSError as exc:
            raise CommandError(f"cannot write {options['output']}: {exc.strerror}") from None
        warm()  # load deduce before the clock starts (a failure makes every text unsure)
        errors = done = 0
        started = last = time.monotonic()
        language = options["language"] or None
        try:
            for number, line in enumerate(source, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    if not isinstance(item, dict) or "id" not in item:
                        raise ValueError("not an object with an id")
                    text = item.get("text")
                    if not isinstance(text, str):
                        raise ValueError("text missing or not a string")
                except ValueError as exc:  # json.JSONDecodeError is a ValueError
                    errors += 1
                    stderr.write(f"line {number}: {exc}\n")
                    continue
                result = redact(text, item.get("language") or language)
                item["text"] = result.text
                if options["flags"]:
                    item["unsure"], item["reasons"] = result.unsure, result.reasons
                try:
                    # NaN/Infinity (or 1e400) are no JSON to write back; lone surrogates
                    # ("\ud800") no UTF-8: an error for this line, not a crash of the file.
                    out = json.dumps(item, ensure_ascii=False, allow_nan=False)
                    out.encode("utf-8")
                except ValueError:  # UnicodeEncodeError is a ValueError
                    errors += 1
                    stderr.write(f"line {number}: a value cannot be written as JSON\n")
                    continue
                target.write(out + "\n")
                done += 1
                now = time.monotonic()
                if not options["quiet"] and now - last >= 5:
                    last = now
                    stderr.write(f"… {done} texts redacted ({done / (now - started):.0f}/s)\n")
                    stderr.flush()
        finally:
            if source is not sys.stdin:
                source.close()
            if target is not sys.stdout:
                target.close()
        if errors:
            raise CommandError(f"{done} texts redacted, {errors} bad lines")
        if not options["quiet"]:
            stderr.write(f"{done} texts redacted\n")
