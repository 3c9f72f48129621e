"""Crash recovery (sealing leftovers, torn tails) and finalization (Parquet + manifest)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from captures import scenario_records
from frames import delta, snapshot
from kcap.capture.manifest import finalize, main, read_manifest, sha256_file, verify_parquet
from kcap.capture.recover import recover, seal_leftover
from kcap.capture.rotate import publish
from kcap.errors import CaptureFormatError
from kcap.replay.readers import read_capture
from kcap.schemas.record import encode_record

DAY = "2025-12-19"


def write_part(root: Path, name: str, data: bytes) -> Path:
    path = root / DAY / f"{name}.jsonl.part"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_torn_tail_is_cut_and_reported(tmp_path: Path) -> None:
    whole = b"".join(scenario_records())
    part = write_part(tmp_path, "kcap-a", whole + b'{"kind":"frame","conn":"s.2","rec":3,"re')
    repair = seal_leftover(part)
    assert repair is not None and repair.torn and repair.cut_lines == 0
    assert repair.sealed == tmp_path / DAY / "kcap-a.jsonl"
    assert repair.sealed.read_bytes() == whole
    assert not part.exists()
    note = json.loads((tmp_path / DAY / "kcap-a.repair.json").read_text())
    assert note["cut_bytes"] == len(b'{"kind":"frame","conn":"s.2","rec":3,"re')


def test_trailing_garbage_lines_are_cut(tmp_path: Path) -> None:
    whole = b"".join(scenario_records())
    part = write_part(tmp_path, "kcap-b", whole + b"\x00\x00\x00\n{nonsense}\n")
    repair = seal_leftover(part)
    assert repair is not None and repair.cut_lines == 2 and not repair.torn
    assert repair.sealed is not None and repair.sealed.read_bytes() == whole


def test_clean_leftover_is_sealed_unchanged(tmp_path: Path) -> None:
    whole = b"".join(scenario_records())
    part = write_part(tmp_path, "kcap-c", whole)
    repair = seal_leftover(part)
    assert repair is not None and repair.cut_bytes == 0
    assert repair.sealed is not None and repair.sealed.read_bytes() == whole
    assert not (tmp_path / DAY / "kcap-c.repair.json").exists()


def test_leftover_without_a_whole_record_is_removed(tmp_path: Path) -> None:
    part = write_part(tmp_path, "kcap-d", b'{"kind":"hea')
    repair = seal_leftover(part)
    assert repair is not None and repair.sealed is None
    assert not part.exists()


def test_a_file_held_by_a_live_writer_is_left_alone(tmp_path: Path) -> None:
    part = write_part(tmp_path, "kcap-e", b"".join(scenario_records()))
    fd = os.open(part, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert seal_leftover(part) is None
        result = recover(tmp_path)
        assert result.busy == [part] and not result.repairs
    finally:
        os.close(fd)
    assert part.exists()


def test_sealing_never_overwrites(tmp_path: Path) -> None:
    existing = tmp_path / DAY / "kcap-f.jsonl"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"older capture\n")
    part = write_part(tmp_path, "kcap-f", b"".join(scenario_records()))
    repair = seal_leftover(part)
    assert repair is not None and repair.sealed == tmp_path / DAY / "kcap-f-2.jsonl"
    assert existing.read_bytes() == b"older capture\n"
    other = tmp_path / "x.jsonl"
    other.write_bytes(b"x")
    assert publish(other, existing).name == "kcap-f-3.jsonl"


def test_recover_lists_sealed_files_without_manifest(tmp_path: Path) -> None:
    write_part(tmp_path, "kcap-g", b"".join(scenario_records()) + b'{"torn')
    done = tmp_path / DAY / "kcap-h.jsonl"
    done.write_bytes(b"".join(scenario_records()))
    finalize(done)
    result = recover(tmp_path)
    assert [r.sealed for r in result.repairs] == [tmp_path / DAY / "kcap-g.jsonl"]
    assert result.to_finalize == [tmp_path / DAY / "kcap-g.jsonl"]


def test_finalize_writes_parquet_and_manifest(tmp_path: Path) -> None:
    part = write_part(tmp_path, "kcap-i", b"".join(scenario_records()) + b'{"torn')
    repair = seal_leftover(part)
    assert repair is not None and repair.sealed is not None
    jsonl = repair.sealed
    jsonl_sha, jsonl_bytes = sha256_file(jsonl)
    manifest = finalize(jsonl)
    assert manifest is not None
    parquet = tmp_path / DAY / "kcap-i.parquet"
    assert manifest["jsonl"] == {"name": "kcap-i.jsonl", "bytes": jsonl_bytes, "sha256": jsonl_sha}
    assert manifest["parquet"] == {
        "name": "kcap-i.parquet",
        "bytes": parquet.stat().st_size,
        "sha256": sha256_file(parquet)[0],
        "rows": 13,
    }
    assert manifest["records"] == 13
    assert manifest["kinds"] == {"connect": 2, "disconnect": 1, "frame": 9, "header": 1}
    assert manifest["types"] == {"orderbook_delta": 5, "orderbook_snapshot": 4}
    assert manifest["connections"] == ["", "s.1", "s.2"]
    assert manifest["sids"] == [
        {
            "conn": "s.1",
            "sid": 1,
            "channel": None,
            "frames": 7,
            "seq_first": 1,
            "seq_last": 8,
            "seq_frames": 7,
        },
        {
            "conn": "s.2",
            "sid": 1,
            "channel": None,
            "frames": 2,
            "seq_first": 1,
            "seq_last": 2,
            "seq_frames": 2,
        },
    ]
    assert manifest["repair"]["cut_bytes"] == len(b'{"torn')
    assert manifest["market_count"] == 2
    assert manifest["disconnects"][0]["code"] == 1006
    assert not (tmp_path / DAY / "kcap-i.repair.json").exists()
    assert read_manifest(tmp_path / DAY / "kcap-i.manifest.json") == manifest
    # idempotent: a second run changes nothing
    before = (parquet.stat().st_mtime_ns, sha256_file(parquet))
    assert finalize(jsonl) == manifest
    assert (parquet.stat().st_mtime_ns, sha256_file(parquet)) == before


def test_finalize_can_drop_the_jsonl_after_verifying(tmp_path: Path) -> None:
    jsonl = tmp_path / "kcap-j.jsonl"
    jsonl.write_bytes(b"".join(scenario_records()))
    assert main(["--keep-jsonl", str(jsonl)]) == 0
    assert jsonl.exists()
    assert main([str(jsonl)]) == 0
    assert not jsonl.exists()
    rows = sum(len(b) for b in read_capture(tmp_path / "kcap-j.parquet"))
    assert rows == 13
    assert finalize(jsonl) is not None  # already done and deleted: the manifest


def test_gaps_and_subscriptions_reach_the_manifest(tmp_path: Path) -> None:
    lines = [
        encode_record("header", "s.0", 0, 1, 1, info={"format": "kcap-capture", "version": 1}),
        encode_record(
            "subscription", "s.1", 0, 2, 2, info={"sid": 3, "channel": "orderbook_delta"}
        ),
        encode_record("frame", "s.1", 1, 3, 3, frame=snapshot("M-1", [], [], sid=3, seq=1)),
        encode_record("frame", "s.1", 2, 4, 4, frame=delta("M-1", "yes", "0.1", "1", sid=3, seq=3)),
        encode_record("gap", "s.1", 3, 4, 4, info={"sid": 3, "expected": 2, "received": 3}),
        encode_record("error", "s.0", 1, 5, 5, info={"code": "queue_full", "dropped": 7}),
    ]
    jsonl = tmp_path / "kcap-k.jsonl"
    jsonl.write_bytes(b"".join(lines))
    manifest = finalize(jsonl)
    assert manifest is not None
    assert manifest["sids"][0]["channel"] == "orderbook_delta"
    assert manifest["gap_count"] == 1
    assert manifest["gaps"][0] == {
        "conn": "s.1",
        "recv_ns": 4,
        "sid": 3,
        "expected": 2,
        "received": 3,
    }
    assert manifest["dropped"] == 7


def test_verify_detects_a_parquet_that_does_not_match(tmp_path: Path) -> None:
    a = tmp_path / "kcap-l.jsonl"
    a.write_bytes(b"".join(scenario_records()))
    finalize(a)
    b = tmp_path / "kcap-m.jsonl"
    b.write_bytes(b"".join(scenario_records()[:-1]))
    with pytest.raises(CaptureFormatError, match="does not match"):
        verify_parquet(b, tmp_path / "kcap-l.parquet")


def test_a_jsonl_left_beside_its_manifest_is_listed_only_when_it_should_go(
    tmp_path: Path,
) -> None:
    jsonl = tmp_path / DAY / "kcap-n.jsonl"
    jsonl.parent.mkdir(parents=True)
    jsonl.write_bytes(b"".join(scenario_records()))
    finalize(jsonl, keep_jsonl=True)  # as if the process died before deleting the JSONL
    assert recover(tmp_path).to_finalize == []
    assert recover(tmp_path, drop_kept_jsonl=True).to_finalize == [jsonl]
    finalize(jsonl, keep_jsonl=False)
    assert not jsonl.exists() and (tmp_path / DAY / "kcap-n.parquet").exists()
