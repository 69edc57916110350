"""Column-level encryption of complainant identity (policy 6.3, MFIPPA).

AES-256-GCM with a key derived by HKDF-SHA256 from ``BYLAW_PII_KEY``; every value gets a
fresh 96-bit nonce, and the associated data binds it to its complaint and column, so a
ciphertext moved to another row or column fails authentication instead of decrypting.
Stored form: ``version (1 byte) || nonce (12) || ciphertext+tag``. The version byte lets
a later key rotation read old rows with the old key.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_VERSION = 1
_NONCE_BYTES = 12
_HKDF_SALT = b"bylaw-intake-complainant-vault"
_HKDF_INFO = b"aes-256-gcm column key v1"


class VaultError(Exception):
    """A stored value failed authentication (wrong key, tampering or a moved value)."""


def derive_key(secret: str, version: int = KEY_VERSION) -> bytes:
    if len(secret) < 16:
        raise ValueError("the PII key must be at least 16 characters")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_HKDF_SALT,
        info=_HKDF_INFO + b":" + str(version).encode(),
    ).derive(secret.encode())


class VaultCipher:
    def __init__(self, secret: str) -> None:
        self.version = KEY_VERSION
        self._aead = AESGCM(derive_key(secret, self.version))

    def __repr__(self) -> str:
        return f"VaultCipher(version={self.version})"

    @staticmethod
    def _context(record_id: str, column: str) -> bytes:
        return f"intake.complainants:{record_id}:{column}".encode()

    def encrypt(self, plaintext: str, *, record_id: str, column: str) -> bytes | None:
        """``None`` for an empty value: nothing to protect, and no length hint stored."""
        if not plaintext:
            return None
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self._context(record_id, column))
        return bytes([self.version]) + nonce + sealed

    def encrypt_bytes(self, plaintext: bytes, *, record_id: str, column: str) -> bytes:
        """Like ``encrypt`` for raw bytes (a dead-lettered message body); never ``None``."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, self._context(record_id, column))
        return bytes([self.version]) + nonce + sealed

    def decrypt_bytes(self, blob: bytes, *, record_id: str, column: str) -> bytes:
        if not blob or blob[0] != self.version:
            raise VaultError("unknown vault key version")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, self._context(record_id, column))
        except InvalidTag as exc:
            raise VaultError(f"vault value for column {column} failed authentication") from exc

    def decrypt(self, blob: bytes | None, *, record_id: str, column: str) -> str:
        if not blob:
            return ""
        if blob[0] != self.version:
            raise VaultError(f"unknown vault key version {blob[0]}")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, self._context(record_id, column)).decode()
        except InvalidTag as exc:
            raise VaultError(f"vault value for column {column} failed authentication") from exc
