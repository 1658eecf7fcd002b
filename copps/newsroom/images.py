"""Uploaded images: prove they are images, then re-encode them without any metadata.

The picture is rebuilt from its pixels into a new image object, so nothing of the upload's
metadata can ride along: EXIF (GPS position, camera serial, time), XMP, IPTC, comments and
anything appended to the file are gone. Orientation from EXIF is applied first so the picture
still stands upright, and a colour profile (e.g. Display P3 from phones) is converted to sRGB so
colours survive without keeping the profile. Whatever goes wrong with a file becomes a
ValidationError on the ``image`` field: never an exception the caller has to know about.
"""

import io
import logging
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps

logger = logging.getLogger("copps.newsroom")

# Pillow format -> extension of what we store (GIF becomes a still PNG; MPO is a phone JPEG).
FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "png"}
MAX_PIXELS = 40_000_000  # decoded size guard: about 160 MB of RGBA, far above any real photo
MAX_SIDE = 4096  # larger pictures are scaled down: lighter for citizens on mobile networks


def _invalid(message: str) -> ValidationError:
    return ValidationError({"image": [message]})


def _read(upload) -> bytes:
    limit = settings.COPPS_MAX_IMAGE_BYTES
    too_big = _invalid(
        _("The image is larger than %(mb)s MB.") % {"mb": max(1, limit // 1_000_000)}
    )
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise too_big
    if hasattr(upload, "seek"):
        upload.seek(0)
    raw = upload.read(limit + 1)  # never more than the limit in memory, whatever size claimed
    if len(raw) > limit:
        raise too_big
    if not raw:
        raise _invalid(_("The file is empty."))
    return raw


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    try:
        mode = "RGBA" if "A" in image.getbands() else "RGB"
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image.convert(mode), source, ImageCms.createProfile("sRGB"), outputMode=mode
        )
        assert converted is not None  # only inPlace=True returns None
        return converted
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: keep the pixels as they are


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the same pixels and no ``info`` (metadata) at all."""
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def clean_image(upload) -> tuple[bytes, str]:
    """(bytes to store, extension) for an uploaded image, or ValidationError on field ``image``.

    Refuses files that are too large (``settings.COPPS_MAX_IMAGE_BYTES``), are not JPEG, PNG,
    WebP or GIF, are truncated or corrupt, or would decode to more than ``MAX_PIXELS`` pixels
    (decompression bombs).
    """
    raw = _read(upload)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice that: make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as probe:
                if probe.format not in FORMATS:
                    raise _invalid(_("Use a JPEG, PNG, WebP or GIF image."))
                if probe.width * probe.height > MAX_PIXELS:
                    raise _invalid(_("The image has too many pixels."))
                probe.verify()
            image: Image.Image = Image.open(io.BytesIO(raw))
            fmt = image.format
            assert fmt is not None  # probe.format was one of FORMATS
            image.load()  # a truncated file fails here, not halfway through saving
            image = ImageOps.exif_transpose(image)
            image = _pixels_only(_to_srgb(image))
            if max(image.size) > MAX_SIDE:
                image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if fmt in ("JPEG", "MPO"):
                image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            elif fmt == "WEBP":
                image.save(out, "WEBP", quality=88)
            else:
                image.save(out, "PNG", optimize=True)
        return out.getvalue(), FORMATS[fmt]
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _invalid(_("The image has too many pixels.")) from None
    except Exception:  # hostile files make Pillow fail in many ways: all mean "not an image"
        logger.info("image upload refused", exc_info=True)
        raise _invalid(_("This file is not an image copps can read.")) from None
