"""``copps smtp_sink``: the demo's local SMTP server; every message lands in the outbox folder."""

import logging
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from django.core.management.base import BaseCommand, CommandError

from copps.channels import smtp_sink


class Command(BaseCommand):
    help = (
        "Run a local SMTP sink (for the demo and tests): accepts every message and stores it as "
        "an .eml file in the outbox folder, relaying nothing. The console shows them at "
        "/console/outbox/."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8025, help="Port to listen on.")
        parser.add_argument(
            "--dir",
            default="",
            help="Outbox folder (default: COPPS_OUTBOX_DIR, else var/outbox).",
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=smtp_sink.DEFAULT_KEEP,
            help="Keep this many newest messages; older ones are removed.",
        )

    def handle(self, *args, host, port, dir, keep, **options):
        if not 0 < port < 65536:
            raise CommandError("--port must be between 1 and 65535")
        # aiosmtpd logs every sender and recipient address at INFO: personal data, keep it out.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        folder = Path(dir) if dir else smtp_sink.outbox_dir()
        store = smtp_sink.Store(folder, keep=keep)
        store.prune()
        controller = Controller(
            smtp_sink.SinkHandler(store),
            hostname=host,
            port=port,
            data_size_limit=smtp_sink.MAX_MESSAGE_BYTES,
            ident="copps outbox sink",
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_a: stop.set())
        try:
            controller.start()
        except (OSError, RuntimeError) as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from None
        self.stdout.write(f"copps smtp_sink: listening on {host}:{port}, storing in {folder}")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
        self.stdout.write("copps smtp_sink: stopped")
