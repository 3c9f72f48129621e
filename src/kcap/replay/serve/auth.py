"""Request authentication for ``kcap serve``, as Kalshi does it.

Every WebSocket upgrade and REST request carries ``KALSHI-ACCESS-KEY``,
``KALSHI-ACCESS-TIMESTAMP`` (Unix ms) and ``KALSHI-ACCESS-SIGNATURE`` (base64 RSA-PSS SHA-256
over ``timestamp + METHOD + path``, the path without its query string); a request without a
valid signature is answered 401 before any upgrade (kalshi-protocol.md section 1.2). The
signature is checked with :func:`kcap.capture.signing.verify`, the same code the recorder's
tests use to check what it signs.

Kalshi does not document how far the timestamp may be from the server's clock; kcap serve
accepts ``window_ms`` either way (30 s by default, ``--auth-window``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kcap.capture.signing import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP, verify
from kcap.errors import CredentialsError

DEFAULT_WINDOW_MS = 30_000


def load_public_key(path: str | Path) -> rsa.RSAPublicKey:
    """Load the RSA public key (PEM) that clients' signatures are checked against.

    A PEM private key is accepted too (its public half is used), so a test can point client
    and server at one file.

    Raises:
        CredentialsError: the file is missing, unreadable, not PEM, or not RSA.
    """
    path = Path(path)
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"cannot read public key file {path}: {exc.strerror}") from None
    key: object
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(pem, password=None).public_key()
        except (ValueError, TypeError):
            raise CredentialsError(
                f"public key {path} is not a PEM public key (expected '-----BEGIN PUBLIC KEY-----')"
            ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CredentialsError(f"public key {path} is not an RSA key; Kalshi API keys are RSA")
    return key


@dataclass(frozen=True)
class Authenticator:
    """Checks the ``KALSHI-ACCESS-*`` headers of a request.

    Attributes:
        public_key: the key signatures must verify against.
        window_ms: largest accepted distance between the request's timestamp and now.
        key_id: the required ``KALSHI-ACCESS-KEY``, or None to accept any non-empty id.
    """

    public_key: rsa.RSAPublicKey
    window_ms: int = DEFAULT_WINDOW_MS
    key_id: str | None = None

    def check(self, headers: Mapping[str, str], method: str, path: str, now_ms: int) -> str | None:
        """Why the request is refused, or None when it is authenticated.

        Args:
            headers: the request headers (case-insensitive mapping, as websockets gives).
            method: the HTTP method (``GET``).
            path: the request path, without the query string.
            now_ms: the server's clock, Unix milliseconds.
        """
        key = headers.get(HEADER_KEY)
        stamp = headers.get(HEADER_TIMESTAMP)
        signature = headers.get(HEADER_SIGNATURE)
        missing = [
            name
            for name, value in (
                (HEADER_KEY, key),
                (HEADER_TIMESTAMP, stamp),
                (HEADER_SIGNATURE, signature),
            )
            if not value
        ]
        if missing:
            return f"missing header {', '.join(missing)}"
        assert key is not None and stamp is not None and signature is not None
        if self.key_id is not None and key != self.key_id:
            return f"unknown API key id {key!r}"
        if not stamp.isdigit():
            return f"{HEADER_TIMESTAMP} must be Unix milliseconds, got {stamp!r}"
        if abs(now_ms - int(stamp)) > self.window_ms:
            return (
                f"{HEADER_TIMESTAMP} {stamp} is {abs(now_ms - int(stamp))} ms from the server's "
                f"clock (at most {self.window_ms} ms allowed); sign every request afresh"
            )
        if not verify(self.public_key, stamp, method, path, signature):
            return f"invalid signature for {method} {path}"
        return None
