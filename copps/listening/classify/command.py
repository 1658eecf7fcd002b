"""`copps listening classify --input IN --output OUT`: JSON lines {"id", "text"} in,
{"id", "lang", "sentiment"} out, in the same order. A bad line is reported on stderr with its
line number and left out; the others are still written, and the command then fails (exit 1)."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from django.core.management.base import CommandError, CommandParser

HELP = "classify JSON lines {id, text} into {id, lang, sentiment}"


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--input", required=True, help="JSON-lines file, or - for stdin")
    parser.add_argument("--output", required=True, help="JSON-lines file, or - for stdout")
    parser.add_argument("--emotion", action="store_true", help="also write the emotion")


def _open(path: str, mode: str) -> IO[str]:
    if path == "-":
        return sys.stdin if "r" in mode else sys.stdout
    try:
        return open(path, mode, encoding="utf-8", errors="replace", newline="\n")  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"cannot open {path}: {exc.strerror}") from None


def _parse(line: str) -> tuple[Any, str]:
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})") from None
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    if "id" not in item:
        raise ValueError('no "id"')
    text = item.get("text")
    if not isinstance(text, str):
        raise ValueError('"text" missing or not a string')
    return item["id"], text


def handle(options: dict[str, Any], stderr: IO[str]) -> None:
    from copps.listening.classify import analyse

    errors = 0
    src = _open(options["input"], "r")
    dst = _open(options["output"], "w")
    try:
        for number, line in enumerate(src, start=1):
            if not line.strip():
                continue
            try:
                ident, text = _parse(line)
            except ValueError as exc:
                errors += 1
                stderr.write(f"line {number}: {exc}\n")
                continue
            result = analyse(text)
            out: dict[str, Any] = {"id": ident, "lang": result.lang, "sentiment": result.sentiment}
            if options.get("emotion"):
                out["emotion"] = result.emotion
            dst.write(json.dumps(out) + "\n")
    finally:
        if src is not sys.stdin:
            src.close()
        if dst is not sys.stdout:
            dst.close()
    if errors:
        raise CommandError(f"{errors} bad line(s) left out", returncode=1)
