"""Shared steps for the X, Facebook, Instagram, LinkedIn and YouTube channel tests: publish a
message through the real workflow, run the delivery engine, correct and retract."""

from __future__ import annotations

from datetime import timedelta

import pytest
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


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files go to a temporary directory (import this fixture into the test module)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# A few bytes that start like real containers: an ISO BMFF "ftyp" box (MP4) and an EBML header
# with DocType "webm". Enough for the header check; nothing here has to play.
MP4_BYTES = (
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    + b"\x00\x00\x00\x08free"
    + b"\x00\x00\x00\x10mdat"
    + bytes(range(8))
)
WEBM_BYTES = (
    b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + b"\x18\x53\x80\x67\x01" + bytes(16)
)


def video_upload(name: str = "appeal.mp4", data: bytes = MP4_BYTES):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="video/mp4")


def publish_with_video(make_message, communicator, editor, caption="Beelden van de verdachte"):
    message = make_message(communicator)
    actions.set_video(message, by=communicator, upload=video_upload(), caption=caption)
    actions.submit_message(message, by=communicator)
    actions.approve_message(message, by=editor)
    return message
