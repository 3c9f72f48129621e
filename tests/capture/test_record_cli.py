"""``kcap record`` options: clear errors before any connection."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kcap.capture.cli_run import RecordOptions, build_config
from kcap.capture.config import DEFAULT_SERIES, parse_channels, parse_rotate, rest_base_for
from kcap.cli import main
from kcap.errors import CredentialsError, UsageError


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["record", *args], env=env or {})
    return result.exit_code, result.output


def test_unknown_channel_lists_the_valid_ones(key_file: Path) -> None:
    code, out = run("--key-id", "k", "--private-key", str(key_file), "--channels", "trades")
    assert code == 1
    assert "kcap: --channels: unknown Kalshi channel 'trades' (did you mean 'trade'?)" in out
    assert "orderbook_delta" in out and "market_lifecycle_v2" in out


def test_missing_credentials_are_named(tmp_path: Path) -> None:
    code, out = run()
    assert code == 1 and "no API key id: pass --key-id or set KALSHI_API_KEY_ID" in out
    code, out = run("--key-id", "k")
    assert code == 1 and "--private-key PATH or set KALSHI_PRIVATE_KEY_PATH" in out
    code, out = run("--key-id", "k", "--private-key", str(tmp_path / "nope.pem"))
    assert code == 1 and "private key file not found" in out


def test_credentials_from_the_environment(tmp_path: Path) -> None:
    env = {"KALSHI_API_KEY_ID": "k", "KALSHI_PRIVATE_KEY_PATH": str(tmp_path / "missing.pem")}
    code, out = run("--out", str(tmp_path / "c"), env=env)
    assert code == 1 and f"private key file not found: {tmp_path / 'missing.pem'}" in out


def test_password_protected_key_fails_before_connecting(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = tmp_path / "locked.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    code, out = run("--key-id", "k", "--private-key", str(path), "--out", str(tmp_path / "c"))
    assert code == 1 and "is password-protected" in out
    assert "BEGIN" not in out
    assert not (tmp_path / "c").exists()  # nothing written, nothing connected


def test_bad_options_are_usage_errors(key_file: Path) -> None:
    base = ("--key-id", "k", "--private-key", str(key_file))
    assert "expected a duration and/or a size" in run(*base, "--rotate", "often")[1]
    assert "--url: expected a wss or ws URL" in run(*base, "--url", "http://x")[1]
    assert "--idle-timeout" in run(*base, "--idle-timeout", "soon")[1]


def test_config_defaults_and_endpoints(key_file: Path) -> None:
    config = build_config(RecordOptions(key_id="k", private_key=key_file))
    assert config.ws_url == "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"
    assert config.rest_url == "https://external-api.demo.kalshi.co/trade-api/v2"
    assert config.follow_series == DEFAULT_SERIES
    assert config.all_channels == ("orderbook_delta", "trade", "market_lifecycle_v2")
    prod = build_config(RecordOptions(key_id="k", private_key=key_file, env="prod"))
    assert prod.ws_url == "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    assert prod.rest_url == "https://external-api.kalshi.com/trade-api/v2"
    local = build_config(
        RecordOptions(
            key_id="k",
            private_key=key_file,
            url="ws://127.0.0.1:8765/trade-api/ws/v2",
            markets=("kxhighny-26nov21-b53.5,KXHIGHNY-26NOV21-T51",),
        )
    )
    assert local.rest_url == "http://127.0.0.1:8765/trade-api/v2" and local.env == "custom"
    assert local.markets == ("KXHIGHNY-26NOV21-B53.5", "KXHIGHNY-26NOV21-T51")
    assert local.follow_series == () and local.all_channels == ("orderbook_delta", "trade")
    with pytest.raises(CredentialsError):
        build_config(RecordOptions(key_id=None, private_key=key_file))


def test_parsers() -> None:
    assert parse_channels("orderbook_delta, trade,trade") == ("orderbook_delta", "trade")
    with pytest.raises(UsageError, match="at least one channel"):
        parse_channels(" , ")
    assert parse_rotate("15m") == (900 * 10**9, None)
    assert parse_rotate("512MB") == (None, 512 * 10**6)
    assert parse_rotate("1h,1GiB") == (3600 * 10**9, 2**30)
    with pytest.raises(UsageError, match="below 4 KiB"):
        parse_rotate("100B")
    assert rest_base_for("wss://h.example/trade-api/ws/v2") == "https://h.example/trade-api/v2"
    assert rest_base_for("ws://127.0.0.1:9/") == "http://127.0.0.1:9/trade-api/v2"
