"""`python -m tools.bench [--quick]`: the whole benchmark, run by `nox -s bench`.

Each round runs every subject once, in turn (baseline, slim, distroless,
server floor, then again), so a machine that slows down mid-run slows them
all; the report gives each figure's median and range over the rounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
from collections.abc import Sequence
from typing import Any

from tools.bench.ceiling import nginx_ceiling
from tools.bench.measure import (
    BASELINE_TAG,
    FULL,
    OUT,
    QUICK,
    Mode,
    Subject,
    build_baseline,
    cold_start,
    floor_start,
    running,
    startup_inside,
    stop_time,
)
from tools.bench.report import DOCS, chart, report
from tools.builders import engine
from tools.containers import machine
from tools.images import record as build_record
from tools.images.record import BuildRecord
from tools.model import VARIANTS
from tools.process import BuildError
from tools.tables import replace_between_markers


def size_mb(image: str) -> float:
    found = engine.image_size(image)
    if found is None:
        raise SystemExit(f"bench: Docker has no image {image}: run `nox -s build` first")
    return found / 1e6


def platform_sizes(built: BuildRecord) -> list[dict[str, Any]]:
    """Each image of every platform the last build made, with its size and its base's."""
    return [
        {
            "variant": image.variant,
            "platform": image.platform,
            "size_mb": size_mb(image.tag),
            "over_base_mb": size_mb(image.tag) - size_mb(image.base),
        }
        for image in built.images
    ]


def subjects_of(bases: dict[str, str]) -> list[Subject]:
    found = [Subject("baseline", BASELINE_TAG, bases["slim"])]
    found += [Subject(n, v.tag(), bases[n], is_app=True) for n, v in VARIANTS.items()]
    return [*found, Subject.floor(VARIANTS["distroless"].tag(), bases["distroless"])]


def one_round(subjects: list[Subject], bases: dict[str, str], mode: Mode) -> dict[str, Any]:
    """Every subject once, in turn, and the bare-Python floor."""
    figures: dict[str, Any] = {}
    floor = [floor_start(bases["slim"]) for _ in range(mode.cold_starts)]
    figures["python3 -c pass"] = {"cold_start_s": statistics.median(floor)}
    for subject in subjects:
        print(f"bench: {subject.name}", flush=True)
        row: dict[str, float] = {
            "cold_start_s": statistics.median(cold_start(subject) for _ in range(mode.cold_starts))
        }
        row |= running(subject, mode)
        row["stop_s"] = stop_time(subject)
        if subject.is_app:
            inside = startup_inside(subject, max(3, mode.cold_starts))
            row["app_start_ms"] = statistics.median(inside["app"]) * 1000
            row["bare_start_ms"] = statistics.median(inside["bare"]) * 1000
            row["app_over_bare_ms"] = row["app_start_ms"] - row["bare_start_ms"]
        figures[subject.name] = row
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench --")
    parser.add_argument("--quick", action="store_true", help="one short round, for CI")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    for tool in ("docker", "wrk"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} is not installed: run `bin/setup`")
    built = build_record.require()
    bases = {image.variant: image.base for image in built.host_images}
    OUT.mkdir(parents=True, exist_ok=True)
    print("bench: building the seed-style baseline")
    build_baseline(bases["slim"])
    subjects = subjects_of(bases)
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "quick": args.quick,
        "subjects": [s.name for s in subjects],
        "sizes": {
            s.name: {
                "size_mb": size_mb(s.image),
                "over_base_mb": size_mb(s.image) - size_mb(s.base),
            }
            for s in subjects
        },
        # Sizes only: timings under emulation say nothing about a real arm64 machine.
        "platform_sizes": platform_sizes(built),
        "rounds": [],
    }
    for number in range(mode.rounds):
        print(f"bench: round {number + 1} of {mode.rounds}")
        results["rounds"].append(one_round(subjects, bases, mode))
    print("bench: nginx ceiling")
    results["ceiling"] = nginx_ceiling(mode)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report(results)
    (OUT / "results.md").write_text(text)
    chart(results, OUT / "chart.png")
    print(text)
    if not args.quick:
        shutil.copy(OUT / "chart.png", DOCS / "benchmarks.png")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%MZ")
        (OUT / f"results-{stamp}.md").write_text(text)
        replace_between_markers(DOCS / "benchmarks.md", "bench", text)
        print("bench: wrote docs/benchmarks.md (latest run) and docs/benchmarks.png")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as error:
        sys.exit(f"bench: {error}")
