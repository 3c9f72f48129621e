"""Market discovery through Kalshi's REST API: the open markets of series and events.

``GET {rest}/markets?series_ticker=S&status=open&limit=1000`` (or ``event_ticker=E``),
following ``cursor`` until it comes back empty (kalshi-protocol.md 6.1: "pass back cursor
verbatim; stop on empty/absent cursor"). Requests are signed like the WebSocket upgrade, over
``timestamp_ms + "GET" + path`` where ``path`` is the full path from the host without the
query string (``/trade-api/v2/markets``; kalshi-protocol.md 1.2). The market endpoints are
public, but a signed request works everywhere and tells a bad key early.

The HTTP client is injected (:class:`HttpClient`); :class:`UrllibClient` is the real one
(stdlib ``urllib``, no extra dependency).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, Protocol
from urllib.parse import urlencode, urlsplit

from kcap import __version__
from kcap.errors import AuthRejectedError, DiscoveryError

log = logging.getLogger(__name__)

Signer = Callable[[str, str], dict[str, str]]
"""``signer(method, path) -> headers``: fresh ``KALSHI-ACCESS-*`` headers for one request."""

PAGE_LIMIT: Final = 1000
MAX_PAGES: Final = 1000
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


class HttpClient(Protocol):
    """One blocking HTTP GET."""

    def get(self, url: str, headers: dict[str, str], timeout_secs: float) -> tuple[int, bytes]:
        """Return ``(status, body)`` for any HTTP answer; raise ``OSError`` when there is none."""


class UrllibClient:
    """:class:`HttpClient` over ``urllib.request`` (TLS verification on, as by default)."""

    def get(self, url: str, headers: dict[str, str], timeout_secs: float) -> tuple[int, bytes]:
        request = urllib.request.Request(
            url,
            headers={**headers, "Accept": "application/json", "User-Agent": f"kcap/{__version__}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_secs) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read() or b""


class Discovery:
    """Finds open markets through the REST API.

    Args:
        rest_url: REST base, e.g. ``https://external-api.kalshi.com/trade-api/v2``.
        signer: signs each request (None: unsigned).
        http: the HTTP client.
        timeout_secs: per request.
        retries: attempts per page for 429 / 5xx / network errors.
        page_limit: markets per page (Kalshi allows up to 1000).
        sleep: ``sleep(seconds)`` between retries (injected in tests).
    """

    def __init__(
        self,
        rest_url: str,
        signer: Signer | None,
        http: HttpClient | None = None,
        *,
        timeout_secs: float = 10.0,
        retries: int = 3,
        page_limit: int = PAGE_LIMIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.base_path = urlsplit(self.rest_url).path
        self.signer = signer
        self.http = http or UrllibClient()
        self.timeout_secs = timeout_secs
        self.retries = retries
        self.page_limit = page_limit
        self.sleep = sleep

    def open_markets(
        self, *, series: Iterable[str] = (), events: Iterable[str] = ()
    ) -> dict[str, list[str]]:
        """Open market tickers per series and per event.

        Returns:
            ``{series_or_event_ticker: [market tickers, sorted]}`` (an empty list when one has
            no open market).

        Raises:
            AuthRejectedError: HTTP 401 / 403.
            DiscoveryError: another HTTP error, an unreadable answer, or the API unreachable
                after the retries.
        """
        found: dict[str, list[str]] = {}
        for key, value in [("series_ticker", s) for s in series] + [
            ("event_ticker", e) for e in events
        ]:
            tickers = {m["ticker"] for m in self._markets({key: value, "status": "open"})}
            found[value] = sorted(tickers)
            log.info("%s %s: %d open markets", key.split("_")[0], value, len(tickers))
        return found

    def _markets(self, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        cursor = ""
        for _ in range(MAX_PAGES):
            query = {**params, "limit": str(self.page_limit)}
            if cursor:
                query["cursor"] = cursor
            page = self._get("/markets", query)
            markets = page.get("markets")
            if not isinstance(markets, list):
                raise DiscoveryError(
                    f"{self.rest_url}/markets: expected a 'markets' list, got {sorted(page)}"
                )
            for market in markets:
                if isinstance(market, dict) and isinstance(market.get("ticker"), str):
                    yield market
            cursor = page.get("cursor") or ""
            if not cursor:
                return
        raise DiscoveryError(f"{self.rest_url}/markets: more than {MAX_PAGES} pages for {params}")

    def _get(self, endpoint: str, query: dict[str, str]) -> dict[str, Any]:
        url = f"{self.rest_url}{endpoint}?{urlencode(query)}"
        problem = ""
        for attempt in range(self.retries):
            if attempt:
                self.sleep(min(2.0**attempt, 30.0))
            headers = self.signer("GET", self.base_path + endpoint) if self.signer else {}
            try:
                status, body = self.http.get(url, headers, self.timeout_secs)
            except OSError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if status in (401, 403):
                raise AuthRejectedError(status, f"{self.rest_url}{endpoint}", _excerpt(body))
            if status in RETRY_STATUSES:
                problem = f"HTTP {status}"
                continue
            if status != 200:
                raise DiscoveryError(f"{url}: HTTP {status} {_excerpt(body)}")
            try:
                data = json.loads(body)
            except ValueError:
                raise DiscoveryError(f"{url}: the answer is not JSON: {_excerpt(body)}") from None
            if not isinstance(data, dict):
                raise DiscoveryError(f"{url}: expected a JSON object, got {type(data).__name__}")
            return data
        raise DiscoveryError(
            f"{url}: no answer after {self.retries} attempts ({problem})", retryable=True
        )


def _excerpt(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."
