from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kcap.capture.signing import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    auth_headers,
    key_file_warning,
    load_private_key,
    sign,
    verify,
)
from kcap.errors import CredentialsError


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_key(path: Path, key: object, password: bytes | None = None) -> Path:
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)  # type: ignore[attr-defined]
    )
    path.chmod(0o600)
    return path


def test_ws_signature_verifies_with_the_public_key(key: rsa.RSAPrivateKey) -> None:
    headers = auth_headers("key-id-123", key, 1_763_720_000_123)
    assert headers[HEADER_KEY] == "key-id-123"
    assert headers[HEADER_TIMESTAMP] == "1763720000123"
    pub = key.public_key()
    assert verify(pub, "1763720000123", "GET", "/trade-api/ws/v2", headers[HEADER_SIGNATURE])
    # what is signed is exactly timestamp + method + path
    assert not verify(pub, "1763720000124", "GET", "/trade-api/ws/v2", headers[HEADER_SIGNATURE])
    assert not verify(pub, "1763720000123", "POST", "/trade-api/ws/v2", headers[HEADER_SIGNATURE])
    assert not verify(
        pub, "1763720000123", "GET", "/trade-api/v2/markets", headers[HEADER_SIGNATURE]
    )
    assert not verify(pub, "1763720000123", "GET", "/trade-api/ws/v2", "not base64!")


def test_pss_is_randomised_so_every_attempt_is_resigned(key: rsa.RSAPrivateKey) -> None:
    assert sign(key, 1, "GET", "/trade-api/ws/v2") != sign(key, 1, "GET", "/trade-api/ws/v2")


def test_key_loading_errors_name_the_file_not_the_key(
    tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(CredentialsError, match="not found"):
        load_private_key(tmp_path / "missing.pem")
    locked = write_key(tmp_path / "locked.pem", key, b"secret")
    with pytest.raises(CredentialsError, match="password-protected"):
        load_private_key(locked)
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(CredentialsError, match="not a PEM private key") as info:
        load_private_key(junk)
    assert "hello" not in str(info.value)
    ec_key = write_key(tmp_path / "ec.pem", ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(CredentialsError, match="not an RSA key"):
        load_private_key(ec_key)
    good = write_key(tmp_path / "good.pem", key)
    assert load_private_key(good).key_size == 2048


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_key(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = write_key(tmp_path / "k.pem", key)
    path.chmod(0)
    with pytest.raises(CredentialsError, match="cannot read"):
        load_private_key(path)


def test_world_readable_key_is_warned_about(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = write_key(tmp_path / "k.pem", key)
    assert key_file_warning(path) is None
    path.chmod(0o644)
    warning = key_file_warning(path)
    assert warning is not None and "chmod 600" in warning and "644" in warning
