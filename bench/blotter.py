"""Benchmark: the police blotter — import 100,000 incidents, apply the policy, publish, redact.

It writes N synthetic incidents (mixed categories: public, sensitive, unknown, some withdrawn;
Belgian municipalities from copps.blotter.gazetteer; summaries with planted personal data) to a
temporary CSV, then against a fresh database (a temporary SQLite file; PostgreSQL when
DATABASE_URL is given — a database named ``<name>_blotter_bench`` is created and dropped) it
measures, separately:

- import+policy: ``importer.import_rows`` over the parsed file (validation, content hash,
  policy decision, upsert) — incidents/s; parsing the file is timed on its own;
- re-import of the same file (everything unchanged) — incidents/s;
- publication: ``publish.publish_due`` until nothing is due (generalisation + redaction + entry
  rows) — incidents/s;
- redaction alone: ``redact.redact`` over every summary — texts/s;
- baseline, same run: a naive one-row-at-a-time loop (look up by incident_id, decide, save())
  over ``--naive`` rows, and the ratio import/naive.

    .venv/bin/python bench/blotter.py [--n 100000] [--naive 5000] [--seed 1]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/copps .venv/bin/python bench/blotter.py

Target: >= 2,000 incidents/s for import+policy. The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, log, prepare_database, setup_django  # noqa: E402

PUBLIC = ["theft", "burglary", "vandalism", "traffic", "noise"]
SENSITIVE = ["sexual_offence", "domestic_violence", "suicide", "minor"]
UNKNOWN = ["drugs", "fraud", "public_order", "animal", "fire_assist"]
LABELS = {
    "theft": "Diefstal",
    "burglary": "Inbraak",
    "vandalism": "Vandalisme",
    "traffic": "Verkeersongeval",
    "noise": "Geluidsoverlast",
}
STREETS = [
    "Kerkstraat",
    "Stationsstraat",
    "Dorpsstraat",
    "Rue de la Gare",
    "Grote Markt",
    "Lindelaan",
]
FIRST = ["Jan", "Marie", "Pieter", "Sophie", "Mohamed", "Els", "Luc", "Nathalie"]
LAST = ["Peeters", "Janssens", "Maes", "Dubois", "Lambert", "Claes", "Martin", "Willems"]
PLAIN = [
    "Fiets gestolen aan het station, slot doorgeknipt.",
    "Inbraak via achterdeur, juwelen meegenomen.",
    "Graffiti op de gevel van het gemeentehuis.",
    "Aanrijding tussen twee wagens, enkel materiële schade.",
    "Luide muziek na middernacht, buren klagen.",
    "Vol à l'étalage dans un supermarché.",
    "Cambriolage d'une habitation, porte fracturée.",
    "Rétroviseurs arrachés sur plusieurs voitures.",
]


def personal(rng: random.Random) -> str:
    """A summary with planted personal data (names, phones, e-mails, plates, addresses, ages)."""
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return rng.choice(
        [
            f"Melder mevrouw {rng.choice(LAST)}, bereikbaar op 0470 {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)} {rng.randint(10, 99)}.",
            f"Verdachte voertuig 1-ABC-{rng.randint(100, 999)} reed weg richting centrum.",
            f"Slachtoffer {name} ({rng.randint(20, 80)} jaar) woont in de Kerkstraat "
            f"{rng.randint(1, 200)}.",
            f"Contact: {name.split()[0].lower()}.{rng.choice(LAST).lower()}@example.be",
            f"Monsieur {rng.choice(LAST)} signale un vol, tél. 02 {rng.randint(100, 999)} "
            f"{rng.randint(10, 99)} {rng.randint(10, 99)}.",
        ]
    )


def generate(path: Path, n: int, seed: int, municipalities: list[str]) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    header = (
        "incident_id,reported_at,category_code,category,summary,street,house_number,postcode,"
        "municipality,lat,lon,status,unit"
    ).split(",")
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for i in range(n):
            roll = rng.random()
            if roll < 0.75:
                code = rng.choice(PUBLIC)
            elif roll < 0.85:
                code = rng.choice(SENSITIVE)
            else:
                code = rng.choice(UNKNOWN)
            summary = personal(rng) if rng.random() < 0.3 else rng.choice(PLAIN)
            # Mostly older than the 12-hour delay, so most public incidents are due.
            reported = now - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
            with_point = rng.random() < 0.5
            out.writerow(
                [
                    f"BENCH-{i:07d}",
                    reported.isoformat(timespec="seconds"),
                    code,
                    LABELS.get(code, code.replace("_", " ")),
                    summary,
                    rng.choice(STREETS),
                    str(rng.randint(1, 250)),
                    str(rng.randint(1000, 9999)),
                    rng.choice(municipalities),
                    f"{rng.uniform(50.5, 51.3):.5f}" if with_point else "",
                    f"{rng.uniform(3.5, 5.5):.5f}" if with_point else "",
                    "withdrawn" if rng.random() < 0.03 else "open",
                    f"PZ {rng.randint(5340, 5460)}",
                ]
            )


class Bar:
    def __init__(self, label: str, total: int):
        self.label, self.total, self.start = label, max(total, 1), time.perf_counter()

    def __call__(self, done: int) -> None:
        width = 30
        filled = min(width, int(width * done / self.total))
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        sys.stderr.write(
            f"\r{self.label:<10} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{self.total} ({rate:,.0f}/s)"
        )
        sys.stderr.flush()

    def end(self) -> None:
        sys.stderr.write("\n")


def naive_import(rows, policy) -> int:
    """The baseline: every row on its own — look up, decide, save() in autocommit."""
    from copps.blotter import importer
    from copps.blotter import policy as policies
    from copps.blotter.models import Incident

    done = 0
    for _line, row in rows:
        try:
            data = importer.clean_row(row)
        except importer.RowError:
            continue
        data["incident_id"] = "NAIVE-" + data["incident_id"]
        digest = importer.content_hash(data)
        incident = Incident.objects.filter(incident_id=data["incident_id"]).first()
        if incident is not None and incident.content_hash == digest:
            continue
        incident = incident or Incident(incident_id=data["incident_id"])
        for key, value in data.items():
            setattr(incident, key, value)
        incident.content_hash = digest
        incident.decision, incident.publish_after = policies.decide(incident, policy)
        incident.save()
        done += 1
    return done


def postgres_env(url: str) -> tuple[str, str]:
    """(the bench database's URL, its name) next to the one DATABASE_URL names."""
    base, _slash, rest = url.rpartition("/")
    name, _q, query = rest.partition("?")
    bench = f"{name or 'copps'}_blotter_bench"
    return f"{base}/{bench}" + (f"?{query}" if query else ""), bench


def drop_postgres(url: str, name: str) -> None:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(
        ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
        check=False,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="incidents to import")
    parser.add_argument("--naive", type=int, default=5000, help="rows for the naive baseline")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="copps-bench-blotter-") as tmpdir:
        tmp = Path(tmpdir)
        pg_name = ""
        if database_url:
            url, pg_name = postgres_env(database_url)
            log(f"database: PostgreSQL {pg_name} (created for this run, dropped after)")
            env = prepare_database("postgres", url, tmp)
        else:
            log(f"database: SQLite {tmp / 'copps.sqlite3'}")
            env = prepare_database("sqlite", None, tmp)
        try:
            run(args, env, tmp)
        finally:
            if pg_name:
                from django.db import connections

                connections.close_all()
                drop_postgres(url, pg_name)


def run(args, env: dict, tmp: Path) -> None:
    setup_django(env)
    from django.db import connection
    from django.utils import timezone

    from copps.blotter import gazetteer, importer, publish
    from copps.blotter import policy as policies
    from copps.blotter.models import Decision, Entry, EntryState, Incident
    from copps.blotter.redact import redact

    municipalities = sorted(m.name for m in gazetteer._index()[0].values())
    path = tmp / "incidents.csv"
    started = time.perf_counter()
    generate(path, args.n, args.seed, municipalities)
    log(
        f"generated {args.n:,} incidents ({path.stat().st_size / 1e6:.1f} MB, "
        f"{len(municipalities)} municipalities) in {time.perf_counter() - started:.1f} s"
    )

    raw = path.read_bytes()
    started = time.perf_counter()
    result = importer.Result()
    rows = list(importer.rows_from_file(raw, path.name, result))
    parse_s = time.perf_counter() - started
    policies.current()  # the default policy exists before the clock starts

    bar = Bar("import", len(rows))
    started = time.perf_counter()
    importer.import_rows(rows, result=result, actor="bench", progress=bar)
    import_s = time.perf_counter() - started
    bar.end()
    if result.errors:
        log(f"unexpected errors: {result.errors[:5]}")
    import_per_s = len(rows) / import_s

    bar = Bar("re-import", len(rows))
    started = time.perf_counter()
    again = importer.import_rows(rows, actor="bench", progress=bar)
    reimport_s = time.perf_counter() - started
    bar.end()
    assert again.unchanged == result.accepted, (again.unchanged, result.accepted)

    decisions = dict(
        Incident.objects.values("decision")
        .order_by()
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk"))
        .values_list("decision", "n")
    )
    due = Incident.objects.filter(
        decision=Decision.WAITING, publish_after__lte=timezone.now()
    ).count()
    bar = Bar("publish", due)
    started = time.perf_counter()
    processed = 0
    now = timezone.now()
    while True:
        step = publish.publish_due(now, limit=5000)
        if not step:
            break
        processed += step
        bar(min(processed, due))
    publish_s = time.perf_counter() - started
    bar.end()
    published = Entry.objects.filter(state=EntryState.PUBLISHED).count()
    review = Entry.objects.filter(state=EntryState.REVIEW).count()
    publish_per_s = due / publish_s if publish_s else 0.0

    texts = [row["summary"] for _line, row in rows if isinstance(row, dict)]
    started = time.perf_counter()
    for text in texts:
        redact(text)
    redact_s = time.perf_counter() - started
    redact_per_s = len(texts) / redact_s

    sample = rows[: args.naive]
    policy = policies.current()
    bar = Bar("naive", len(sample))
    started = time.perf_counter()
    naive_done = 0
    for start in range(0, len(sample), 500):
        naive_done += naive_import(sample[start : start + 500], policy)
        bar(start + 500)
    naive_s = time.perf_counter() - started
    bar.end()
    naive_per_s = len(sample) / naive_s

    engine = connection.vendor
    print(f"database: {engine}")
    print(
        f"incidents: {len(rows):,} ({', '.join(f'{k} {v:,}' for k, v in sorted(decisions.items()))})"
    )
    print(f"parse CSV: {parse_s:.2f} s ({len(rows) / parse_s:,.0f} rows/s)")
    print(f"import+policy: {import_s:.2f} s -> {import_per_s:,.0f} incidents/s (target >= 2,000)")
    print(f"re-import (unchanged): {reimport_s:.2f} s -> {len(rows) / reimport_s:,.0f} incidents/s")
    print(
        f"publication: {due:,} due in {publish_s:.2f} s -> {publish_per_s:,.0f} incidents/s "
        f"({published:,} published, {review:,} to review)"
    )
    print(f"redaction alone: {len(texts):,} texts in {redact_s:.2f} s -> {redact_per_s:,.0f}/s")
    print(
        f"naive baseline (one row at a time, save()): {len(sample):,} rows in {naive_s:.2f} s "
        f"-> {naive_per_s:,.0f} incidents/s (scaled to {len(rows):,}: {len(rows) / naive_per_s:.0f} s)"
    )
    print(
        f"import_per_s={import_per_s:.0f} publish_per_s={publish_per_s:.0f} "
        f"redact_per_s={redact_per_s:.0f} vs_naive={import_per_s / naive_per_s:.1f}"
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
