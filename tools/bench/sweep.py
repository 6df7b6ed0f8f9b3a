"""`python -m tools.bench.sweep`: the server settings, measured at c=1, 16 and 64.

Each setting (worker threads by GIL switch interval) runs the distroless image
with tools/bench/probe/tuned_server.py; the settings are interleaved over
rounds, like the benchmark's images, and each figure is a median [range].
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence

from tools.bench.measure import CONCURRENCIES, PROBE, Mode, Subject, running
from tools.bench.spread import spread
from tools.model import VARIANTS
from tools.tables import table

THREADS = (4, 8, 16, 32)
SWITCH_INTERVALS = (0.005, 0.001)


def subject(threads: int, interval: float, queue_log: str = "off", waitress: str = "") -> Subject:
    """The distroless image running the app with these server settings."""
    name = f"{threads} threads, {interval * 1000:g} ms"
    name += ", queue log" if queue_log == "on" else ""
    name += f", {waitress}" if waitress else ""
    return Subject(
        name,
        VARIANTS["distroless"].tag(),
        VARIANTS["distroless"].tag(),
        ("--volume", f"{PROBE}:/opt/bench:ro", "--entrypoint", "python3"),
        ("/opt/bench/tuned_server.py", str(threads), str(interval), queue_log, *waitress.split()),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.sweep")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--threads", type=int, nargs="+", default=THREADS)
    parser.add_argument("--intervals", type=float, nargs="+", default=SWITCH_INTERVALS)
    parser.add_argument(
        "--queue-log",
        nargs="+",
        choices=("off", "on"),
        default=["off"],
        help="Waitress's per-request queue warning: off (as served), on, or both",
    )
    parser.add_argument(
        "--waitress",
        nargs="+",
        default=[""],
        metavar="'KEY=INT ...'",
        help="sets of Waitress settings to compare ('' for ours), e.g. '' send_bytes=65536",
    )
    args = parser.parse_args(argv)
    mode = Mode(rounds=args.rounds, cold_starts=1, warmup_s=1, load_s=args.seconds)
    settings = [
        subject(t, i, q, w)
        for t, i, q, w in itertools.product(
            args.threads, args.intervals, args.queue_log, args.waitress
        )
    ]
    rounds = []
    for number in range(mode.rounds):
        figures = {}
        for setting in settings:
            print(f"sweep: round {number + 1}: {setting.name}", flush=True)
            figures[setting.name] = running(setting, mode)
        rounds.append(figures)
    header = (
        ["setting"] + [f"c={c} rps" for c in CONCURRENCIES] + [f"c={c} p99" for c in CONCURRENCIES]
    )
    rows = [header]
    for setting in settings:
        rps = [spread(rounds, setting.name, f"rps_c{c}") for c in CONCURRENCIES]
        p99 = [spread(rounds, setting.name, f"p99_ms_c{c}") for c in CONCURRENCIES]
        rows.append(
            [setting.name]
            + [s.text() if s else "-" for s in rps]
            + [s.text("{:.1f}", " ms") if s else "-" for s in p99]
        )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
