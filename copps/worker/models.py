from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """One row per worker process; /healthz reads the newest."""

    worker_id = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    ticks = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.worker_id
