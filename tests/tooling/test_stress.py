"""tools.stress: the watching client's figures, and a closed connection told from a quiet one."""

from __future__ import annotations

import resource
import socket
import subprocess

import pytest

from tools.process import BuildError
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


def test_slowhttptest_status_lines_give_the_most_connections_held() -> None:
    from tools.stress.slowread import peak_connected

    output = (
        "\x1b[1;32mconnected:   \x1b[1;32m        412\n"
        "\x1b[1;32mconnected:   \x1b[1;32m        9870\n"
        "\x1b[1;32mconnected:   \x1b[1;32m        1200\n"
    )
    assert peak_connected(output) == 9870
    assert peak_connected("no status at all") == 0


def test_every_slow_attack_opens_its_connections_in_the_first_third_and_aims_at_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tools.stress import slowread

    size = slowread.Size(10000)
    assert size.seconds >= 30, "the issue's length: 30 s or more"
    assert size.rate * slowread.RAMP_SECONDS >= size.connections
    assert slowread.Size(1000, 10).rate * 10 >= 1000, "a short attack opens all in time"
    ran: list[list[str]] = []

    def fake_run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0, "connected: 5\n", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 1_048_576))
    for mode in slowread.MODES:
        slowread.attack(5000, mode, size)
    assert [c[c.index("-u") + 1] for c in ran] == ["http://127.0.0.1:5000/"] * 3
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    with pytest.raises(BuildError, match="ulimit -Hn"):
        slowread.attack(5000, "slow read", size)
