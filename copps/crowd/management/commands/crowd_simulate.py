"""copps crowd_simulate [--event SLUG] [--rate N] [--duration S] [--http URL --token T | --direct]"""

from __future__ import annotations

import json
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from copps.crowd import mqtt
from copps.crowd.models import Event, Zone
from copps.crowd.simulate import Crowd, default_event


class Command(BaseCommand):
    help = (
        "Publish plausible counts for every sensor of an event, with a crowd building up in one "
        "zone so its level rises and an alert fires: to the MQTT broker (COPPS_MQTT_URL, or "
        "--mqtt) or to the HTTP API (--http with a sensor, commander or administrator token)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--event", default="", help="The event's slug (default: running).")
        parser.add_argument(
            "--rate", type=float, default=1.0, help="Counts per second from each sensor."
        )
        parser.add_argument(
            "--duration", type=float, default=0, help="Seconds to run (0: until stopped)."
        )
        parser.add_argument(
            "--build", type=float, default=120, help="Seconds the busy zone takes to fill up."
        )
        parser.add_argument("--zone", default="", help="The zone that fills up (its identifier).")
        parser.add_argument("--mqtt", default="", help="Broker URL (default COPPS_MQTT_URL).")
        parser.add_argument(
            "--http", default="", help="Base URL of copps, e.g. http://127.0.0.1:8000"
        )
        parser.add_argument("--token", default="", help="API token for --http.")
        parser.add_argument(
            "--direct",
            action="store_true",
            help="Hand the counts to the ingestion in this process (the demo: no broker, no token).",
        )
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, **options):
        event = (
            Event.objects.filter(slug=options["event"]).first()
            if options["event"]
            else default_event()
        )
        if event is None:
            raise CommandError("No such event (or no event with sensors): see --event.")
        rate = options["rate"]
        if not (0 < rate <= 50):
            raise CommandError("--rate is between 0 and 50 counts per second per sensor.")
        crowd = Crowd(event, hot=options["zone"], build=options["build"], seed=options["seed"])
        if not crowd.sensors:
            raise CommandError(f"The event {event.slug} has no sensors.")
        send, close = self._sender(options)
        stop = threading.Event()
        previous = {
            signum: signal.signal(signum, lambda *_: stop.set())
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        hot = crowd.hot.name if crowd.hot else "-"
        self.stdout.write(
            f"crowd_simulate: {len(crowd.sensors)} sensors of {event.slug}, {rate:g}/s each; "
            f"{hot} fills up in {options['build']:g} s"
        )
        started = time.monotonic()
        sent = refused = 0
        last_report = started
        try:
            while not stop.is_set():
                elapsed = time.monotonic() - started
                if options["duration"] and elapsed >= options["duration"]:
                    break
                batch = crowd.tick(elapsed, timezone.now())
                ok, bad = send(batch)
                sent, refused = sent + ok, refused + bad
                if time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    self.stdout.write(f"crowd_simulate: sent={sent} {self._levels(event)}")
                stop.wait(max(0.0, started + (elapsed // (1 / rate) + 1) / rate - time.monotonic()))
        finally:
            close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write(f"crowd_simulate: sent={sent} refused={refused} {self._levels(event)}")

    def _levels(self, event: Event) -> str:
        zones = Zone.objects.filter(event=event).order_by("key")
        return " ".join(f"{z.key}={z.level}({z.density:.2f}/m²)" for z in zones)

    def _sender(self, options):
        if options["direct"]:
            return self._direct_sender()
        if options["http"]:
            return self._http_sender(options["http"].rstrip("/"), options["token"])
        try:
            cfg = mqtt.config(options["mqtt"] or None)
        except mqtt.ConfigError as exc:
            raise CommandError(f"{exc} Or use --http URL --token T.") from None
        try:
            publisher = mqtt.Publisher(cfg)
        except OSError as exc:
            raise CommandError(f"No MQTT broker at {cfg.host}:{cfg.port}: {exc}") from None

        def send(batch):
            for sensor_id, payload in batch:
                publisher.send(sensor_id, payload)
            publisher.flush()
            return len(batch), 0

        return send, publisher.close

    def _direct_sender(self):
        """Counts straight into the ingestion. A sensor that received a count from anyone else
        (a real sensor, a test, the API) is left alone from then on: the simulation never
        overwrites real figures."""
        from copps.crowd import ingest
        from copps.crowd.models import Sensor

        sent: dict[str, object] = {}
        yielded: set[str] = set()

        def ingest_here(batch):
            ids = {sensor_id for sensor_id, _payload in batch}
            for sensor_id, last_ts in Sensor.objects.filter(sensor_id__in=ids).values_list(
                "sensor_id", "last_ts"
            ):
                if sensor_id in sent and last_ts is not None and last_ts != sent[sensor_id]:
                    if sensor_id not in yielded:
                        self.stdout.write(
                            f"crowd_simulate: {sensor_id} has other counts; leaving it"
                        )
                    yielded.add(sensor_id)
            batch = [(sid, payload) for sid, payload in batch if sid not in yielded]
            result = ingest.ingest(batch, via="direct")
            sent.update(
                Sensor.objects.filter(sensor_id__in=[sid for sid, _p in batch]).values_list(
                    "sensor_id", "last_ts"
                )
            )
            return result.accepted, sum(result.rejected.values())

        return ingest_here, lambda: None

    def _http_sender(self, base: str, token: str):
        from copps.lib import http

        if not token:
            raise CommandError("--http needs --token (a sensor's, a commander's or an admin's).")

        def send(batch):
            ok = bad = 0
            for sensor_id, payload in batch:
                try:
                    response = http.request(
                        "POST",
                        f"{base}/api/v1/sensors/{sensor_id}/counts",
                        allow_private=True,  # an address the operator typed
                        content=payload,
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Content-Type": "application/json",
                        },
                        timeout=5,
                    )
                except http.HttpError as exc:
                    raise CommandError(f"copps at {base} did not answer: {exc}") from None
                if response.status_code == 202:
                    ok += json.loads(response.content or b"{}").get("accepted", 0)
                else:
                    bad += 1
            return ok, bad

        return send, lambda: None
