"""The credential encryption key: parsing, and deriving the working keys once per process.

`ALM_ENCRYPTION_KEY` is 32 random bytes, URL-safe base64 encoded (generate one with
`python manage.py generate_encryption_key`). From it HKDF derives two independent keys:
one for AES-256 (the cipher django-cryptography uses) and one for its HMAC signature.
django-cryptography would otherwise sign with SECRET_KEY, which would tie every stored
token to the session secret; we keep the two apart on purpose.
"""

from __future__ import annotations

import base64
import functools
import re
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


# Exactly what generate_key() prints: 32 bytes in URL-safe base64, 43 characters and one "=".
_KEY_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}=")
# 32 random bytes hold about 30 distinct values; fewer than 8 is a pattern (all zeros, a repeated word).
_MIN_DISTINCT_BYTES = 8
_HOW = "generate one with `python manage.py generate_encryption_key`"


def parse_key(value: str) -> bytes:
    """Decode a configured key, naming what is wrong with it (never echoing it).

    Only the exact format generate_key() prints is accepted: a passphrase, a hex string, a key in
    standard base64, or one with stray characters would otherwise pass as some other 32 bytes.
    """
    text = (value or "").strip()
    if not text:
        raise EncryptionKeyError(f"it is empty; {_HOW}")
    if not _KEY_FORMAT.fullmatch(text):
        raise EncryptionKeyError(
            f"it is not a key in the generated format (44 characters of URL-safe base64 ending in “=”); {_HOW}"
        )
    raw = base64.urlsafe_b64decode(text.encode("ascii"))
    if base64.urlsafe_b64encode(raw).decode("ascii") != text:
        raise EncryptionKeyError(f"it is not a key in the generated format (stray bits in its last character); {_HOW}")
    if len(set(raw)) < _MIN_DISTINCT_BYTES:
        raise EncryptionKeyError(f"it is not random (all zeros or a repeated pattern); {_HOW}")
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
