"""`python -m tools.bench.profile`: where a loaded server's time goes, sampled by py-spy.

For each thread count, the distroless image runs the app under those settings
(probe/tuned_server.py) while wrk loads /api/time at one concurrency. py-spy,
run from the host (root may trace a container's process), samples every
thread twice: all threads, idle ones too (what each thread is doing), then
only the thread that holds the GIL (who gets to run). It writes a flame graph
per setting to build/bench/ and prints, per thread role, where the samples
fell. Every load goes to 127.0.0.1 and is bounded by wrk -d.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from tools.bench.measure import OUT, serving
from tools.bench.sweep import subject
from tools.process import capture
from tools.tables import table
from tools.wrk import wrk

#: What a stack is doing, by the frames in it; first match wins.
ROLES = (("worker", "handler_thread"), ("I/O thread", "serve_forever"))
STATES = (
    ("app", ("flask/", "werkzeug/", "moscow_time/", "jinja2/")),
    ("waitress work", ("waitress/",)),
)


def role_of(stack: str) -> str:
    return next((role for role, frame in ROLES if frame in stack), "other")


def state_of(stack: str) -> str:
    """What the innermost frame is doing: app code, Waitress, or waiting."""
    leaf = stack.rsplit(";", 1)[-1]
    if any(word in leaf for word in ("wait (", "acquire", "poll (", "select (")):
        return "waiting (lock, condition, poll)"
    frames = stack.split(";")
    for state, markers in STATES:
        if any(marker in frame for frame in frames[-3:] for marker in markers):
            return state
    return "other"


def summary(raw: Iterable[str]) -> dict[str, collections.Counter[str]]:
    """Samples per role and state, from py-spy's raw (collapsed-stack) output."""
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in raw:
        stack, _, number = line.rstrip().rpartition(" ")
        if stack and number.isdigit():
            counts[role_of(stack)][state_of(stack)] += int(number)
    return counts


def record(pid: str, seconds: int, output: Path, *options: str) -> None:
    capture(
        "py-spy",
        "record",
        "--pid",
        pid,
        "--duration",
        str(seconds),
        "--rate",
        "250",
        "--nonblocking",
        "--output",
        str(output),
        *options,
    )


def profile(threads: int, connections: int, seconds: int) -> list[list[str]]:
    """Rows of the summary for one thread count; the flame graph goes to build/bench/."""
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"profile-{threads}threads-c{connections}"
    with serving(subject(threads, 0.005)) as container:
        pid = capture("docker", "inspect", "--format", "{{.State.Pid}}", container.name)
        url = f"{container.url}/api/time"
        load = threading.Thread(target=wrk, args=(url, 3 * seconds + 4, connections))
        load.start()
        time.sleep(2)
        record(pid, seconds, OUT / f"{name}.svg", "--idle", "--threads", "--format", "flamegraph")
        record(pid, seconds, OUT / f"{name}.txt", "--idle", "--threads", "--format", "raw")
        record(pid, seconds, OUT / f"{name}-gil.txt", "--gil", "--threads", "--format", "raw")
        load.join()
    everything = summary((OUT / f"{name}.txt").read_text().splitlines())
    gil = summary((OUT / f"{name}-gil.txt").read_text().splitlines())
    total = sum(sum(c.values()) for c in everything.values())
    gil_total = sum(sum(c.values()) for c in gil.values()) or 1
    rows = []
    for role in sorted(everything):
        for state, count in everything[role].most_common():
            rows.append(
                [
                    f"{threads} threads, c={connections}",
                    role,
                    state,
                    f"{100 * count / total:.0f} %",
                    "",
                ]
            )
        rows.append(
            [
                f"{threads} threads, c={connections}",
                role,
                "holds the GIL",
                "",
                f"{100 * sum(gil[role].values()) / gil_total:.0f} %",
            ]
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.profile")
    parser.add_argument("--threads", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        print("profile: py-spy is not installed: run it from `nox -s bench` or a dev venv")
        return 2
    rows = [["setting", "thread role", "state", "share of samples", "share of GIL"]]
    for threads in args.threads:
        print(f"profile: {threads} threads at c={args.connections}", flush=True)
        rows += profile(threads, args.connections, args.seconds)
    print(table(rows))
    print(f"flame graphs and raw stacks: {OUT}/profile-*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
