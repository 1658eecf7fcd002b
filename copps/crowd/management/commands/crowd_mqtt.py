"""copps crowd_mqtt [--batch N] [--wait S] [--progress S] [--idle-exit S]"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from copps.crowd import mqtt


class Command(BaseCommand):
    help = (
        "Listen for sensor counts on the MQTT broker (COPPS_MQTT_URL, topic COPPS_MQTT_TOPIC) and "
        "store them: QoS 1, a persistent session, acknowledged after each batch is committed. "
        "Runs until SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500, help="Counts per transaction.")
        parser.add_argument(
            "--wait", type=float, default=0.1, help="Seconds a batch waits to fill up."
        )
        parser.add_argument(
            "--progress", type=float, default=60.0, help="Seconds between progress lines."
        )
        parser.add_argument(
            "--idle-exit", type=float, default=None, metavar="SECONDS", help="Stop when idle."
        )
        parser.add_argument("--client-id", default="", help="Overrides COPPS_MQTT_CLIENT_ID.")

    def handle(self, *args, **options):
        try:
            cfg = mqtt.config(client_id=options["client_id"])
        except mqtt.ConfigError as exc:
            raise CommandError(str(exc)) from None
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        listener = mqtt.Listener(
            cfg,
            batch=max(1, min(options["batch"], 5000)),
            wait=max(0.0, min(options["wait"], 5.0)),
            out=self.stdout,
            progress_every=max(1.0, options["progress"]),
        )
        self.stdout.write(f"crowd_mqtt: listening on {cfg.topic}")
        listener.run(stop.is_set, idle_exit=options["idle_exit"])
