"""wrk, the load generator: one bounded run against a loopback URL, and its figures.

The benchmark and the stress run both load a server with it; its output is
read here only.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable

from tools.process import BuildError, capture

WRK_THREADS = 2


@dataclasses.dataclass
class Load:
    """What one wrk run measured, and a sample taken halfway through (memory, say)."""

    rps: float
    p50_ms: float
    p99_ms: float
    sampled: float | None = None


def figure(pattern: str, output: str) -> tuple[str, ...]:
    """The groups of one figure in wrk's output; a clear error if wrk printed none."""
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise BuildError(f"no {pattern!r} in wrk's output:\n{output}")
    return match.groups()


def parse(output: str, sampled: float | None = None) -> Load:
    """wrk's `--latency` output as figures."""
    rps = float(figure(r"Requests/sec:\s+([\d.]+)", output)[0])

    def percentile(label: str) -> float:
        value, unit = figure(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output)
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return Load(rps, percentile("50%"), percentile("99%"), sampled)


def wrk(
    url: str, seconds: float, connections: int, during: Callable[[], float] | None = None
) -> Load:
    """wrk for `seconds` with `connections`; `during` is sampled once, halfway."""
    if not url.startswith("http://127.0.0.1:"):
        raise BuildError(f"wrk loads loopback only, not {url}")
    threads = min(WRK_THREADS, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", url]
    sampled: list[float] = []
    sampler = None
    if during is not None:
        sampler = threading.Timer(seconds / 2, lambda: sampled.append(during()))
        sampler.start()
    out = capture(*command)
    if sampler is not None:
        sampler.join()
    return parse(out, sampled[0] if sampled else None)
