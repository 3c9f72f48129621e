"""Kalshi API request signing: RSA-PSS SHA-256 over ``timestamp_ms + METHOD + path``.

Pure functions (the timestamp is an argument) plus key loading with clear errors. The private
key and signatures never appear in messages, logs or records.

Source: docs.kalshi.com "API keys" / "Quick start: WebSockets" and Kalshi's official SDK
``kalshi_python_sync/auth.py`` 3.2.0: ``padding.PSS(mgf=MGF1(SHA256), salt_length=
PSS.DIGEST_LENGTH)``, SHA-256, base64; headers ``KALSHI-ACCESS-KEY``,
``KALSHI-ACCESS-TIMESTAMP`` (Unix ms), ``KALSHI-ACCESS-SIGNATURE``. The signed path is the full
path from the API root without the query string: ``/trade-api/ws/v2`` for the WebSocket
(kalshi-protocol.md section 1.2).
"""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kcap.errors import CredentialsError

WS_PATH: Final = "/trade-api/ws/v2"
"""The path signed for the WebSocket upgrade."""
HEADER_KEY: Final = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP: Final = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE: Final = "KALSHI-ACCESS-SIGNATURE"

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
_PSS_VERIFY = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


def load_private_key(path: str | Path) -> rsa.RSAPrivateKey:
    """Load an unencrypted RSA private key (PEM) for signing.

    Raises:
        CredentialsError: the file is missing, unreadable, encrypted, not PEM, or not RSA.
            The message names the file, never its content.
    """
    path = Path(path)
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise CredentialsError(f"private key file not found: {path}") from None
    except OSError as exc:
        raise CredentialsError(f"cannot read private key file {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise CredentialsError(
            f"private key {path} is password-protected; kcap needs an unencrypted PEM key "
            "(as downloaded from Kalshi's API keys page)"
        ) from None
    except ValueError:
        raise CredentialsError(
            f"private key {path} is not a PEM private key (expected '-----BEGIN ... PRIVATE KEY-----')"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(f"private key {path} is not an RSA key; Kalshi API keys are RSA")
    return key


def key_file_warning(path: str | Path) -> str | None:
    """A warning when the key file can be read by its group or others, else None."""
    mode = Path(path).stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"private key {path} is readable by other users (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    return None


def sign(key: rsa.RSAPrivateKey, timestamp_ms: int, method: str, path: str) -> str:
    """Base64 RSA-PSS SHA-256 signature of ``f"{timestamp_ms}{method}{path}"``.

    Args:
        key: the API key's RSA private key.
        timestamp_ms: Unix time in milliseconds, as sent in ``KALSHI-ACCESS-TIMESTAMP``.
        method: HTTP method, upper case (``GET`` for the WebSocket upgrade).
        path: request path from the API root, without query string.
    """
    message = f"{timestamp_ms}{method}{path}".encode()
    return base64.b64encode(key.sign(message, _PSS, hashes.SHA256())).decode("ascii")


def auth_headers(
    key_id: str,
    key: rsa.RSAPrivateKey,
    timestamp_ms: int,
    *,
    method: str = "GET",
    path: str = WS_PATH,
) -> dict[str, str]:
    """The three ``KALSHI-ACCESS-*`` headers for one request or connection attempt.

    Sign again for every attempt: the timestamp is part of the signature.
    """
    return {
        HEADER_KEY: key_id,
        HEADER_TIMESTAMP: str(timestamp_ms),
        HEADER_SIGNATURE: sign(key, timestamp_ms, method, path),
    }


def verify(
    public_key: rsa.RSAPublicKey, timestamp_ms: str, method: str, path: str, signature_b64: str
) -> bool:
    """True when ``signature_b64`` is a valid signature of ``timestamp_ms + method + path``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(
            signature, f"{timestamp_ms}{method}{path}".encode(), _PSS_VERIFY, hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True
