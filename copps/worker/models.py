from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """One row per worker process; /healthz reads the newest."""

    worker_id = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    # Written every few seconds by a thread of the running process, even in a long round: the
    # delivery sweeper leaves the rows of a worker that is alive (slow is not dead).
    alive_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    ticks = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.worker_id
