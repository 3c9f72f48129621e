"""Small capture files built from literal frames, for replay and CLI tests."""

from __future__ import annotations

from pathlib import Path

from frames import delta, snapshot
from kcap.schemas.record import encode_record, header_info

S = 1_000_000_000
T0 = 1_766_160_000 * S  # 2025-12-19T16:00:00Z


def scenario_records() -> list[bytes]:
    """Two markets on one sid, a lost seq (gap), a resnapshot, a disconnect and a new
    connection: the situations replay must get right."""
    recs: list[tuple[str, str, int, bytes | None, dict[str, object] | None]] = [
        ("connect", "s.1", 0, None, {"url": "ws://127.0.0.1:9", "status": 101}),
        (
            "frame",
            "s.1",
            1,
            snapshot("KXHIGHNY-25DEC20-B38.5", [["0.3000", "10.00"]], [["0.5000", "4.50"]], seq=1),
            None,
        ),
        (
            "frame",
            "s.1",
            2,
            snapshot("KXHIGHNY-25DEC20-T36", [["0.0100", "100.00"]], [["0.9700", "2.00"]], seq=2),
            None,
        ),
        ("frame", "s.1", 3, delta("KXHIGHNY-25DEC20-B38.5", "yes", "0.3200", "5.00", seq=3), None),
        ("frame", "s.1", 4, delta("KXHIGHNY-25DEC20-T36", "no", "0.9700", "-1.00", seq=4), None),
        (
            "frame",
            "s.1",
            5,
            delta("KXHIGHNY-25DEC20-B38.5", "yes", "0.3300", "1.00", seq=6),
            None,
        ),  # seq 5 lost
        (
            "frame",
            "s.1",
            6,
            snapshot(
                "KXHIGHNY-25DEC20-B38.5",
                [["0.3000", "10.00"], ["0.3200", "5.00"], ["0.3300", "1.00"], ["0.3400", "2.00"]],
                [["0.5000", "4.50"]],
                seq=7,
            ),
            None,
        ),
        ("frame", "s.1", 7, delta("KXHIGHNY-25DEC20-B38.5", "no", "0.5100", "3.00", seq=8), None),
        ("disconnect", "s.1", 8, None, {"code": 1006, "reason": ""}),
        ("connect", "s.2", 0, None, {"url": "ws://127.0.0.1:9", "status": 101}),
        (
            "frame",
            "s.2",
            1,
            snapshot("KXHIGHNY-25DEC20-T36", [["0.0200", "50.00"]], [["0.9600", "1.00"]], seq=1),
            None,
        ),
        ("frame", "s.2", 2, delta("KXHIGHNY-25DEC20-T36", "yes", "0.0200", "-50.00", seq=2), None),
    ]
    lines = [encode_record("header", "", 0, T0, 0, info=header_info(session="s"))]
    for i, (kind, conn, rec, frame, info) in enumerate(recs):
        t = T0 + i * 60 * S  # one record a minute
        lines.append(encode_record(kind, conn, rec, t, i, frame=frame, info=info))
    return lines


def write_scenario(path: Path) -> Path:
    path.write_bytes(b"".join(scenario_records()))
    return path
