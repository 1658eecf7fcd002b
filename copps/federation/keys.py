"""Actor key pairs: RSA 2048 (what Mastodon and every major server verify), the private half
encrypted at rest with the channel secrets key."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from copps.channels import crypto


def generate() -> tuple[str, str]:
    """(encrypted private key, public key PEM)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return crypto.encrypt(private_pem), public_pem


def private_pem(actor) -> str:
    return crypto.decrypt(actor.private_key_encrypted)
