"""Benchmark: 1,000 concurrent anonymous tip submissions, each with a photo, against PostgreSQL.

It creates a fresh PostgreSQL database (dropped and re-created: use a bench database), migrates,
starts the real web server (gunicorn serving copps.wsgi, several workers and threads, the access
log in copps' own format) with the per-client tip limits raised by environment, and then lets a
pool of threads act as citizens: each GETs /tips/new (CSRF cookie + signed challenge), solves the
proof-of-work like the page's script does, and POSTs a message with a small unique JPEG. Then it
checks in the database that every tip is stored with its attachment and that every stored
SHA-256 matches the bytes sent, and that the User-Agent the clients sent appears nowhere under
var/ (nor in a pg_dump, when pg_dump is installed).

    .venv/bin/python bench/tips.py [--n 1000] [--concurrency 50] [--pow-bits 10]
                                   [--workers 4] [--threads 8] [--url postgres://…/copps_bench_tips]

The last line is ``tips=1000 stored=1000 lost=0 p50_ms=.. p95_ms=..``; the exit status is 1 when
anything was lost or a hash differs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's copps

from _common import ROOT, log, prepare_database, setup_django  # noqa: E402

DEFAULT_URL = os.environ.get(
    "BENCH_TIPS_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/copps_bench_tips"
)
AGENT = "copps-bench-tips/1 (Distinctive-UA-b3nch)"
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def photo(i: int) -> bytes:
    """A small JPEG unique to submission ``i`` (a few kB)."""
    import random

    from PIL import Image

    noise = random.Random(i).randbytes(96 * 72 * 3)
    image = Image.frombytes("RGB", (96, 72), noise)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def solve(challenge: str, bits: int) -> str:
    nonce = 0
    while True:
        digest = hashlib.sha256(f"{challenge}{nonce}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(nonce)
        nonce += 1


def submit(base: str, i: int, data: bytes, bits: int) -> dict:
    """One citizen: fetch the form, do the work, post the tip. Returns timings and the code."""
    import httpx

    started = time.perf_counter()
    with httpx.Client(base_url=base, headers={"User-Agent": AGENT}, timeout=60) as client:
        form = client.get("/tips/new?lang=en")
        form.raise_for_status()
        fields = dict(HIDDEN.findall(form.text))
        if bits:
            fields["nonce"] = solve(fields["challenge"], bits)
        fields["message"] = f"Bench tip #{i}: a white van at the quay around 22:00."
        posted = time.perf_counter()
        response = client.post(
            "/tips/new",
            data=fields,
            files=[("attachments", (f"photo-{i}.jpg", data, "image/jpeg"))],
        )
        done = time.perf_counter()
    code = re.search(r'id="tip-code">([^<]+)<', response.text)
    return {
        "i": i,
        "status": response.status_code,
        "code": code.group(1) if code else None,
        "post": done - posted,
        "total": done - started,
    }


def start_server(env: dict, port: int, workers: int, threads: int, logdir: Path):
    from copps.runner import ACCESS_LOG_FORMAT

    access = open(logdir / "access.log", "wb")  # noqa: SIM115 — closed with the server
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "copps.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--access-logfile",
            "-",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
        ],
        env=env,
        cwd=ROOT,
        stdout=access,
        stderr=open(logdir / "server.log", "wb"),  # noqa: SIM115
    )
    import urllib.request

    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped; see {logdir / 'server.log'}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/tips/new", timeout=2)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def verify(photos: dict[int, bytes], codes: dict[int, str]) -> tuple[int, int, list[str]]:
    """(tips stored, attachments stored, problems) — read straight from the database."""
    from copps.inbox.models import Attachment
    from copps.investigations.models import Tip

    problems = []
    stored = 0
    tips = {t.code: t for t in Tip.objects.select_related("conversation")}
    attachments = 0
    by_entry: dict[int, list] = {}
    for attachment in Attachment.objects.select_related("entry"):
        by_entry.setdefault(attachment.entry.conversation_id, []).append(attachment)
        attachments += 1
    for i, data in photos.items():
        code = codes.get(i)
        tip = tips.get(code or "")
        if tip is None:
            problems.append(f"#{i}: no tip stored (code {code})")
            continue
        text = tip.conversation.entries.filter(direction="in").values_list("text", flat=True)
        if not any(f"Bench tip #{i}:" in t for t in text):
            problems.append(f"#{i}: stored text differs")
            continue
        files = by_entry.get(tip.conversation_id, [])
        if len(files) != 1:
            problems.append(f"#{i}: {len(files)} attachments")
            continue
        expected = hashlib.sha256(data).hexdigest()
        on_disk = hashlib.sha256(files[0].file.open("rb").read()).hexdigest()
        if files[0].sha256 != expected or on_disk != expected:
            problems.append(f"#{i}: hash differs")
            continue
        stored += 1
    return stored, attachments, problems


def traces(var_dir: Path, url: str) -> list[str]:
    """Where the clients' User-Agent or address shows up (it must nowhere)."""
    found = []
    for path in var_dir.rglob("*"):
        if path.is_file() and b"Distinctive-UA-b3nch" in path.read_bytes():
            found.append(str(path))
    if shutil.which("pg_dump"):
        dump = subprocess.run(["pg_dump", url], capture_output=True, check=False).stdout
        if b"Distinctive-UA-b3nch" in dump:
            found.append("pg_dump")
    log(
        "anonymity: User-Agent searched under var/"
        + (" and in pg_dump" if shutil.which("pg_dump") else "")
        + (f": FOUND in {found}" if found else ": not found")
    )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pow-bits", type=int, default=10, help="0: post without work")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (dropped, re-created)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="copps-bench-tips-"))
    log(f"database {args.url.rsplit('@', 1)[-1]} (fresh), var dir {tmp}")
    env = prepare_database("postgres", args.url, tmp)
    port = free_port()
    env.update(
        SITE_URL=f"http://127.0.0.1:{port}",
        COPPS_TIP_PER_SOURCE_PER_HOUR=str(args.n * 10),
        COPPS_TIP_NOWORK_PER_SOURCE_PER_HOUR=str(args.n * 10),
        COPPS_TIP_POW_BITS=str(args.pow_bits),
    )
    photos = {i: photo(i) for i in range(args.n)}
    log(f"{args.n} JPEGs ready ({sum(map(len, photos.values())) // args.n} bytes each on average)")
    server = start_server(env, port, args.workers, args.threads, tmp)
    base = f"http://127.0.0.1:{port}"
    results = []
    failures = []
    try:
        log(
            f"gunicorn {args.workers} workers x {args.threads} threads on {base}; "
            f"{args.n} submissions, {args.concurrency} at a time, proof-of-work {args.pow_bits} bits"
        )
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            futures = [pool.submit(submit, base, i, photos[i], args.pow_bits) for i in photos]
            for count, future in enumerate(as_completed(futures), start=1):
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 — counted as lost, reported below
                    failures.append(repr(error))
                    continue
                if result["status"] != 200 or not result["code"]:
                    failures.append(f"#{result['i']}: HTTP {result['status']}")
                else:
                    results.append(result)
                if count % 100 == 0 or count == args.n:
                    elapsed = time.perf_counter() - started
                    log(f"  {count}/{args.n} done, {len(failures)} failed, {count / elapsed:.0f}/s")
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(30)

    setup_django(env)
    codes = {r["i"]: r["code"] for r in results}
    stored, attachments, problems = verify(photos, codes)
    found = traces(tmp, args.url)
    posts = [r["post"] for r in results] or [0.0]
    totals = [r["total"] for r in results] or [0.0]
    for line in (failures + problems)[:10]:
        log(f"  problem: {line}")
    print(
        f"submissions: {args.n} in {wall:.1f} s = {args.n / wall:.1f} tips/s "
        f"(concurrency {args.concurrency}, gunicorn {args.workers}x{args.threads})"
    )
    print(
        f"POST /tips/new latency: p50 {statistics.median(posts) * 1000:.0f} ms, "
        f"p95 {pct(posts, 95) * 1000:.0f} ms, max {max(posts) * 1000:.0f} ms; "
        f"with GET form + work: p50 {statistics.median(totals) * 1000:.0f} ms, "
        f"p95 {pct(totals, 95) * 1000:.0f} ms"
    )
    print(f"attachments stored: {attachments}, hashes verified: {stored}, UA traces: {len(found)}")
    lost = args.n - stored
    print(
        f"tips={args.n} stored={stored} lost={lost} "
        f"p50_ms={statistics.median(posts) * 1000:.0f} p95_ms={pct(posts, 95) * 1000:.0f}"
    )
    bad = bool(lost or problems or found)
    if bad:
        log(f"kept for inspection: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
