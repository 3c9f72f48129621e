"""Where the real data that kcap converts comes from: repository, commit, path and licence.

Copied from the ``PROVENANCE.md`` of each folder of ``../shared/real-data`` (found in public
GitHub repositories on 2026-11-21). The converters put these facts into every derived
capture's header record, and ``scripts/build_sample.py`` into the embedded sample's NOTICE,
so that nobody mistakes derived records for raw Kalshi frames or the data for kcap's own.

None of the Kalshi price sources has a licence (default copyright): use the converted data
for testing and demonstration only, as their PROVENANCE files say.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Source(NamedTuple):
    """One real-data folder: what it is and where it was copied from.

    Attributes:
        folder: the folder's name under ``real-data/`` (also the ``derived:<folder>`` origin).
        repo: the source repository.
        commit: the commit the files were copied from (the snapshot HEAD when the files'
            own last commit is unknown).
        paths: the file paths inside the source repository.
        licence: the licence as found, in words.
        what: one line on what the data is.
    """

    folder: str
    repo: str
    commit: str
    paths: str
    licence: str
    what: str


NO_LICENCE: Final = (
    "none (no LICENSE file; default copyright): for internal testing and demonstration only"
)

BBO: Final = Source(
    folder="jetpackjules-kxhighny-bbo",
    repo="github.com/Jetpackjules/Kalshi-Trader",
    commit="37bb2a9abccc42b01ffd93ef977da8ddc9355ccd",
    paths="server_mirror/market_logs/market_data_KXHIGHNY-<date>.csv",
    licence=NO_LICENCE,
    what="best YES / best NO bid change log of every KXHIGHNY market, written by a WS logger",
)
HEADLESS_BOOKS: Final = Source(
    folder="kalshi-headless-weather-books",
    repo="github.com/rgillon10-pixel/kalshi-headless",
    commit="2de3a701ff79741474e0fa8073003b52cf775e5e",
    paths="tape/weather_books/dt=YYYY-MM-DD.jsonl",
    licence=NO_LICENCE,
    what="full-depth REST order books (orderbook_fp) of every weather market, every 1-6 h",
)
ERICZHANG_BOOKS: Final = Source(
    folder="ericzhang-kxhighny-rest-orderbooks",
    repo="github.com/ericzzhang27-sys/Kalshi-Weather-Trading",
    commit="a0e3111edc764702696ff0cc9001a6501e9465d5",
    paths="data/raw/kalshi_orderbooks/raw/2026/08/24/20260824T140008Z.jsonl",
    licence=NO_LICENCE,
    what="one REST order-book cycle (depth 20) of the six KXHIGHNY-26AUG24 markets",
)
ERICZHANG_CLI: Final = Source(
    folder="ericzhang-kxhighny-rest-orderbooks",
    repo="github.com/ericzzhang27-sys/Kalshi-Weather-Trading",
    commit="3af36ea167a0f9ba9f69f05920a4dcbc3d3a91ff",
    paths="data/processed/knyc_cli_daily_2018_2026.csv (tail 2026-07-28..08-23)",
    licence=NO_LICENCE + "; the CLI values themselves are US-government public-domain facts",
    what="NWS CLI daily highs for Central Park (KNYC)",
)
SAMEERES: Final = Source(
    folder="sameeres-kxhigh-candles-ghcnd",
    repo="github.com/sameeres/kalshi-weather-bot",
    commit="6584c0570e070cec7549c720c55803b4eb8a1d0f",
    paths="data/staging/kalshi_markets.parquet, data/staging/weather_daily.parquet",
    licence=NO_LICENCE + "; GHCND values are US-government public-domain facts",
    what="Kalshi market list (strikes, close times) and NOAA GHCND daily TMAX for KNYC",
)
OPEN_METEO: Final = Source(
    folder="aninaga-openmeteo-prevrun-forecasts",
    repo="github.com/aninaga/kalshi",
    commit="259e05425c1a705f3904a57c52fe11a491bc9776",
    paths="market_data/weather/features/forecast_high_f.parquet",
    licence=NO_LICENCE + '; Open-Meteo data is CC-BY 4.0 ("Weather data by Open-Meteo.com")',
    what="Open-Meteo Previous Runs daily-high forecasts at leads 1 and 2 days per Kalshi event",
)
MOSTLYRIGHT: Final = Source(
    folder="mostlyright-cli-parity",
    repo="github.com/zax0rz/mostlyright-sdk",
    commit="9148d109fc031c9e134905fe118f6b5b87f538a2",
    paths="tests/fixtures/parity/ts/case_1_KNYC_2025-01-06_2025-01-12.json",
    licence="MIT (LICENSE.mostlyright-sdk)",
    what="NWS CLI daily highs for Central Park (KNYC), 2025-01-06..12",
)

HEADLESS_BLOBS: Final[dict[str, tuple[str, str]]] = {
    "weather_books_2026-07-16.jsonl.gz": (
        "8338384eb8992b56f0b0aa7b525d5051ab4235bc",
        "9925ce9bd2786a44f8a6ed8db6ef4bfb44acaebe",
    ),
    "weather_books_2026-07-17.jsonl.gz": (
        "6e4a07aebac18fa69268367802eb6d3d06b85482",
        "4a3319da7a2ebdedcdd3d4ab31c216460684b272",
    ),
    "weather_books_2026-07-18.jsonl.gz": (
        "4658e2d47757157aca853d557958c4d031a82430",
        "c91c6373fbc4cd121968b88af9846a33bc0e1806",
    ),
    "weather_books_2026-07-19.jsonl.gz": (
        "b61d4a1e26d891afe3e6d944634ec10283caab61",
        "a1c1baa89cafa77e3b7aae60530fefc2931a48b4",
    ),
    "weather_books_2026-07-20.jsonl.gz": (
        "ecdac5667f5c9efdb7e29580d6e294e997db6009",
        "49aefc4eb8c179c132c6c62c294e420d14e728b6",
    ),
    "weather_books_2026-07-21.jsonl.gz": (
        "480da089d83f8b811842038788026e3d325c2927",
        "ed5a1c6740e5341cb2531696ef78fd12f9d101dc",
    ),
    "weather_books_2026-07-22.jsonl.gz": (
        "efb11b6ae5de671da53ad734b694cda07e19fb23",
        "f01757ccf2be967c7ed0e957694d3a088495ec20",
    ),
    "weather_books_2026-07-23.jsonl.gz": (
        "95771dfa44eca126a0d588b3f4df919da197993c",
        "6e639079d613fc657373c28f4372ab22e262746f",
    ),
    "weather_books_2026-07-24.jsonl.gz": (
        "2de3a701ff79741474e0fa8073003b52cf775e5e",
        "88bdb2537e1a52b5259bbce42369a885daee23a5",
    ),
}
"""``weather_books_*`` file -> (commit, blob) of the copy (PROVENANCE.md of the folder). Days
07-16..07-22 are older blobs of append-only files and may stop early."""


def describe(
    source: Source, *, commit: str | None = None, blob: str | None = None
) -> dict[str, str]:
    """A source as the JSON-able dict that goes into a header record's ``info.provenance``."""
    out = {
        "folder": source.folder,
        "repo": source.repo,
        "commit": commit or source.commit,
        "paths": source.paths,
        "licence": source.licence,
        "what": source.what,
    }
    if blob is not None:
        out["blob"] = blob
    return out
