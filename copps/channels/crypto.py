"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) from the ``cryptography`` package.

The key is ``COPPS_SECRETS_KEY`` (a Fernet key) or, when unset, derived from ``SECRET_KEY`` with
HKDF, so a database dump alone never reveals a channel's tokens.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "mask"]


def derived_key() -> str:
    """The Fernet key derived from SECRET_KEY (used when COPPS_SECRETS_KEY is not set). Copy it
    into COPPS_SECRETS_KEY before rotating SECRET_KEY, and the stored secrets stay readable."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"copps-channel-secrets", info=b"fernet"
    ).derive(settings.SECRET_KEY.encode())
    return base64.urlsafe_b64encode(derived).decode()


def _fernet() -> Fernet:
    return Fernet((settings.COPPS_SECRETS_KEY or derived_key()).encode())


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str, ttl: int | None = None) -> str:
    """Decrypt; with ``ttl`` (seconds) a token older than that raises InvalidToken."""
    return _fernet().decrypt(token.encode(), ttl=ttl).decode()


def mask(value: str) -> str:
    """What the console shows of a stored secret: never more than its last four characters."""
    if not value:
        return ""
    return "•" * 8 + (value[-4:] if len(value) >= 12 else "")
