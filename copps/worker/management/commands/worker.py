import logging
import os
import signal
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string

from copps.worker import jobs
from copps.worker.models import Heartbeat

logger = logging.getLogger("copps.worker")

# Heartbeats of workers that died without saying goodbye (kill -9, power cut) are cleared later.
FORGET_DEAD_WORKERS_AFTER = timedelta(days=1)
ALIVE_EVERY_SECONDS = 5


class Command(BaseCommand):
    help = (
        "Run the background worker: publishes scheduled messages, expires old ones, runs queued "
        "tasks (django-tasks-db) and reports a heartbeat for /healthz."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Run one round, then exit (for cron); the heartbeat is kept for /healthz.",
        )
        parser.add_argument(
            "--rounds", type=int, default=0, help="Run this many rounds, then exit (0: forever)."
        )

    def handle(self, *args, once=False, rounds=0, **options):
        if once:
            rounds = 1
        worker_id = f"{socket.gethostname()}-{os.getpid()}-{get_random_string(6)}"[:64]
        from copps.channels import deliveries

        deliveries.WORKER_ID = worker_id  # claims carry it; the sweeper spares live workers
        self.running = True
        restore = self._install_signal_handlers(worker_id)
        Heartbeat.objects.filter(seen_at__lt=timezone.now() - FORGET_DEAD_WORKERS_AFTER).delete()
        Heartbeat.objects.update_or_create(
            worker_id=worker_id, defaults={"started_at": timezone.now(), "alive_at": timezone.now()}
        )
        logger.info("worker %s started", worker_id)
        done = 0
        alive = threading.Event()
        threading.Thread(target=self._keep_alive, args=(worker_id, alive), daemon=True).start()
        try:
            while self.running:
                close_old_connections()
                if self.run_round(worker_id):
                    Heartbeat.objects.filter(worker_id=worker_id).update(
                        seen_at=timezone.now(), ticks=done + 1
                    )
                done += 1
                if rounds and done >= rounds:
                    break
                time.sleep(settings.COPPS_WORKER_TICK_SECONDS)
        finally:
            alive.set()
            restore()
        if rounds != 1:
            # A long-running worker says goodbye; a cron-style single round leaves its heartbeat,
            # so /healthz stays green as long as the rounds keep coming.
            Heartbeat.objects.filter(worker_id=worker_id).delete()

    @staticmethod
    def _keep_alive(worker_id: str, stop: threading.Event) -> None:
        """Say "still alive" every few seconds, whatever the rounds are doing (see alive_at)."""
        while not stop.wait(ALIVE_EVERY_SECONDS):
            try:
                Heartbeat.objects.filter(worker_id=worker_id).update(alive_at=timezone.now())
            except Exception:  # the database busy for a moment: next time
                logger.debug("alive signal failed", exc_info=True)
            finally:
                close_old_connections()

    def run_round(self, worker_id: str) -> bool:
        """One round: the periodic jobs, then queued tasks. False when the round failed.

        One bad round must never stop the worker: errors are logged and the next round retries.
        """
        from django_tasks_db.management.commands.db_worker import Worker

        ok = True
        try:
            results = jobs.tick()
            ok = not results.get("errors")
            if any(results.values()):
                logger.info("tick %s", results)
        except Exception:
            logger.exception("worker tick failed")
            ok = False
        try:
            Worker(
                queue_names=["*"],
                interval=0,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=50,
                worker_id=worker_id,
                excluded_queue_names=[],
            ).run()
        except Exception:
            logger.exception("worker task round failed")
            ok = False
        return ok

    def _install_signal_handlers(self, worker_id: str):
        """Stop after the current round on SIGTERM/SIGINT; returns a function undoing this."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # signals can only be handled in the main thread

        def stop(signum, frame):
            logger.info("worker %s stopping on %s", worker_id, signal.strsignal(signum))
            self.running = False

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore():
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore
