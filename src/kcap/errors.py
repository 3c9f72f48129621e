"""The kcap error tree: every error kcap raises on purpose derives from :class:`KcapError`.

::

    KcapError
    ├── UsageError                 the caller misused kcap (bad option, bad argument)
    ├── CredentialsError           the API key id or private key cannot be used
    ├── FixedPointError            a price or size string that is not a valid fixed-point number
    ├── CaptureError               a capture file or directory problem
    │   ├── CaptureFormatError     a record or file kcap cannot read (damaged, wrong version)
    │   └── CaptureNotFoundError   a path or glob that matches no capture
    ├── DataError                  an input data file (real data, forecasts, outcomes) is unusable
    └── ServeError                 ``kcap serve`` cannot serve (the address cannot be listened on)

Errors that blame Kalshi (``Kalshi sent ...``) and errors that blame the caller
(``expected ..., got ...``) say so in their message. Frames that fail to decode are
not errors: they become :class:`kcap.schemas.wire.MalformedFrame` values and are kept.
"""

from __future__ import annotations


class KcapError(Exception):
    """Root of every error kcap raises on purpose. The CLI prints it as ``kcap: <message>``."""


class UsageError(KcapError):
    """The caller passed an option or argument kcap cannot use."""


class CredentialsError(KcapError):
    """The API key id or private key file cannot be used (missing, unreadable, encrypted, not RSA).

    Messages name the file, never the key's content.
    """


class FixedPointError(KcapError, ValueError):
    """A price or size is not a fixed-point decimal kcap can hold exactly.

    Attributes:
        text: the offending text as found.
        expected: what was expected, in words.
    """

    def __init__(self, text: object, expected: str) -> None:
        self.text = text
        self.expected = expected
        super().__init__(f"expected {expected}, found {text!r}")


class CaptureError(KcapError):
    """A capture file or directory cannot be used."""


class CaptureFormatError(CaptureError):
    """A capture record or file is damaged or of a format version kcap cannot read.

    Attributes:
        path: the file, when known.
        line: the 1-based line number (JSONL) or row (Parquet), when known.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class CaptureNotFoundError(CaptureError):
    """A path, directory or glob matched no capture file."""


class DataError(KcapError):
    """An input data file (real data, forecasts, outcomes, market metadata) is unusable."""


class ServeError(KcapError):
    """``kcap serve`` cannot serve: the host and port cannot be listened on, for example.

    Problems with the capture raise :class:`CaptureError`, with the public key
    :class:`CredentialsError`, with options :class:`UsageError`.
    """
