"""A fresh RSA key in PEM, as GitHub hands an App its private key."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def app_private_key_pem(pkcs1: bool = False) -> str:
    """A fresh RSA key; `pkcs1` gives the `BEGIN RSA PRIVATE KEY` form GitHub hands out."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL
        if pkcs1
        else serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
