"""The delivery state machine: every state and every allowed transition, in one place.

::

    pending --claim--> sending --ok--> sent
       ^                  |---retryable error--> failed (next_attempt_at set) --claim--> sending
       |                  |---permanent error--> failed (permanent)
       |                  |---no answer / worker died--> unknown
       |                                                  |--read back: found--> sent
       |<----------------- read back: absent / a person: "send again" ---|
       |                                                  |--a person: "it went out"--> sent
    pending/failed/unknown --cancel--> cancelled          |--a person: "give up"--> cancelled

``deliveries.py`` is the only module that moves a delivery, always with a conditional UPDATE on
the state it read (two workers never both claim a row), and it appends a DeliveryEvent each time.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")
    CANCELLED = "cancelled", _("Cancelled")


class Operation(models.TextChoices):
    POST = "post", _("Post")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")


S = DeliveryState
# transition -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "claim": (frozenset({S.PENDING, S.FAILED}), S.SENDING),
    "succeed": (frozenset({S.SENDING, S.UNKNOWN}), S.SENT),
    "fail": (frozenset({S.SENDING}), S.FAILED),
    "lose_track": (frozenset({S.SENDING}), S.UNKNOWN),
    "retry": (frozenset({S.SENDING, S.UNKNOWN, S.FAILED}), S.PENDING),
    "cancel": (frozenset({S.PENDING, S.FAILED, S.UNKNOWN}), S.CANCELLED),
}

# Nothing more will happen to a delivery in these states (a permanent failure too).
FINAL_STATES = frozenset({S.SENT, S.CANCELLED})
