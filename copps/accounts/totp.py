"""Time-based one-time passwords (RFC 6238): secrets, provisioning QR codes and code matching.

Pure functions without database writes; the actions in ``copps.accounts.actions`` use them and
record what was accepted. Codes are six digits over 30-second steps (the authenticator-app
default). One step of clock drift either way is accepted (``VALID_WINDOW``); the caller stores the
accepted step so that no code is ever accepted twice.
"""

import hmac
import time

import pyotp
import segno
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

VALID_WINDOW = 1
DIGITS = 6


def new_secret() -> str:
    """A fresh random base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=username, issuer_name=f"copps {settings.FORCE_NAME}"
    )


def qr_svg(uri: str, label: str) -> SafeString:
    """The QR code for ``uri`` as inline SVG, made here (no outside service sees the secret).

    ``label`` becomes the accessible name of the image. Dark modules on a white background so
    the code scans in any page theme.
    """
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000000", light="#ffffff", svgclass="qr-code", omitsize=False
    )
    # segno's output is generated from our own URI (no user markup can enter it); the label is
    # escaped by format_html.
    return format_html(
        '<div role="img" aria-label="{}" class="qr">{}</div>',
        label,
        mark_safe(svg),  # noqa: S308
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(code: str) -> str:
    """Spaces and dashes removed: people type "123 456" as the apps display it."""
    return "".join(ch for ch in (code or "") if ch not in " -\t")


def matching_step(
    secret: str, code: str, *, after_step: int, now: float | None = None
) -> int | None:
    """The time step ``code`` is valid for, if it is valid now (+/- VALID_WINDOW) and newer than
    ``after_step``; otherwise None.

    Every candidate step is compared in constant time, so the answer's timing does not say which
    step (if any) matched.
    """
    code = normalise_code(code)
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if (
            hmac.compare_digest(totp.generate_otp(step), code)
            and step > after_step
            and found is None
        ):
            found = step
    return found


def code_for(secret: str, now: float | None = None, offset: int = 0) -> str:
    """The code an authenticator app shows now (+ ``offset`` steps). For tests and the demo."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(time.time() if now is None else now) + offset)
