"""Uploaded images: prove they are images, then re-encode them without any metadata.

Re-encoding from pixels drops EXIF (GPS position, camera serial, time) and anything appended to
the file. Orientation from EXIF is applied first so the picture still stands upright.
"""

import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "png"}
MAX_PIXELS = 40_000_000


def clean_image(upload) -> tuple[bytes, str]:
    if upload.size > settings.COPPS_MAX_IMAGE_BYTES:
        raise ValidationError({"image": [_("The image is larger than %(mb)s MB.") % {"mb": settings.COPPS_MAX_IMAGE_BYTES // 1_000_000}]})
    raw = upload.read()
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(raw))
        if image.format not in FORMATS:
            raise ValidationError({"image": [_("Use a JPEG, PNG, WebP or GIF image.")]})
        if image.width * image.height > MAX_PIXELS:
            raise ValidationError({"image": [_("The image has too many pixels.")]})
        fmt = image.format
        image = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        if fmt == "JPEG":
            image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
        elif fmt == "WEBP":
            image.save(out, "WEBP", quality=88)
        else:
            if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                image = image.convert("RGBA")
            image.save(out, "PNG", optimize=True)
        return out.getvalue(), FORMATS[fmt]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError({"image": [_("This file is not an image copps can read.")]}) from None
