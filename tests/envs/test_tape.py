"""The book tape: states recorded from one replay, as-of lookups, validity, data end."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from captures import T0, S, write_scenario
from kcap.envs.data import Bracket, Event
from kcap.envs.tape import NO_BOOK, record_tapes

EVENT = Event(
    "KXHIGHNY-25DEC20",
    "KXHIGHNY",
    __import__("datetime").date(2025, 12, 20),
    (
        Bracket("KXHIGHNY-25DEC20-T36", "less", None, Fraction(36)),
        Bracket("KXHIGHNY-25DEC20-B38.5", "between", Fraction(38), Fraction(39)),
    ),
    None,
    T0 + 3_600 * S,
)


def test_states_replay_the_scenario_as_of_each_time(tmp_path: Path) -> None:
    # captures.scenario_records: record i at T0 + i minutes (1: B38.5 snapshot, 2: T36
    # snapshot, 3-4: deltas, 5: a lost seq, 6: resnapshot, 8: disconnect, 10-11: connection s.2)
    (tape,) = record_tapes([write_scenario(tmp_path / "s.jsonl")], [EVENT], depth=3)

    def t(minute: int) -> int:
        return T0 + minute * 60 * S

    times = np.array([t(1) - 1, t(1), t(3), t(4), t(5), t(6), t(8), t(10), t(11)], np.int64)
    t36, b38 = tape.state_at(times).T
    assert b38[0] == NO_BOOK and t36[1] == NO_BOOK  # before their snapshots
    assert tape.yes_px[b38[1]].tolist() == [3000, 0, 0]  # a change counts from its own time
    assert tape.yes_px[b38[2]].tolist() == [3200, 3000, 0]
    assert tape.yes_sz[b38[2]].tolist() == [500, 1000, 0]
    assert tape.no_sz[t36[2]].tolist() == [200, 0, 0]
    assert tape.no_sz[t36[3]].tolist() == [100, 0, 0]
    assert tape.valid[b38[3]] and not tape.valid[b38[4]]  # seq 5 lost: stale from minute 5
    assert tape.valid[b38[5]]  # resnapshot
    assert tape.yes_px[b38[5]].tolist() == [3400, 3300, 3200]  # depth 3: the best three bids
    assert not tape.valid[b38[6]] and tape.yes_px[b38[6]].tolist() == [0, 0, 0]  # disconnect
    assert tape.valid[t36[7]] and tape.yes_px[t36[7]].tolist() == [200, 0, 0]  # new connection
    assert tape.yes_px[t36[8]].tolist() == [0, 0, 0] and tape.valid[t36[8]]
    assert tape.updated_ns[t36[8]] == t(11)
    assert tape.data_end_ns == t(11)  # the last record of the connections that carried it
