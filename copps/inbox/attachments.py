"""Files citizens send (photos, videos with a tip): checked, hashed, stored privately.

``check_upload`` refuses what is not what it claims: the type is read from the file's first
bytes (a script named ``.jpg`` is refused), and the size is capped. ``store_attachment`` hashes
the bytes (SHA-256, recorded for the chain of evidence), keeps the EXIF metadata for the
investigators (time, camera, GPS: evidence, never shown in public) and stores the file under a
random name outside MEDIA_ROOT. The file itself is stored unchanged, so its hash stays valid.
"""

from __future__ import annotations

import hashlib
import io
import logging
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from .models import Attachment, Entry

logger = logging.getLogger("copps.inbox")

# Leading bytes -> (content type, is an image Pillow reads EXIF from).
SIGNATURES: list[tuple[int, bytes, str]] = [
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
]
FTYP_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"qt  ": "video/quicktime",
}
EXIF_TYPES = {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}


def sniff(head: bytes) -> str | None:
    """The content type the bytes show, or None for anything we do not accept."""
    for offset, magic, kind in SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return FTYP_BRANDS.get(brand, "video/mp4")
    return None


def max_bytes() -> int:
    return int(settings.COPPS_TIP_MAX_FILE_MB) * 1024 * 1024


def check_upload(upload) -> str:
    """The sniffed content type of ``upload``; ValidationError if refused."""
    size = getattr(upload, "size", None) or 0
    if size > max_bytes():
        raise ValidationError(
            _("%(name)s is too large (at most %(mb)s MB).")
            % {"name": _safe_name(upload), "mb": settings.COPPS_TIP_MAX_FILE_MB}
        )
    if size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": _safe_name(upload)})
    upload.seek(0)
    kind = sniff(upload.read(64))
    upload.seek(0)
    if kind is None:
        raise ValidationError(
            _(
                "%(name)s is not a photo or video we accept (JPEG, PNG, GIF, WebP, HEIC, MP4, MOV, WebM)."
            )
            % {"name": _safe_name(upload)}
        )
    return kind


def _safe_name(upload) -> str:
    name = str(getattr(upload, "name", "") or "file").replace("\x00", "")
    return name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:120] or "file"


def _plain(value: Any) -> Any:
    """EXIF values as JSON: rationals as floats, bytes as short hex, tuples as lists."""
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value.replace("\x00", "") if isinstance(value, str) else value
    if isinstance(value, Fraction) or hasattr(value, "numerator"):
        try:
            return float(value)
        except (TypeError, ValueError, ZeroDivisionError):
            return None
    if isinstance(value, bytes):
        return value[:64].hex()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value][:32]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in list(value.items())[:64]}
    return str(value)[:200]


def read_exif(data: bytes) -> dict:
    """The EXIF tags by name (with the GPS block), or {} when there are none or the image is
    unreadable (a broken image is still evidence: it is stored, without metadata)."""
    from PIL import ExifTags, Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            tags = {ExifTags.TAGS.get(k, str(k)): _plain(v) for k, v in exif.items()}
            for ifd_id, name in ((ExifTags.IFD.Exif, "Exif"), (ExifTags.IFD.GPSInfo, "GPS")):
                block = exif.get_ifd(ifd_id)
                if block:
                    names = ExifTags.GPSTAGS if name == "GPS" else ExifTags.TAGS
                    tags[name] = {names.get(k, str(k)): _plain(v) for k, v in block.items()}
            return tags
    except Exception:  # noqa: BLE001 — hostile or broken files: no metadata, never a crash
        return {}


def store_attachment(entry: Entry, upload) -> Attachment:
    """Check, hash and store one uploaded file for ``entry`` (inside the caller's transaction)."""
    kind = check_upload(upload)
    digest = hashlib.sha256()
    chunks = []
    upload.seek(0)
    for chunk in upload.chunks() if hasattr(upload, "chunks") else [upload.read()]:
        digest.update(chunk)
        chunks.append(chunk)
    data = b"".join(chunks)
    exif = read_exif(data) if kind in EXIF_TYPES else {}
    attachment = Attachment(
        entry=entry,
        name=_safe_name(upload),
        content_type=kind,
        size=len(data),
        sha256=digest.hexdigest(),
        exif=exif,
    )
    attachment.file.save("upload", ContentFile(data), save=False)
    attachment.save()
    return attachment
