"""Kalshi REST discovery answered from a capture, for ``kcap serve``: pure request -> response.

Endpoints (all ``GET``, under ``/trade-api/v2``; shapes from OpenAPI 3.13.0 and
kalshi-protocol.md section 6):

====================================== =====================================================
``/markets``                           ``{"markets": [Market], "cursor": ""}``; params
                                       ``series_ticker``, ``event_ticker``, ``tickers``
                                       (comma list), ``status`` (one of unopened, open,
                                       paused, closed, settled), ``limit`` (1-1000, default
                                       100), ``cursor``
``/markets/{ticker}``                  ``{"market": Market}``
``/markets/{ticker}/orderbook``        ``{"orderbook_fp": {"yes_dollars": [...],
                                       "no_dollars": [...]}}`` (ascending), ``depth``
``/events``                            ``{"events": [EventData], "cursor": ""}``; params
                                       ``series_ticker``, ``status`` (unopened, open, closed,
                                       settled), ``with_nested_markets``, ``with_milestones``,
                                       ``limit`` (1-200, default 200), ``cursor``
``/events/{event_ticker}``             ``{"event": EventData, "markets": [Market]}``
====================================== =====================================================

Answers describe the replay's present: status from lifecycle frames seen so far (or the
capture's ``close_ts``), bids and asks from the books clients are being served. Pagination is
real: the cursor is opaque, an empty cursor means the last page. Fields a capture cannot know
get neutral values (``""``, ``"0.0000"``, ``false``); ``open_time``/``close_time`` fall back to
the first and last time the capture mentions the market. Filters Kalshi has but a capture
cannot answer (``min_close_ts`` ...) are ignored. A bad parameter is 400 with Kalshi's error
object ``{"error": {"code", "message", "service"}}``; an unknown path or ticker is 404.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol
from urllib.parse import parse_qs

import msgspec

from kcap.book import Level
from kcap.fixedpoint import ONE_DOLLAR_CC, format_price, format_size
from kcap.replay.serve.markets import NS_PER_S, MarketCatalog, MarketInfo

REST_PREFIX: Final = "/trade-api/v2"
MARKET_STATUSES: Final[dict[str, frozenset[str]]] = {
    "unopened": frozenset({"initialized"}),
    "open": frozenset({"active"}),
    "paused": frozenset({"inactive"}),
    "closed": frozenset({"closed"}),
    "settled": frozenset({"determined", "finalized"}),
}
"""``status`` filter value -> ``Market.status`` values it selects (kalshi-protocol.md 6.2)."""

_encode = msgspec.json.Encoder().encode


class BookView(Protocol):
    """What REST reads: the catalog, the replay time and the served books."""

    catalog: MarketCatalog
    now_ns: int | None

    def levels(self, market_ticker: str) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """The served ``(yes, no)`` bid ladders of a market, ascending."""


class _BadRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def answer(path: str, query: str, view: BookView) -> tuple[int, bytes]:
    """Answer one REST ``GET``.

    Args:
        path: the request path (``/trade-api/v2/markets``), without the query string.
        query: the raw query string (``series_ticker=KXHIGHNY&limit=2``).
        view: the feed.

    Returns:
        ``(HTTP status, JSON body)``.
    """
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    parts = path[len(REST_PREFIX) :].strip("/").split("/") if path.startswith(REST_PREFIX) else []
    try:
        if parts == ["markets"]:
            return 200, _encode(_markets(params, view))
        if parts == ["events"]:
            return 200, _encode(_events(params, view))
        if len(parts) == 2 and parts[0] == "markets":
            return 200, _encode({"market": _market(_known(view, parts[1]), view)})
        if len(parts) == 3 and parts[0] == "markets" and parts[2] == "orderbook":
            return 200, _encode(_orderbook(_known(view, parts[1]).ticker, params, view))
        if len(parts) == 2 and parts[0] == "events" and parts[1] in view.catalog.events:
            markets = view.catalog.event_markets(parts[1])
            event = _event(parts[1], markets, view, nested=False)
            return 200, _encode({"event": event, "markets": [_market(m, view) for m in markets]})
        raise _BadRequestError(404, f"not found: {path}")
    except _BadRequestError as exc:
        code = "not_found" if exc.status == 404 else "bad_request"
        body = {"error": {"code": code, "message": str(exc), "service": "kcap-serve"}}
        return exc.status, _encode(body)


def _known(view: BookView, ticker: str) -> MarketInfo:
    info = view.catalog.markets.get(ticker)
    if info is None:
        raise _BadRequestError(404, f"market not found: {ticker}")
    return info


# ---------------------------------------------------------------------------------------------
# /markets, /events


def _markets(params: dict[str, str], view: BookView) -> dict[str, Any]:
    now = view.now_ns
    chosen = list(view.catalog.markets.values())
    if params.get("series_ticker"):
        chosen = [m for m in chosen if m.series_ticker == params["series_ticker"]]
    if params.get("event_ticker"):
        chosen = [m for m in chosen if m.event_ticker == params["event_ticker"]]
    if params.get("tickers"):
        wanted = {t.strip() for t in params["tickers"].split(",") if t.strip()}
        chosen = [m for m in chosen if m.ticker in wanted]
    if params.get("status"):
        statuses = _status(params["status"], MARKET_STATUSES)
        chosen = [m for m in chosen if m.status_at(now) in statuses]
    chosen.sort(key=lambda m: m.ticker)
    page, cursor = _page(chosen, params, default=100, maximum=1000)
    return {"markets": [_market(m, view) for m in page], "cursor": cursor}


def _events(params: dict[str, str], view: BookView) -> dict[str, Any]:
    catalog = view.catalog
    groups = {e: catalog.event_markets(e) for e in sorted(catalog.events)}
    if params.get("series_ticker"):
        groups = {
            e: ms
            for e, ms in groups.items()
            if catalog.events[e].series_ticker == params["series_ticker"]
        }
    if params.get("status"):
        wanted = params["status"]
        _status(wanted, {k: v for k, v in MARKET_STATUSES.items() if k != "paused"})
        groups = {e: ms for e, ms in groups.items() if _event_status(ms, view.now_ns) == wanted}
    nested = _bool(params, "with_nested_markets")
    page, cursor = _page(list(groups), params, default=200, maximum=200)
    out: dict[str, Any] = {"events": [_event(e, groups[e], view, nested=nested) for e in page]}
    if _bool(params, "with_milestones"):
        out["milestones"] = []
    out["cursor"] = cursor
    return out


def _status(value: str, table: dict[str, frozenset[str]]) -> frozenset[str]:
    if value not in table:
        raise _BadRequestError(400, f"status: expected one of {', '.join(table)}, got {value!r}")
    return table[value]


def _event_status(markets: Sequence[MarketInfo], now_ns: int | None) -> str:
    statuses = {m.status_at(now_ns) for m in markets}
    if statuses & {"active", "inactive"}:
        return "open"
    if statuses and statuses <= {"determined", "finalized"}:
        return "settled"
    if statuses == {"initialized"}:
        return "unopened"
    return "closed"


def _bool(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise _BadRequestError(400, f"{name}: expected true or false, got {params[name]!r}")
    return value == "true"


def _page(
    items: list[Any], params: dict[str, str], *, default: int, maximum: int
) -> tuple[list[Any], str]:
    """One page of ``items`` and the cursor of the next ('' on the last page)."""
    text = params.get("limit", "")
    try:
        limit = int(text) if text else default
    except ValueError:
        raise _BadRequestError(400, f"limit: expected an integer, got {text!r}") from None
    if limit == 0:
        limit = default
    if not 1 <= limit <= maximum:
        raise _BadRequestError(400, f"limit: expected 1 to {maximum}, got {limit}")
    start = _offset(params.get("cursor", ""))
    end = start + limit
    return items[start:end], cursor_for(end) if end < len(items) else ""


def cursor_for(offset: int) -> str:
    """The opaque cursor of the page starting at ``offset``."""
    return base64.urlsafe_b64encode(f"kcap:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "kcap" or not number.isdigit():
            raise ValueError(text)
    except ValueError:
        raise _BadRequestError(
            400, f"cursor: not a cursor this server gave out: {cursor!r}"
        ) from None
    return int(number)


# ---------------------------------------------------------------------------------------------
# objects


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _best(levels: Sequence[Level]) -> Level | None:
    return levels[-1] if levels else None


def _market(info: MarketInfo, view: BookView) -> dict[str, Any]:
    """A REST ``Market`` object (OpenAPI 3.13.0 required fields) at the replay's present."""
    yes, no = view.levels(info.ticker)
    yes_bid, no_bid = _best(yes), _best(no)
    now = view.now_ns
    open_s = info.open_ts if info.open_ts is not None else info.first_ns / NS_PER_S
    close_s = info.close_ts if info.close_ts is not None else info.last_ns / NS_PER_S
    out: dict[str, Any] = {
        "ticker": info.ticker,
        "event_ticker": info.event_ticker,
        "market_type": "binary",
        "title": info.title,
        "yes_sub_title": info.yes_sub_title,
        "no_sub_title": info.no_sub_title,
        "created_time": _rfc3339(open_s),
        "updated_time": _rfc3339((now if now is not None else info.first_ns) / NS_PER_S),
        "open_time": _rfc3339(open_s),
        "close_time": _rfc3339(close_s),
        "latest_expiration_time": _rfc3339(close_s),
        "settlement_timer_seconds": 0,
        "status": info.status_at(now),
        "yes_bid_dollars": _price(yes_bid, 0),
        "yes_bid_size_fp": _size(yes_bid),
        "yes_ask_dollars": _price(no_bid, ONE_DOLLAR_CC, reciprocal=True),
        "yes_ask_size_fp": _size(no_bid),
        "no_bid_dollars": _price(no_bid, 0),
        "no_ask_dollars": _price(yes_bid, ONE_DOLLAR_CC, reciprocal=True),
        "last_price_dollars": info.last_price_dollars,
        "volume_fp": info.volume_fp,
        "volume_24h_fp": "0.00",
        "open_interest_fp": info.open_interest_fp,
        "notional_value_dollars": "1.0000",
        "previous_yes_bid_dollars": "0.0000",
        "previous_yes_ask_dollars": "0.0000",
        "previous_price_dollars": "0.0000",
        "liquidity_dollars": "0.0000",
        "result": info.result,
        "can_close_early": info.can_close_early,
        "fractional_trading_enabled": False,
        "expiration_value": "",
        "rules_primary": info.rules_primary,
        "rules_secondary": info.rules_secondary,
        "price_level_structure": info.price_level_structure,
        "price_ranges": info.price_ranges,
    }
    if info.settlement_value is not None:
        out["settlement_value_dollars"] = info.settlement_value
    for name in ("strike_type", "floor_strike", "cap_strike"):
        value = getattr(info, name)
        if value is not None:
            out[name] = value
    return out


def _price(level: Level | None, empty_cc: int, *, reciprocal: bool = False) -> str:
    if level is None:
        return format_price(empty_cc)
    return format_price(ONE_DOLLAR_CC - level.price_cc if reciprocal else level.price_cc)


def _size(level: Level | None) -> str:
    return format_size(level.size_cx if level is not None else 0)


def _event(
    event_ticker: str, markets: Sequence[MarketInfo], view: BookView, *, nested: bool
) -> dict[str, Any]:
    info = view.catalog.events[event_ticker]
    out: dict[str, Any] = {
        "event_ticker": event_ticker,
        "series_ticker": info.series_ticker,
        "sub_title": info.sub_title,
        "title": info.title,
        "collateral_return_type": info.collateral_return_type,
        "mutually_exclusive": False,
        "available_on_brokers": False,
        "product_metadata": {},
    }
    if info.strike_date is not None:
        out["strike_date"] = _rfc3339(info.strike_date)
    if info.strike_period:
        out["strike_period"] = info.strike_period
    if nested:
        out["markets"] = [_market(m, view) for m in markets]
    return out


def _orderbook(ticker: str, params: dict[str, str], view: BookView) -> dict[str, Any]:
    """``GET /markets/{ticker}/orderbook``: ascending ladders, the best ``depth`` levels."""
    text = params.get("depth", "0")
    if not text.lstrip("-").isdigit():
        raise _BadRequestError(400, f"depth: expected an integer, got {text!r}")
    depth = int(text)
    yes, no = view.levels(ticker)

    def ladder(
        levels: Sequence[Level], fmt: Callable[[int], str] = format_price
    ) -> list[list[str]]:
        best = levels[-depth:] if depth > 0 else levels
        return [[fmt(p), format_size(s)] for p, s in best]

    return {"orderbook_fp": {"yes_dollars": ladder(yes), "no_dollars": ladder(no)}}
