"""`python -m tools.stress [--quick] [--image IMAGE] [--only NAME]`: run by `nox -s stress`.

Runs every scenario against each image, prints the table, and (a full run of
both images) writes it to docs/reliability.md between its markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from collections.abc import Sequence

from tools.containers import machine
from tools.model import VARIANTS
from tools.paths import ROOT
from tools.process import BuildError
from tools.stress import slowread
from tools.stress.scenarios import FULL, HEADER, QUICK, SCENARIOS, SLOW_SCENARIOS
from tools.tables import replace_between_markers, table

DOC = ROOT / "docs" / "reliability.md"


#: The slowhttptest section: every target, the modes and sizes of `slowread`.
SLOW_CLIENTS = "slow-clients"


def slow_clients(targets: list[str], *, quick: bool) -> str:
    """slowhttptest's three modes against the app on the host and each image."""
    if not shutil.which("slowhttptest"):
        raise SystemExit("stress: slowhttptest is not installed: run `bin/setup`")
    rows = [slowread.HEADER]
    for target in targets:
        for mode, size in slowread.QUICK if quick else slowread.FULL:
            print(f"stress: {target}: slowhttptest {mode}, {size.connections}", flush=True)
            rows.append(slowread.run(target, mode, size).cells())
    return (
        f"### Slow clients (slowhttptest, {'quick' if quick else '30 s each'})\n\n{table(rows)}\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s stress --")
    parser.add_argument("--quick", action="store_true", help="smaller and shorter, for CI")
    parser.add_argument("--image", action="append", help="default: both app images")
    parser.add_argument(
        "--only", action="append", choices=[*SCENARIOS, SLOW_CLIENTS], help="default: all"
    )
    args = parser.parse_args(argv)
    for tool in ("docker", "wrk"):
        if not shutil.which(tool):
            raise SystemExit(f"stress: {tool} is not installed: run `bin/setup`")
    size = QUICK if args.quick else FULL
    images = args.image or [variant.tag() for variant in VARIANTS.values()]
    # Quick mode (CI) leaves out the 30 s starved-CPU run: the integration
    # tests hold both images at --cpus 0.2 for 45 s already.
    names = args.only or [
        n for n in [*SCENARIOS, SLOW_CLIENTS] if not (args.quick and n in SLOW_SCENARIOS)
    ]
    sections = []
    for image in images:
        rows = [HEADER]
        for name in names:
            if name == SLOW_CLIENTS:
                continue
            print(f"stress: {image}: {name}", flush=True)
            rows.append(SCENARIOS[name](image, size).cells())
        if len(rows) > 1:
            sections.append(f"### {image}\n\n{table(rows)}\n")
    if SLOW_CLIENTS in names:
        sections.append(slow_clients(["host", *images], quick=args.quick))
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = f"Measured {when} on {machine()}" + (" (quick mode)." if args.quick else ".")
    report += "\n\n" + "\n".join(sections)
    print(report)
    if not args.quick and not args.image and not args.only:
        replace_between_markers(DOC, "stress", report)
        print(f"stress: wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as error:
        sys.exit(f"stress: {error}")
