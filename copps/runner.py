"""`make demo`: run the web server and the worker side by side until Ctrl-C.

Starts gunicorn on $HOST:$PORT, `copps worker`, the local SMTP sink (`copps smtp_sink`, on
$COPPS_SMTP_SINK, default 127.0.0.1:8025; "off" leaves it out) and, when COPPS_MQTT_URL is set,
the crowd sensor listener (`copps crowd_mqtt`), with COPPS_CROWD_SIMULATE=on (`make demo`) the
demo festival's simulated sensors (`copps crowd_simulate --direct`), waits until /healthz answers 200
(database up and a worker heartbeat seen), prints the demo sign-ins, and stops all of them when
one stops. E-mail from the demo (the newsletter channel and Django's own mail) goes to the sink
and shows in the console's outbox (/console/outbox/); nothing leaves the machine.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

DEMO_PASSWORD = os.environ.get("COPPS_DEMO_PASSWORD", "copps-demo")
# The access log names no client: no address (%(h)s), no User-Agent (%(a)s), no referrer, no
# query string (%(U)s is the path only) — anonymous tips must leave no trace of who sent them.
ACCESS_LOG_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def wait_healthy(url: str, processes, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    env = {**os.environ, "PORT": port}
    env.setdefault("SITE_URL", f"http://{host}:{port}")
    # The demo talks to fediverse peers running on this machine (a second copps, Fedify):
    # their keys and inboxes are on loopback, which copps refuses for outside input otherwise.
    env.setdefault("COPPS_HTTP_ALLOW_PRIVATE_HOSTS", "127.0.0.1,localhost")
    bin_dir = os.path.dirname(sys.executable)
    sink = os.environ.get("COPPS_SMTP_SINK", "127.0.0.1:8025").strip()
    sink_host, _colon, sink_port = sink.rpartition(":")
    if sink.lower() in ("", "off", "0", "false", "no"):
        sink_host = ""
    if sink_host:
        # Every mail the demo sends goes to the sink: the sandbox newsletter channel reads
        # COPPS_SMTP_SINK_HOST/PORT, Django's mailer EMAIL_HOST/PORT.
        env.setdefault("COPPS_SMTP_SINK_HOST", sink_host)
        env.setdefault("COPPS_SMTP_SINK_PORT", sink_port)
        env.setdefault("EMAIL_HOST", sink_host)
        env.setdefault("EMAIL_PORT", sink_port)
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "copps.wsgi",
            "--bind",
            f"{host}:{port}",
            "--workers",
            os.environ.get("WEB_CONCURRENCY", "2"),
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "--graceful-timeout",
            "5",
        ],
        env=env,
    )
    worker = subprocess.Popen([os.path.join(bin_dir, "copps"), "worker"], env=env)
    processes = [web, worker]
    # The sink is a convenience: if it cannot start (the port is taken), the demo runs on and
    # says so; only the web server and the worker stopping ends the demo.
    helpers = []
    if sink_host:
        helpers.append(
            subprocess.Popen(
                [
                    os.path.join(bin_dir, "copps"),
                    "smtp_sink",
                    "--host",
                    sink_host,
                    "--port",
                    sink_port,
                ],
                env=env,
            )
        )
    mqtt_url = os.environ.get("COPPS_MQTT_URL", "").strip()
    if mqtt_url:
        # Sensor counts over MQTT; without a broker it keeps retrying and the demo runs on.
        helpers.append(subprocess.Popen([os.path.join(bin_dir, "copps"), "crowd_mqtt"], env=env))
    simulate = os.environ.get("COPPS_CROWD_SIMULATE", "").strip() == "on"
    if simulate:
        # `make demo`: the demo festival's sensors keep counting (one zone slowly fills up, so
        # its level rises and an alert fires after some minutes), without a broker.
        helpers.append(
            subprocess.Popen(
                [
                    os.path.join(bin_dir, "copps"),
                    "crowd_simulate",
                    "--direct",
                    "--rate",
                    "0.2",
                    "--build",
                    "900",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )

    def stop(*_args):
        for p in processes + helpers:
            if p.poll() is None:
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"copps: starting on http://{host}:{port} …", flush=True)
    if wait_healthy(f"http://{host}:{port}/healthz", processes):
        roles = [
            "communicator",
            "editor",
            "officer",
            "coach",
            "investigator",
            "analyst",
            "commander",
            "admin",
        ]
        print("\n" + "=" * 64)
        print(f"copps is ready: http://{host}:{port}/   (console: /console/)")
        if sink_host and helpers[0].poll() is None:
            print(f"E-mail goes to the local sink on {sink}: see /console/outbox/")
        elif sink_host:
            print(f"E-mail: the local sink on {sink} did not start (set COPPS_SMTP_SINK)")
        if mqtt_url:
            print(f"Crowd sensors: listening on {mqtt_url}; feed it with `copps crowd_simulate`")
        if simulate:
            print("Crowd sensors: simulated counts for the demo festival (/console/events/)")
        print(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for role in roles:
            print(f"  demo-{role}")
        print("Stop with Ctrl-C.")
        print("=" * 64 + "\n", flush=True)
    else:
        print("copps: the web server or the worker did not become healthy", file=sys.stderr)
        stop()
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for p in processes + helpers:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
