"""The kcap error tree: every error kcap raises on purpose derives from :class:`KcapError`.

::

    KcapError
    ├── UsageError                 the caller misused kcap (bad option, bad argument)
    ├── CredentialsError           the API key id or private key cannot be used
    ├── FixedPointError            a price or size string that is not a valid fixed-point number
    ├── CaptureError               a capture file or directory problem
    │   ├── CaptureFormatError     a record or file kcap cannot read (damaged, wrong version)
    │   ├── CaptureNotFoundError   a path or glob that matches no capture
    │   └── CaptureWriteError      the recorder cannot write its capture (disk full, size limit)
    ├── DataError                  an input data file (real data, forecasts, outcomes) is unusable
    ├── ServeError                 ``kcap serve`` cannot serve (the address cannot be listened on)
    └── RecordError                ``kcap record`` had to stop
        ├── AuthRejectedError      Kalshi refused the API key (HTTP 401 / 403)
        ├── ConnectFatalError      a connection error that retrying cannot fix (bad URL, 404)
        └── DiscoveryError         market discovery through the REST API failed

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


class CaptureWriteError(CaptureError):
    """The recorder cannot write its capture (disk full, file size limit, I/O error).

    Every file closed before the error is intact; the file being written is cut back to its
    last whole record and sealed.

    Attributes:
        path: the file that could not be written.
        records: records written to that file before the error.
    """

    def __init__(self, message: str, *, path: str, records: int) -> None:
        self.path = path
        self.records = records
        super().__init__(message)


class RecordError(KcapError):
    """``kcap record`` had to stop (the capture written so far is sealed and intact)."""


class AuthRejectedError(RecordError):
    """Kalshi refused the API key: HTTP 401 or 403 on the WebSocket upgrade or a REST call.

    Attributes:
        status: the HTTP status code.
        url: the URL that refused (never the key or the signature).
    """

    def __init__(self, status: int, url: str, detail: str = "") -> None:
        self.status = status
        self.url = url
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{url} refused the API key: HTTP {status}{extra}; check --key-id / KALSHI_API_KEY_ID "
            "and --private-key / KALSHI_PRIVATE_KEY_PATH (a demo key does not work on prod, nor "
            "the reverse), and that the machine's clock is right"
        )


class ConnectFatalError(RecordError):
    """A connection failure that retrying cannot fix (bad URL, HTTP 404, unsupported scheme)."""


class DiscoveryError(RecordError):
    """Market discovery through Kalshi's REST API failed (bad answer, unknown series/event).

    Attributes:
        retryable: True when the API could not be reached (network, 429, 5xx): trying again
            later may work; False for an answer that will not change (4xx, not JSON).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        self.retryable = retryable
        super().__init__(message)
