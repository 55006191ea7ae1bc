"""The credential encryption key: parsing, and deriving the working keys once per process.

`ALM_ENCRYPTION_KEY` is 32 random bytes, URL-safe base64 encoded (generate one with
`python manage.py generate_encryption_key`). From it HKDF derives two independent keys:
one for AES-256 (the cipher django-cryptography uses) and one for its HMAC signature.
django-cryptography would otherwise sign with SECRET_KEY, which would tie every stored
token to the session secret; we keep the two apart on purpose.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32


class EncryptionKeyError(ValueError):
    """The configured encryption key cannot be used."""


@dataclass(frozen=True)
class DerivedKeys:
    cipher_key: bytes
    signing_key: bytes

    def __repr__(self) -> str:
        return "DerivedKeys(<redacted>)"


def parse_key(value: str) -> bytes:
    """Decode a configured key, naming what is wrong with it (never echoing it)."""
    text = (value or "").strip()
    if not text:
        raise EncryptionKeyError("it is empty; generate one with `python manage.py generate_encryption_key`")
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EncryptionKeyError(
            "it is not URL-safe base64; generate one with `python manage.py generate_encryption_key`"
        ) from None
    if len(raw) < KEY_BYTES:
        raise EncryptionKeyError(f"it decodes to {len(raw)} bytes, {KEY_BYTES} are needed")
    return raw


@functools.lru_cache(maxsize=4)
def derive_keys(value: str, salt: str) -> DerivedKeys:
    """Derive the cipher and signing keys; cached, so this runs once per process per key (`cache_info().misses`)."""
    raw = parse_key(value)
    okm = HKDF(algorithm=hashes.SHA256(), length=2 * KEY_BYTES, salt=salt.encode(), info=b"almlink-token-field").derive(
        raw
    )
    return DerivedKeys(cipher_key=okm[:KEY_BYTES], signing_key=okm[KEY_BYTES:])


def generate_key() -> str:
    """A fresh random key in the configured format."""
    import secrets

    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
