"""tools.stress: the watching client's figures, and a closed connection told from a quiet one."""

from __future__ import annotations

import socket

from tools.stress.attacks import Watch, server_closed
from tools.stress.scenarios import HEADER, Row


def test_a_watch_reports_the_median_and_the_99th_percentile() -> None:
    watch = Watch(latencies=[i / 100 for i in range(1, 101)], errors=2)
    assert watch.p50 == 0.505
    assert watch.p99 == 1.0
    assert Watch().p50 is None
    assert Watch().p99 is None


def test_a_row_has_a_cell_for_every_column() -> None:
    row = Row("slow-header flood", "1000 half-open", Watch([0.004, 0.006], errors=1), 23.4, 2)
    cells = row.cells()
    assert len(cells) == len(HEADER)
    assert cells[2:7] == ["5 ms", "6 ms", "1 of 3", "23.4 MB", "2"]


def test_a_quiet_connection_is_not_closed_and_a_shut_one_is() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert not server_closed(ours)
        theirs.close()
        assert server_closed(ours)
