"""Importing incidents from the dispatch/records system: CSV or JSON lines, idempotent.

Schema (CSV header or JSON keys): ``incident_id, reported_at, category_code, category, summary,
street, house_number, postcode, municipality, lat, lon, status, unit`` — ``lat``/``lon``
optional. ``reported_at`` is ISO 8601 (a time without offset is Belgian local time).

Each row is validated on its own: a bad row is reported with its line number and skipped, the
good ones are stored. Rows are upserted on ``incident_id``; a row whose content did not change
is left alone (re-importing a file changes nothing). A changed row (reclassified, withdrawn) is
re-decided and its public entry updated or removed by ``copps.blotter.publish``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from copps.audit import log as audit

from . import policy as policies
from .models import Decision, Incident

FIELDS = (
    "incident_id",
    "reported_at",
    "category_code",
    "category",
    "summary",
    "street",
    "house_number",
    "postcode",
    "municipality",
    "lat",
    "lon",
    "status",
    "unit",
)
REQUIRED = ("incident_id", "reported_at", "category_code")
OPTIONAL = ("lat", "lon")
LIMITS = {
    "incident_id": 100,
    "category_code": 60,
    "category": 200,
    "summary": 5000,
    "street": 200,
    "house_number": 20,
    "postcode": 10,
    "municipality": 120,
    "status": 40,
    "unit": 60,
}
# Belgium with a margin (lat, lon).
BELGIUM = ((49.45, 51.55), (2.50, 6.45))
CODE_RE = re.compile(r"^[a-z0-9_]{1,60}$")
BATCH = 1000


class RowError(ValueError):
    pass


@dataclass
class Result:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [{"line": line, "error": error} for line, error in self.errors],
            "notes": self.notes,
        }


def _text(row: dict, name: str) -> str:
    value = row.get(name)
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise RowError(f"{name}: must be text")
    if isinstance(value, float) and not math.isfinite(value):
        raise RowError(f"{name}: must be text")
    text = str(value).replace("\x00", "").strip()
    limit = LIMITS.get(name, 5000)
    if len(text) > limit:
        raise RowError(f"{name}: longer than {limit} characters")
    try:
        # Lone surrogates ("\ud800" in JSON) cannot be stored nor hashed.
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RowError(f"{name}: not valid text") from None
    return text


def _coordinate(row: dict, name: str) -> float | None:
    value = row.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise RowError(f"{name}: not a number") from None
    if not math.isfinite(number):
        raise RowError(f"{name}: not a number")
    return number


def _moment(value: str) -> datetime:
    text = value.strip()
    moment = None
    try:
        moment = parse_datetime(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        moment = None
    if moment is None:
        raise RowError(f"reported_at: not an ISO 8601 date and time: {text[:40]!r}")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment.year < 2000 or moment > timezone.now() + timedelta(days=1):
        raise RowError("reported_at: out of range")
    return moment


def clean_row(row: Any) -> dict:
    """The validated fields of one row, or RowError."""
    if not isinstance(row, dict):
        raise RowError("not an object")
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise RowError(f"unknown field(s): {', '.join(str(u)[:30] for u in unknown[:5])}")
    data: dict[str, Any] = {name: _text(row, name) for name in LIMITS}
    for name in REQUIRED:
        if not (data.get(name) if name != "reported_at" else _text(row, "reported_at")):
            raise RowError(f"{name}: required")
    if not CODE_RE.match(data["category_code"]):
        raise RowError("category_code: lowercase letters, digits and _ only")
    data["reported_at"] = _moment(_text(row, "reported_at"))
    lat, lon = _coordinate(row, "lat"), _coordinate(row, "lon")
    if (lat is None) != (lon is None):
        raise RowError("lat and lon: give both or neither")
    if lat is not None and lon is not None:
        (lat_min, lat_max), (lon_min, lon_max) = BELGIUM
        if not (lat_min <= lat <= lat_max and lon_min <= lon <= lon_max):
            raise RowError("lat/lon: outside Belgium")
    data["lat"], data["lon"] = lat, lon
    return data


def content_hash(data: dict) -> str:
    # Moments in UTC: "10:00" (Belgian time), "10:00+01:00" and "09:00Z" are the same report.
    canonical = json.dumps(
        {
            k: (v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v)
            for k, v in sorted(data.items())
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# Reading files -----------------------------------------------------------------------------


def decode(raw: bytes, result: Result) -> str:
    """UTF-8 (with or without BOM); else Windows-1252, said in the result's notes."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.notes.append("the file is not UTF-8: read as Windows-1252")
        return raw.decode("cp1252", errors="replace")


def csv_rows(text: str, result: Result) -> Iterator[tuple[int, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        result.errors.append((1, "empty file or unreadable header"))
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        result.errors.append((1, f"header: missing column(s) {', '.join(missing)}"))
        return
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:  # which of the two would be meant? (the last one silently won)
        result.errors.append((1, f"header: column(s) named twice: {', '.join(twice[:10])}"))
        return
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        result.notes.append(f"ignored column(s): {', '.join(unknown[:10])}")
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield reader.line_num, RowError(f"malformed CSV: {error}")
            continue
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield (
                reader.line_num,
                RowError(f"{len(values)} fields where the header has {len(header)}"),
            )
            continue
        yield reader.line_num, {h: v for h, v in zip(header, values, strict=True) if h in FIELDS}


def jsonl_rows(text: str) -> Iterator[tuple[int, Any]]:
    # Lines end at "\n" only: str.splitlines() also splits at U+2028, U+0085 and others, which
    # JSON allows unescaped inside a string (a valid row would be cut in two).
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError:
            yield number, RowError("not valid JSON")


def rows_from_file(
    raw: bytes, name: str, result: Result, fmt: str = ""
) -> Iterator[tuple[int, Any]]:
    text = decode(raw, result)
    fmt = fmt or ("jsonl" if name.lower().endswith((".jsonl", ".json", ".ndjson")) else "")
    if not fmt:
        fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
    return jsonl_rows(text) if fmt == "jsonl" else csv_rows(text, result)


# Storing -----------------------------------------------------------------------------------


def import_rows(
    rows: Iterable[tuple[int, Any]],
    *,
    result: Result | None = None,
    actor: Any = "import",
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Validate and upsert rows given as (line number, row or RowError)."""
    result = result or Result()
    policy = policies.current()
    seen: set[str] = set()
    batch: dict[str, tuple[int, dict]] = {}
    done = 0
    for line, row in rows:
        done += 1
        try:
            if isinstance(row, RowError):
                raise row
            data = clean_row(row)
        except RowError as error:
            result.errors.append((line, str(error)))
            continue
        if data["incident_id"] in seen:
            result.errors.append(
                (line, f"incident_id {data['incident_id']!r} repeated in this import")
            )
            continue
        seen.add(data["incident_id"])
        batch[data["incident_id"]] = (line, data)
        if len(batch) >= BATCH:
            _store(batch, policy, result)
            batch = {}
            if progress:
                progress(done)
    if batch:
        _store(batch, policy, result)
    if progress:
        progress(done)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="blotter.import",
            object_type="blotter.incident",
            data={
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "errors": len(result.errors),
            },
        )
    return result


def _store(batch: dict[str, tuple[int, dict]], policy, result: Result) -> None:
    now = timezone.now()
    with transaction.atomic():
        existing = {
            i.incident_id: i
            for i in Incident.objects.filter(incident_id__in=list(batch)).only(
                "pk", "incident_id", "content_hash", "decision"
            )
        }
        new, changed = [], []
        for incident_id, (_line, data) in batch.items():
            digest = content_hash(data)
            current = existing.get(incident_id)
            if current is not None and current.content_hash == digest:
                result.unchanged += 1
                continue
            incident = Incident(**data, content_hash=digest, updated_at=now)
            if current is not None:
                incident.decision = current.decision  # decide() keeps a reviewer's rejection
            decision, after = policies.decide(incident, policy)
            incident.decision, incident.publish_after = decision, after
            if current is None:
                incident.imported_at = now
                new.append(incident)
            else:
                incident.pk = current.pk
                # Already public and still allowed: stays published until publish re-renders it.
                if current.decision == Decision.PUBLISHED and decision == Decision.WAITING:
                    incident.decision = Decision.WAITING
                changed.append(incident)
        if new:
            _insert(new)
            result.created += len(new)
        if changed:
            Incident.objects.bulk_update(
                changed,
                [*FIELDS[1:], "content_hash", "decision", "publish_after", "updated_at"],
                batch_size=BATCH,
            )
            result.updated += len(changed)


def _insert(incidents: list[Incident]) -> None:
    bulk_insert(Incident, incidents)


# Plain values the database driver takes as they are; other fields prepare theirs.
_PLAIN = frozenset(
    {"CharField", "TextField", "FloatField", "IntegerField", "PositiveIntegerField"}
    | {"BigIntegerField", "BooleanField", "ForeignKey", "OneToOneField"}
)


def bulk_insert(model, objects: list) -> None:
    """``bulk_create`` without the ORM's per-value SQL compilation, the import's hot spot (about
    half its time in a profile): one ``executemany`` of plain values, the others (date-times,
    JSON) prepared by their field for this database. For models without save() hooks or signals
    (Incident, Entry); primary keys are not set on the objects."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    # Names from the model (quoted), values as parameters.
    table, columns = quote(model._meta.db_table), ", ".join(quote(str(f.column)) for f in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    moments = {f.attname for f in fields if f.get_internal_type() == "DateTimeField"}
    plain = {f.attname for f in fields if f.get_internal_type() in _PLAIN}
    prepared: dict[Any, Any] = {}  # one import's imported_at/updated_at are one value

    def value(field, obj) -> Any:
        raw = getattr(obj, field.attname)
        if raw is None or field.attname in plain:
            return raw
        if field.attname in moments:
            key = (field.attname, raw)
            if key not in prepared:
                prepared[key] = field.get_db_prep_save(raw, connection)
            return prepared[key]
        return field.get_db_prep_save(raw, connection)

    params = [[value(f, obj) for f in fields] for obj in objects]
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])
