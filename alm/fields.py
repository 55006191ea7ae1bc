"""An encrypted model field for Azure DevOps tokens that never turns a wrong key into a 500."""

from __future__ import annotations

import base64
import binascii
import pickle
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django_cryptography.core.signing import BadSignature, FernetSigner
from django_cryptography.fields import EncryptedMixin
from django_cryptography.utils.crypto import FernetBytes

from alm.crypto import derive_keys


class UnreadableToken:
    """A stored token that the current key cannot decrypt.

    It keeps the ciphertext so that saving the row again writes it back unchanged:
    a wrong or rotated key must never destroy data, only ask the user to re-enter it
    (or the operator to fix the key, or rotate with the old one).
    """

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: bytes) -> None:
        self.ciphertext = ciphertext

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<unreadable token>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnreadableToken) and other.ciphertext == self.ciphertext

    def __hash__(self) -> int:
        return hash(self.ciphertext)


# Marks a serialized (dumpdata) value as ciphertext. Tokens never contain ":" (Azure DevOps PATs are
# letters and digits), so a real token cannot be mistaken for one.
SERIALIZED_PREFIX = "encrypted:"


def is_unreadable(value: object) -> bool:
    return isinstance(value, UnreadableToken)


def fernet_for(key: str, salt: str | None = None) -> FernetBytes:
    """django-cryptography's cipher with keys derived from ALM_ENCRYPTION_KEY (cached per process)."""
    keys = derive_keys(key, salt or settings.ALM_ENCRYPTION_SALT)
    return FernetBytes(keys.cipher_key, signer=FernetSigner(key=keys.signing_key))


def decrypt_with(ciphertext: bytes, key: str) -> Any:
    """The stored value, if `key` encrypted it; raises ValueError otherwise (never says more)."""
    try:
        return pickle.loads(fernet_for(key).decrypt(ciphertext))  # noqa: S301 - authenticated by HMAC first
    except (BadSignature, ValueError, pickle.UnpicklingError):
        raise ValueError("not readable with this key") from None


def reading_keys() -> tuple[str, ...]:
    """The keys a stored token is read with: the current one, then during a rotation the previous one."""
    return tuple(key for key in (settings.ALM_ENCRYPTION_KEY, settings.ALM_ENCRYPTION_KEY_OLD) if key)


class EncryptedTokenField(EncryptedMixin, models.TextField):
    """A TextField stored encrypted (AES-256-CBC + HMAC-SHA256, django-cryptography)."""

    base_class = models.TextField
    wasinstance = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    # django-cryptography builds its cipher at import time from SECRET_KEY; ours is
    # looked up per use so a changed setting (rotation, tests) takes effect, while
    # the key derivation itself stays cached.
    @property
    def _fernet(self) -> FernetBytes:
        return fernet_for(settings.ALM_ENCRYPTION_KEY)

    @_fernet.setter
    def _fernet(self, value: FernetBytes) -> None:
        pass

    def clone(self) -> EncryptedTokenField:
        # django-cryptography's clone() rebuilds the field as its own `encrypt(TextField())`, which
        # would silently use SECRET_KEY-derived keys in migrations; keep our class.
        _name, _path, args, kwargs = self.deconstruct()
        return type(self)(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = models.TextField.deconstruct(self)
        return name, "alm.fields.EncryptedTokenField", list(args), kwargs

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, UnreadableToken):
            return connection.Database.Binary(value.ciphertext)
        if value == "":
            value = None
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        raw = bytes(value)
        # While a rotation runs (ALM_ENCRYPTION_KEY_OLD set), tokens not yet re-encrypted still read.
        for key in reading_keys():
            try:
                return decrypt_with(raw, key)
            except ValueError:
                continue
        return UnreadableToken(raw)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, UnreadableToken):
            return value
        if isinstance(value, str) and value.startswith(SERIALIZED_PREFIX):
            # A fixture written by value_to_string: keep the ciphertext as it is (loaddata).
            try:
                return UnreadableToken(base64.b64decode(value[len(SERIALIZED_PREFIX) :], validate=True))
            except (binascii.Error, ValueError):
                raise ValidationError("This is not an encrypted token written by dumpdata.") from None
        return super().to_python(value)

    def value_to_string(self, obj: models.Model) -> str:
        """What dumpdata writes: the ciphertext, never the token. loaddata stores it back unchanged,
        so a fixture is a backup that needs the same ALM_ENCRYPTION_KEY to be of use."""
        value = self.value_from_object(obj)
        if value is None or value == "":
            return ""
        ciphertext = (
            value.ciphertext if isinstance(value, UnreadableToken) else self._fernet.encrypt(pickle.dumps(value))
        )
        return SERIALIZED_PREFIX + base64.b64encode(ciphertext).decode("ascii")
