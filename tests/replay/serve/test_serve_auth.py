from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kcap.capture.signing import HEADER_TIMESTAMP, auth_headers
from kcap.errors import CredentialsError
from kcap.replay.serve.auth import Authenticator, load_public_key

NOW_MS = 1_763_720_000_000


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_load_public_key_from_public_or_private_pem(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    pub = tmp_path / "k.pub"
    pub.write_bytes(public_pem(key))
    assert load_public_key(pub).public_numbers() == key.public_key().public_numbers()
    private = tmp_path / "k.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert load_public_key(private).public_numbers() == key.public_key().public_numbers()


def test_load_public_key_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read public key file"):
        load_public_key(tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(CredentialsError, match="not a PEM public key"):
        load_public_key(junk)
    ec_key = tmp_path / "ec.pub"
    ec_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(CredentialsError, match="not an RSA key"):
        load_public_key(ec_key)


def test_check_accepts_kalshi_signatures(key: rsa.RSAPrivateKey) -> None:
    auth = Authenticator(key.public_key(), 5_000)
    ws = auth_headers("key-1", key, NOW_MS - 4_000)
    assert auth.check(ws, "GET", "/trade-api/ws/v2", NOW_MS) is None
    rest = auth_headers("key-1", key, NOW_MS, path="/trade-api/v2/markets")
    assert auth.check(rest, "GET", "/trade-api/v2/markets", NOW_MS) is None


def test_check_refusals(key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    auth = Authenticator(key.public_key(), 5_000, key_id="key-1")
    good = auth_headers("key-1", key, NOW_MS)
    assert auth.check({}, "GET", "/trade-api/ws/v2", NOW_MS) == (
        "missing header KALSHI-ACCESS-KEY, KALSHI-ACCESS-TIMESTAMP, KALSHI-ACCESS-SIGNATURE"
    )
    assert "unknown API key id" in str(
        auth.check(auth_headers("key-2", key, NOW_MS), "GET", "/trade-api/ws/v2", NOW_MS)
    )
    assert "Unix milliseconds" in str(
        auth.check(good | {HEADER_TIMESTAMP: "soon"}, "GET", "/trade-api/ws/v2", NOW_MS)
    )
    assert "6000 ms" in str(auth.check(good, "GET", "/trade-api/ws/v2", NOW_MS + 6_000))
    assert "invalid signature" in str(auth.check(good, "GET", "/trade-api/v2/markets", NOW_MS))
    forged = auth_headers("key-1", other_key, NOW_MS)
    assert "invalid signature" in str(auth.check(forged, "GET", "/trade-api/ws/v2", NOW_MS))
