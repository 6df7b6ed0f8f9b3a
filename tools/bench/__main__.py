"""`python -m tools.bench [--quick]`: the whole benchmark, run by `nox -s bench`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from tools import appimages, engine
from tools.bench.measure import (
    BASELINE_TAG,
    FULL,
    OUT,
    QUICK,
    build_baseline,
    cold_start,
    floor_start,
    measure_running,
    median_spread,
    nginx_ceiling,
    stop_time,
)
from tools.bench.report import DOCS, chart, machine, report, update_docs
from tools.process import BuildError
from tools.project import VARIANTS


def size(image: str) -> int:
    found = engine.image_size(image)
    if found is None:
        raise SystemExit(f"bench: Docker has no image {image}: run `nox -s build` first")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench --")
    parser.add_argument("--quick", action="store_true", help="a few seconds per image, for CI")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    for tool in ("docker", "wrk"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} is not installed (apt-get install {tool})")
    built = appimages.read_images_json()
    if not built:
        raise SystemExit("bench: no images recorded: run `nox -s build` first")
    bases = {image["variant"]: image["base"] for image in built["images"]}
    OUT.mkdir(parents=True, exist_ok=True)
    print("bench: building the seed-style baseline")
    build_baseline(bases["slim"])
    subjects = {"baseline": (BASELINE_TAG, bases["slim"])}
    subjects |= {name: (variant.tag(), bases[name]) for name, variant in VARIANTS.items()}
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "quick": args.quick,
        "images": {},
    }
    print("bench: start-up floor")
    results["floor_s"] = median_spread(
        [floor_start(bases["slim"]) for _ in range(mode.cold_starts)]
    )
    for name, (image, base) in subjects.items():
        print(f"bench: {name}")
        row: dict[str, Any] = {
            "size_mb": size(image) / 1e6,
            "over_base_mb": (size(image) - size(base)) / 1e6,
            "cold_start_s": median_spread([cold_start(image) for _ in range(mode.cold_starts)]),
        }
        row |= measure_running(image, mode)
        row["stop_s"] = median_spread([stop_time(image) for _ in range(mode.stops)])
        results["images"][name] = row
    print("bench: nginx ceiling")
    results["ceiling"] = nginx_ceiling(mode)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report(results, args.quick)
    (OUT / "results.md").write_text(table)
    chart(results, OUT / "chart.png")
    print(table)
    if not args.quick:
        shutil.copy(OUT / "chart.png", DOCS / "benchmarks.png")
        update_docs(table)
        print("bench: wrote docs/benchmarks.md and docs/benchmarks.png")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as error:
        sys.exit(f"bench: {error}")
