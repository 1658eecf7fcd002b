"""Benchmark: approve -> visible on the permalink and in /feeds/news.xml.

For each database (SQLite, PostgreSQL) it starts the real web server (gunicorn) on loopback with a
fresh database, prepares N submitted messages, then for each one: POST /api/v1/messages/{id}/approve
and poll until the permalink answers 200 with the title and the RSS feed lists it. It prints p50/p95
of that latency, and in the same run a baseline: fetching an already published permalink and the
feed (the floor any publication pays), with the ratio between the two.

    .venv/bin/python bench/publish_latency.py [--n 200] [--db sqlite|postgres|both]

Target: p95 <= 1 s.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/copps_bench")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def http(method, url, token=None, body=None):
    req = urllib.request.Request(
        url, method=method, data=json.dumps(body).encode() if body else None
    )
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def prepare(env, n):
    """Migrate and create users, a token and n submitted messages; returns (token, [(id, title)])."""
    code = f"""
import json
from copps.accounts.models import ApiToken, User
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput
a = User.objects.create(username='bench-author', role='communicator')
e = User.objects.create(username='bench-editor', role='editor')
_, token = ApiToken.issue(e)
out = []
for i in range({n} + 1):
    title = f'Benchbericht {{i}} over verkeer'
    m, _ = actions.create_message(by=a, versions=[VersionInput('nl', title, 'Tekst van bericht ' + str(i))])
    actions.submit_message(m, by=a)
    out.append((m.pk, title))
print(json.dumps({{'token': token, 'messages': out}}))
"""
    copps = str(Path(sys.executable).parent / "copps")
    subprocess.run([copps, "migrate", "-v0"], env=env, check=True)
    result = subprocess.run(
        [copps, "shell", "-c", code], env=env, check=True, capture_output=True, text=True
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["token"], data["messages"]


def run(db: str, n: int) -> dict:
    tmp = tempfile.mkdtemp(prefix=f"copps-bench-{db}-")
    port = free_port()
    env = {
        **os.environ,
        "COPPS_VAR_DIR": tmp,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
    }
    env.pop("DATABASE_URL", None)
    if db == "postgres":
        env["DATABASE_URL"] = PG_URL
        dbname = PG_URL.rsplit("/", 1)[1]
        admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {dbname}"], check=True)
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {dbname}"], check=True)
    print(f"[{db}] preparing {n} submitted messages …", flush=True)
    token, messages = prepare(env, n)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "copps.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/feeds/news.xml", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        # Baseline: the first message, published up front, fetched as a reader would.
        first_id, first_title = messages[0]
        status, body = http("POST", f"{base}/api/v1/messages/{first_id}/approve", token)
        assert status == 200, (status, body)
        permalink = json.loads(body)["permalink"]
        baseline = []
        for _ in range(n):
            t0 = time.perf_counter()
            s1, page = http("GET", permalink)
            s2, feed = http("GET", base + "/feeds/news.xml")
            assert s1 == 200 and first_title in page and first_title in feed
            baseline.append(time.perf_counter() - t0)
        latencies = []
        for i, (mid, title) in enumerate(messages[1:], start=1):
            t0 = time.perf_counter()
            status, body = http("POST", f"{base}/api/v1/messages/{mid}/approve", token)
            assert status == 200, (status, body)
            link = json.loads(body)["permalink"]
            while True:
                s1, page = http("GET", link)
                s2, feed = http("GET", base + "/feeds/news.xml")
                if s1 == 200 and title in page and s2 == 200 and title in feed:
                    break
                if time.perf_counter() - t0 > 30:
                    raise SystemExit(f"message {mid} not visible after 30 s")
                time.sleep(0.01)
            latencies.append(time.perf_counter() - t0)
            if i % 20 == 0 or i == n:
                print(f"[{db}] {i}/{n} published", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    return {
        "db": db,
        "n": n,
        "p50": statistics.median(latencies),
        "p95": pct(latencies, 95),
        "max": max(latencies),
        "baseline_p50": statistics.median(baseline),
        "baseline_p95": pct(baseline, 95),
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = [run(db, args.n) for db in dbs]
    print()
    print(
        f"{'database':<10} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'base p50':>9} {'base p95':>9} {'ratio p95':>9}  target p95<=1000 ms"
    )
    for r in results:
        ratio = r["p95"] / r["baseline_p95"] if r["baseline_p95"] else float("nan")
        verdict = "OK" if r["p95"] <= 1.0 else "MISSED"
        print(
            f"{r['db']:<10} {r['n']:>5} {r['p50'] * 1000:>8.1f} {r['p95'] * 1000:>8.1f} "
            f"{r['max'] * 1000:>8.1f} {r['baseline_p50'] * 1000:>9.1f} {r['baseline_p95'] * 1000:>9.1f} "
            f"{ratio:>9.2f}  {verdict}"
        )


if __name__ == "__main__":
    main()
