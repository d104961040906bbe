"""Encryption at rest for the free text members write (notes, help requests, plans).

Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`: authenticated, so a wrong key
or a tampered value is refused rather than decrypted into garbage. Every repository that
stores member text goes through one :class:`TextCipher`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)

KEY_CHECK_PLAINTEXT = "circlekeeper key check"


class WrongKeyError(Exception):
    """The data key does not open this database."""


class TextCipher:
    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as error:
            raise WrongKeyError("stored text could not be decrypted with this key") from error

    def encrypt_optional(self, text: str | None) -> bytes | None:
        return None if text is None else self.encrypt(text)

    def decrypt_optional(self, token: bytes | None) -> str | None:
        return None if token is None else self.decrypt(token)


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def write_key_file(path: Path, key: str) -> None:
    """Write a key readable by the owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_or_create_key(configured: str | None, key_path: Path) -> str:
    """The configured key, else the key file beside the database, else a new one written there."""
    if configured:
        return configured
    if key_path.is_file():
        return key_path.read_text().strip()
    key = generate_key()
    write_key_file(key_path, key)
    log.warning(
        "Generated a new data key at %s (owner-only). Back it up with the database.", key_path
    )
    return key
