"""Uploaded videos: MP4 or WebM only, proven by the file's own header and not just its name.

A file is accepted when its extension is ``.mp4`` or ``.webm`` *and* its first bytes are that
container's signature (an ISO base media ``ftyp`` box; an EBML header whose DocType is
``webm``), and it is no larger than ``COPPS_MAX_VIDEO_BYTES`` (default 500 MB). Anything else is
a ValidationError on the ``video`` field, never an exception the caller has to know about.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CONTENT_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
HEAD = 64


def max_bytes() -> int:
    return int(getattr(settings, "COPPS_MAX_VIDEO_BYTES", 500 * 1024 * 1024))


def sniff(head: bytes) -> str | None:
    """The container a file starts with: "mp4", "webm" or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(EBML_MAGIC) and b"\x42\x82" in head[:HEAD] and b"webm" in head[:HEAD]:
        return "webm"
    return None


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in (name or "") else ""


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(extension(name), "application/octet-stream")


def _invalid(message: str) -> ValidationError:
    return ValidationError({"video": [message]})


def clean_video(upload) -> str:
    """The extension to store an uploaded video under, or ValidationError on ``video``."""
    ext = extension(getattr(upload, "name", "") or "")
    if ext not in CONTENT_TYPES:
        raise _invalid(_("Use an MP4 or WebM video."))
    limit = max_bytes()
    size = getattr(upload, "size", None)
    if size is None and hasattr(upload, "seek"):
        upload.seek(0, 2)
        size = upload.tell()
    if not size:
        raise _invalid(_("The file is empty."))
    if size > limit:
        raise _invalid(
            _("The video is larger than %(mb)s MB.") % {"mb": max(1, limit // 1_000_000)}
        )
    upload.seek(0)
    head = upload.read(HEAD)
    upload.seek(0)
    if sniff(head) != ext:
        raise _invalid(_("This file is not an MP4 or WebM video (or its name says otherwise)."))
    return ext
