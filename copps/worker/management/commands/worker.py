import logging
import os
import signal
import socket
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string

from copps.worker import jobs
from copps.worker.models import Heartbeat

logger = logging.getLogger("copps.worker")


class Command(BaseCommand):
    help = (
        "Run the background worker: publishes scheduled messages, expires old ones, runs queued "
        "tasks (django-tasks-db) and reports a heartbeat for /healthz."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one round, then exit.")

    def handle(self, *args, once=False, **options):
        from django_tasks_db.management.commands.db_worker import Worker

        worker_id = f"{socket.gethostname()}-{os.getpid()}-{get_random_string(6)}"
        self.running = True

        def stop(signum, frame):
            logger.info("worker %s stopping on %s", worker_id, signal.strsignal(signum))
            self.running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        Heartbeat.objects.update_or_create(worker_id=worker_id, defaults={"started_at": timezone.now()})
        logger.info("worker %s started", worker_id)
        ticks = 0
        while self.running:
            close_old_connections()
            try:
                results = jobs.tick()
                if any(results.values()):
                    logger.info("tick %s", results)
                Worker(
                    queue_names=["*"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=50, worker_id=worker_id, excluded_queue_names=[],
                ).run()
                ticks += 1
                Heartbeat.objects.filter(worker_id=worker_id).update(seen_at=timezone.now(), ticks=ticks)
            except Exception:
                # One bad round must not stop the worker: log it and try again next tick.
                logger.exception("worker round failed")
            if once:
                break
            time.sleep(settings.COPPS_WORKER_TICK_SECONDS)
        Heartbeat.objects.filter(worker_id=worker_id).delete()
