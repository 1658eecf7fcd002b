"""Benchmark: the public crowd page and the crisis front page under load, beside nginx serving
the same bytes as static files, in the same run.

It creates a fresh database (a temporary SQLite file; ``--database postgres`` re-creates
``BENCH_POSTGRES_URL``), adds a running event like the demo's (six zones with sensors and
counts, four streets, three fast-track messages) and a prepared crisis page, starts copps as
the runner does (gunicorn, ``--workers`` x ``--threads``, no access log) and Debian's nginx in
the foreground on loopback ports with a temporary configuration that

- serves the page's bytes as a static file (the baseline), and
- proxies to copps through the documented micro-cache (``deploy/nginx/copps-microcache.conf``,
  included as is: ``proxy_cache_lock on``, ``proxy_cache_use_stale updating``, Cache-Control
  honoured; copps sends ``max-age=COPPS_PUBLIC_CROWD_MAX_AGE``, 10 s by default).

Then ``wrk`` runs ``--duration`` seconds against each of three targets for the crowd page, and
again after switching crisis mode on for the crisis front page (``/nl/``):

    static nginx        the bytes copps rendered, as a file
    copps direct        gunicorn, no proxy (copps' own render cache only)
    copps micro-cache   nginx -> micro-cache -> gunicorn: the deployed path

and prints requests/s and p99 latency for each. The ratios printed are each copps path against
static nginx; the direct gunicorn ratio is shown for information, the target (>= 0.5) is on the
deployed path. The last line is ``public_vs_nginx=<ratio>``: the lower of the two pages'
micro-cache ratios.

    .venv/bin/python bench/public_load.py [--duration 5] [--threads 2] [--connections 32]
                                          [--workers 2] [--web-threads 4] [--database sqlite]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's copps

from _common import ROOT, log, prepare_database, setup_django  # noqa: E402

MICROCACHE = ROOT / "deploy" / "nginx" / "copps-microcache.conf"
PROXY = ROOT / "deploy" / "nginx" / "copps-proxy.conf"
EVENT_SLUG = "gentse-feesten"
CROWD_PATH = f"/nl/events/{EVENT_SLUG}/"
CRISIS_PATH = "/nl/"
TARGET = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, dict, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return response.status, dict(response.headers), response.read()


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if fetch(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer 200 within {timeout:.0f} s")


# Data like the demo's -------------------------------------------------------------------------


def rectangle(lon: float, lat: float, dlon: float, dlat: float) -> dict:
    ring = [[lon, lat], [lon + dlon, lat], [lon + dlon, lat + dlat], [lon, lat + dlat], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def seed() -> None:
    """A running public event in Ghent with zones at every level, streets, messages; a crisis
    page and one crisis update (published before the benchmark switches crisis mode on)."""
    from django.utils import timezone

    from copps.accounts.models import User
    from copps.accounts.roles import Role
    from copps.crowd import actions, ingest
    from copps.crowd.models import RouteStatus, SensorKind, TemplateUse

    def user(role: str) -> User:
        person = User(username=f"bench-{role}", role=role)
        person.set_unusable_password()
        person.save()
        return person

    admin, commander, editor = user(Role.ADMIN), user(Role.COMMANDER), user(Role.EDITOR)
    now = timezone.now()
    event = actions.save_event(
        by=admin,
        name="Gentse Feesten",
        slug=EVENT_SLUG,
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=8),
        channels=["web", "rss"],
        description="Tien dagen feest in de binnenstad van Gent.",
    )
    names = ["Korenmarkt", "Vrijdagmarkt", "Sint-Baafsplein", "Graslei", "Kouter", "Sint-Jacobs"]
    devices = [18000, 9000, 400, 1200, 150, 600]
    zones = []
    for i, (name, count) in enumerate(zip(names, devices, strict=True)):
        lon, lat = 3.7180 + (i % 3) * 0.0030, 51.0520 + (i // 3) * 0.0025
        zone = actions.save_zone(
            event,
            by=admin,
            key=name.lower(),
            name=name,
            geometry=rectangle(lon, lat, 0.0022, 0.0015),
            comfortable_density=1.0,
            max_density=2.0,
            advice="gebruik de ingang aan de Veldstraat",
        )
        actions.add_sensor(
            zone, by=admin, sensor_id=f"bt-{i}", kind=SensorKind.BLUETOOTH, calibration=3.0
        )
        zones.append(zone)
        ingest.ingest([(f"bt-{i}", {"ts": now.isoformat(), "devices": count})], via="mqtt", now=now)
    streets = [
        ("Veldstraat", RouteStatus.CLOSED, "tot 02:00"),
        ("Kraanlei", RouteStatus.ONE_WAY, "richting Vrijdagmarkt"),
        ("Belfortstraat", RouteStatus.OPEN, ""),
        ("Limburgstraat", RouteStatus.CLOSED, "hulpdiensten"),
    ]
    # Streets in the gaps between the zones (two columns of gaps, one row).
    lines = [
        [[3.7201, 51.0515], [3.7208, 51.0565]],
        [[3.7178, 51.0540], [3.7264, 51.0540]],
        [[3.7231, 51.0515], [3.7238, 51.0565]],
        [[3.7264, 51.0515], [3.7267, 51.0565]],
    ]
    for (name, status, note), coords in zip(streets, lines, strict=True):
        line = {"type": "LineString", "coordinates": coords}
        actions.save_route(event, by=admin, name=name, status=status, note=note, geometry=line)
    template = actions.approve_template(
        actions.save_template(
            by=commander,
            name="Zone vol",
            use=TemplateUse.CROWD,
            level="red",
            texts={
                "nl": {
                    "title": "{zone} is vol",
                    "body": "{zone} is vol ({people} mensen). Ga naar {quietest} of {advice}.",
                },
                "fr": {"title": "{zone} est complet", "body": "Rendez-vous à {quietest}."},
            },
        ),
        by=editor,
    )
    for zone in zones[:3]:
        actions.send_fast_track(by=commander, template=template, event=event, zone=zone)
    actions.save_crisis_page(
        by=admin,
        name="Stroomuitval",
        content={
            "nl": {
                "title": "Grote stroomuitval in de binnenstad",
                "body": "Blijf binnen en volg onze updates. **Bel 112** alleen bij nood.",
            },
            "en": {"title": "Major power cut in the city centre", "body": "Stay indoors."},
        },
    )


def crisis(on: bool) -> None:
    from copps.accounts.models import User
    from copps.crowd import actions
    from copps.crowd.models import CrisisPage, Template, TemplateUse

    admin = User.objects.get(username="bench-admin")
    if not on:
        actions.crisis_off(by=admin)
        return
    actions.crisis_on(by=admin, page=CrisisPage.objects.get())
    commander = User.objects.get(username="bench-commander")
    editor = User.objects.get(username="bench-editor")
    template = Template.objects.filter(use=TemplateUse.CRISIS).first()
    if template is None:
        template = actions.approve_template(
            actions.save_template(
                by=commander,
                name="Crisis update",
                use=TemplateUse.CRISIS,
                texts={"nl": {"title": "Update {time}", "body": "Blijf binnen. Meer om {time}."}},
            ),
            by=editor,
        )
    actions.send_fast_track(by=commander, template=template)


# nginx and wrk ---------------------------------------------------------------------------------


def nginx_config(tmp: Path, static_port: int, proxy_port: int, app_port: int) -> Path:
    # nginx started by root runs its workers as an unprivileged user: let them in.
    tmp.chmod(0o711)
    for folder, mode in (("static", 0o755), ("cache", 0o777), ("temp", 0o777)):
        (tmp / folder).mkdir(exist_ok=True)
        (tmp / folder).chmod(mode)
    text = f"""
daemon off;
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type text/html;
    client_body_temp_path {tmp}/temp/body;
    proxy_temp_path {tmp}/temp/proxy;
    fastcgi_temp_path {tmp}/temp/fastcgi;
    uwsgi_temp_path {tmp}/temp/uwsgi;
    scgi_temp_path {tmp}/temp/scgi;
    proxy_cache_path {tmp}/cache levels=1:2 keys_zone=copps_micro:10m max_size=100m
                     inactive=10m use_temp_path=off;
    upstream copps_app {{ server 127.0.0.1:{app_port}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{static_port};
        root {tmp}/static;
        location / {{ try_files $uri =404; }}
    }}
    server {{
        listen 127.0.0.1:{proxy_port};
        location / {{
            proxy_pass http://copps_app;
            include {PROXY};
            include {MICROCACHE};
        }}
    }}
}}
"""
    path = tmp / "nginx.conf"
    path.write_text(text)
    return path


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk(url: str, args) -> tuple[float, float, int]:
    """(requests/s, p99 in ms, non-2xx/3xx responses) of ``wrk --latency`` against ``url``."""
    out = subprocess.run(
        [
            "wrk",
            "--latency",
            "-t",
            str(args.threads),
            "-c",
            str(args.connections),
            "-d",
            f"{args.duration}s",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out).groups()  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, float(value) * UNITS[unit], int(bad.group(1)) if bad else 0


def measure(name: str, path: str, static_name: str, ports: dict, tmp: Path, args) -> dict:
    """Write copps' bytes for ``path`` as a static file, check the proxy serves the same, and
    run wrk against the three targets."""
    status, headers, body = fetch(f"http://127.0.0.1:{ports['app']}{path}")
    assert status == 200, (path, status)
    (tmp / "static" / static_name).write_bytes(body)
    via_proxy = fetch(f"http://127.0.0.1:{ports['proxy']}{path}")
    again = fetch(f"http://127.0.0.1:{ports['proxy']}{path}")
    log(
        f"{name}: {len(body):,} bytes, {headers.get('Cache-Control')}; micro-cache "
        f"{via_proxy[1].get('X-Cache-Status')} then {again[1].get('X-Cache-Status')}, "
        f"same bytes: {via_proxy[2] == body}"
    )
    targets = {
        "static nginx": f"http://127.0.0.1:{ports['static']}/{static_name}",
        "copps direct (gunicorn)": f"http://127.0.0.1:{ports['app']}{path}",
        "copps behind micro-cache": f"http://127.0.0.1:{ports['proxy']}{path}",
    }
    results = {}
    for label, url in targets.items():
        rps, p99, bad = wrk(url, args)
        results[label] = (rps, p99)
        print(
            f"{name:<19} {label:<25} {rps:>10,.0f} req/s   p99 {p99:>8.2f} ms"
            + (f"   ({bad} non-2xx!)" if bad else ""),
            flush=True,
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per target")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--web-threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed")

    tmp = Path(tempfile.mkdtemp(prefix="copps-bench-public-"))
    ports = {"app": free_port(), "static": free_port(), "proxy": free_port()}
    env = prepare_database(args.database, None, tmp)
    env.update(
        SITE_URL=f"http://127.0.0.1:{ports['proxy']}",
        DEBUG="false",
    )
    setup_django(env)
    seed()
    max_age = os.environ.get("COPPS_PUBLIC_CROWD_MAX_AGE", "10")
    log(f"{args.database} database in {tmp}; event {EVENT_SLUG!r} seeded; max-age {max_age} s")

    app_log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "copps.wsgi",
            "--bind",
            f"127.0.0.1:{ports['app']}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.web_threads),
            "--graceful-timeout",
            "5",
        ],
        env=env,
        cwd=ROOT,
        stdout=app_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = nginx_config(tmp, ports["static"], ports["proxy"], ports["app"])
    web = subprocess.Popen(
        [nginx_bin, "-p", str(tmp), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "nginx.log", "wb"),  # noqa: SIM115
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{ports['app']}{CROWD_PATH}")
        (tmp / "static" / "ping.html").write_text("ok")
        wait_for(f"http://127.0.0.1:{ports['static']}/ping.html")
        log(
            f"gunicorn {args.workers}x{args.web_threads} on :{ports['app']}, nginx static on "
            f":{ports['static']}, micro-cache on :{ports['proxy']}; wrk -t{args.threads} "
            f"-c{args.connections} -d{args.duration}s per target"
        )
        crowd = measure("crowd page", CROWD_PATH, "crowd.html", ports, tmp, args)
        crisis(True)
        deadline = time.monotonic() + 15
        while b"crisis-flag" not in fetch(f"http://127.0.0.1:{ports['app']}{CRISIS_PATH}")[2]:
            if time.monotonic() > deadline:
                raise SystemExit("the crisis front page did not appear")
            time.sleep(0.5)  # other gunicorn workers keep the old state a few seconds
        front = measure("crisis front page", CRISIS_PATH, "crisis.html", ports, tmp, args)
    finally:
        for proc in (web, app):
            proc.terminate()
        for proc in (web, app):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    ratios = {}
    for name, results in (("crowd page", crowd), ("crisis front page", front)):
        static = results["static nginx"][0]
        cached = results["copps behind micro-cache"][0] / static
        direct = results["copps direct (gunicorn)"][0] / static
        ratios[name] = cached
        print(
            f"{name}: micro-cache/static = {cached:.2f} (deployed path), "
            f"direct gunicorn/static = {direct:.2f} (for information)"
        )
    worst = min(ratios.values())
    print(
        f"target: the deployed path (nginx micro-cache in front of copps) >= {TARGET} x static "
        f"nginx: {'met' if worst >= TARGET else 'NOT met'}"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"public_vs_nginx={worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
