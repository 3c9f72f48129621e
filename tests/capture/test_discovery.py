"""REST discovery: signed GETs, cursor pagination, clear errors (a fake HTTP client)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from kcap.capture.discovery import Discovery
from kcap.errors import AuthRejectedError, DiscoveryError

REST = "https://external-api.demo.kalshi.co/trade-api/v2"


class FakeHttp:
    """Answers /markets from a list, ``page`` markets per page; records every request."""

    def __init__(self, markets: list[dict[str, str]], *, fail: list[int] | None = None) -> None:
        self.markets = markets
        self.fail = list(fail or [])
        self.requests: list[tuple[str, dict[str, str]]] = []

    def get(self, url: str, headers: dict[str, str], timeout_secs: float) -> tuple[int, bytes]:
        self.requests.append((url, headers))
        if self.fail:
            code = self.fail.pop(0)
            if code == 0:
                raise ConnectionResetError(104, "Connection reset by peer")
            return code, b'{"error": {"code": "x", "message": "nope"}}'
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        rows = [
            m
            for m in self.markets
            if m["status"] == "active"
            and m["ticker"].startswith(query.get("series_ticker", query.get("event_ticker", "")))
        ]
        start = int(query.get("cursor", "0"))
        limit = int(query["limit"])
        page = rows[start : start + limit]
        cursor = str(start + limit) if start + limit < len(rows) else ""
        return 200, json.dumps({"markets": page, "cursor": cursor}).encode()


MARKETS = [{"ticker": f"KXHIGHNY-26NOV21-B{50 + i}.5", "status": "active"} for i in range(5)] + [
    {"ticker": "KXHIGHNY-26NOV20-B50.5", "status": "finalized"},
    {"ticker": "KXHIGHCHI-26NOV21-T40", "status": "active"},
]


def signer(method: str, path: str) -> dict[str, str]:
    return {"KALSHI-ACCESS-KEY": "k", "signed": f"{method} {path}"}


def test_pages_through_the_cursor_and_signs_the_path_without_query() -> None:
    http = FakeHttp(MARKETS)
    discovery = Discovery(REST, signer, http, page_limit=2)
    found = discovery.open_markets(series=["KXHIGHNY"], events=["KXHIGHCHI-26NOV21"])
    assert found == {
        "KXHIGHNY": [f"KXHIGHNY-26NOV21-B{50 + i}.5" for i in range(5)],
        "KXHIGHCHI-26NOV21": ["KXHIGHCHI-26NOV21-T40"],
    }
    assert len(http.requests) == 3 + 1  # three pages, then one
    url, headers = http.requests[1]
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "series_ticker": ["KXHIGHNY"],
        "status": ["open"],
        "limit": ["2"],
        "cursor": ["2"],
    }
    assert headers["signed"] == "GET /trade-api/v2/markets"


def test_a_series_with_no_open_market_is_empty_not_an_error() -> None:
    assert Discovery(REST, signer, FakeHttp(MARKETS)).open_markets(series=["KXHIGHMIA"]) == {
        "KXHIGHMIA": []
    }


@pytest.mark.parametrize("code", [401, 403])
def test_refused_key_is_fatal(code: int) -> None:
    with pytest.raises(
        AuthRejectedError, match=f"/trade-api/v2/markets refused the API key: HTTP {code}"
    ):
        Discovery(REST, signer, FakeHttp(MARKETS, fail=[code])).open_markets(series=["KXHIGHNY"])


def test_overload_and_network_errors_are_retried() -> None:
    sleeps: list[float] = []
    http = FakeHttp(MARKETS, fail=[503, 0])
    discovery = Discovery(REST, signer, http, sleep=sleeps.append)
    assert len(discovery.open_markets(series=["KXHIGHNY"])["KXHIGHNY"]) == 5
    assert sleeps == [2.0, 4.0]
    with pytest.raises(DiscoveryError, match="no answer after 3 attempts") as info:
        Discovery(
            REST, signer, FakeHttp(MARKETS, fail=[429] * 3), sleep=sleeps.append
        ).open_markets(series=["KXHIGHNY"])
    assert info.value.retryable


def test_bad_answers_are_clear_errors() -> None:
    class Garbage(FakeHttp):
        def get(self, url: str, headers: dict[str, str], timeout_secs: float) -> tuple[int, bytes]:
            return 200, b"<html>"

    with pytest.raises(DiscoveryError, match="not JSON: <html>") as info:
        Discovery(REST, signer, Garbage([])).open_markets(series=["KXHIGHNY"])
    assert not info.value.retryable
    with pytest.raises(DiscoveryError, match="HTTP 400"):
        Discovery(REST, signer, FakeHttp(MARKETS, fail=[400])).open_markets(events=["E"])
