"""Column-level encryption of complainant identity (policy 6.3)."""

from __future__ import annotations

import pytest

from services.intake.adapters.vault import VaultCipher, VaultError, derive_key
from services.intake.domain.model import ComplainantIdentity

KEY = "unit-test-pii-key-0123456789abcdef"


def test_round_trip_and_ciphertext_is_not_plaintext() -> None:
    cipher = VaultCipher(KEY)
    blob = cipher.encrypt("Ada Lovelace", record_id="r1", column="first_name")
    assert blob is not None
    assert b"Ada" not in blob and b"Lovelace" not in blob
    assert cipher.decrypt(blob, record_id="r1", column="first_name") == "Ada Lovelace"


def test_same_value_encrypts_differently_each_time() -> None:
    # Fresh nonces: equal identities cannot be matched by comparing ciphertexts.
    cipher = VaultCipher(KEY)
    a = cipher.encrypt("ada@example.org", record_id="r1", column="email")
    b = cipher.encrypt("ada@example.org", record_id="r1", column="email")
    assert a != b


def test_empty_values_store_nothing() -> None:
    cipher = VaultCipher(KEY)
    assert cipher.encrypt("", record_id="r1", column="phone") is None
    assert cipher.decrypt(None, record_id="r1", column="phone") == ""


@pytest.mark.parametrize(("record_id", "column"), [("r2", "email"), ("r1", "phone")])
def test_value_moved_to_another_row_or_column_does_not_decrypt(record_id: str, column: str) -> None:
    cipher = VaultCipher(KEY)
    blob = cipher.encrypt("ada@example.org", record_id="r1", column="email")
    with pytest.raises(VaultError):
        cipher.decrypt(blob, record_id=record_id, column=column)


def test_wrong_key_does_not_decrypt() -> None:
    blob = VaultCipher(KEY).encrypt("Ada", record_id="r1", column="first_name")
    with pytest.raises(VaultError):
        VaultCipher("another-key-0123456789abcdef").decrypt(blob, record_id="r1", column="first_name")


def test_tampered_ciphertext_is_detected() -> None:
    cipher = VaultCipher(KEY)
    blob = bytearray(cipher.encrypt("Ada", record_id="r1", column="first_name") or b"")
    blob[-1] ^= 0x01
    with pytest.raises(VaultError):
        cipher.decrypt(bytes(blob), record_id="r1", column="first_name")


def test_key_is_derived_not_the_secret_itself() -> None:
    key = derive_key(KEY)
    assert len(key) == 32 and key != KEY.encode()[:32]
    with pytest.raises(ValueError, match="at least 16"):
        derive_key("short")


def test_identity_and_cipher_never_print_their_secrets() -> None:
    who = ComplainantIdentity(first_name="Ada", email="ada@example.org")
    assert "Ada" not in repr(who) and "ada@" not in str(who)
    assert KEY not in repr(VaultCipher(KEY))
