"""Shared steps for the X, Facebook, Instagram, LinkedIn and YouTube channel tests: publish a
message through the real workflow, run the delivery engine, correct and retract."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from copps.channels import deliveries
from copps.channels.models import SandboxPost
from copps.newsroom import actions
from copps.newsroom.actions import VersionInput


def run(rounds: int = 1, now=None) -> None:
    for _ in range(rounds):
        deliveries.deliver_due(now)


def later(**delta):
    return timezone.now() + timedelta(**(delta or {"hours": 2}))


def publish(make_message, communicator, editor, **kwargs):
    message = make_message(communicator, **kwargs)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message


def correct(message, communicator, editor, title="Fietsdiefstallen aan het Zuidstation"):
    correction = actions.propose_correction(
        message,
        by=communicator,
        note="Het was het Zuidstation.",
        versions=[VersionInput("nl", title, "Sluit je fiets altijd op slot.")],
    )
    actions.approve_correction(correction, by=editor)


def retract(message, editor):
    actions.retract_message(message, by=editor, reason="wrong street")


def live_posts(service: str):
    return SandboxPost.objects.filter(service=service, deleted_at__isnull=True)


def reconcile_later() -> int:
    return deliveries.reconcile(timezone.now() + timedelta(minutes=5))


def png_upload(name: str = "photo.png"):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 90, 160)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def publish_with_image(make_message, communicator, editor, alt="Een fiets aan een paal"):
    message = make_message(communicator)
    actions.add_image(message, by=communicator, upload=png_upload(), alt_text=alt)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message
