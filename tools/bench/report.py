"""The benchmark's report: the table, the chart, and docs/benchmarks.md between its markers."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from tools.bench.measure import CONCURRENCY, WRK_THREADS
from tools.process import capture
from tools.project import ROOT

DOCS = ROOT / "docs"


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    docker = capture("docker", "version", "--format", "{{.Server.Version}}", check=False)
    return f"{os.cpu_count()} × {cpu}, {platform.system()} {platform.release()}, Docker {docker}"


COLUMNS = [
    "image",
    "size",
    "over base",
    "cold start",
    "× floor",
    "rps",
    "× baseline",
    "p50",
    "p99",
    "p99 × baseline",
    "RSS idle",
    "RSS load",
    "docker stop",
    "× baseline",
]


def report(results: dict[str, Any], quick: bool) -> str:
    rows = results["images"]
    base = rows["baseline"]
    floor = results["floor_s"][0]
    ceiling = results["ceiling"]
    lines = [
        f"Measured {results['when']} on {results['machine']}"
        + (" (quick mode: short runs, indicative only)." if quick else "."),
        f"Load: wrk -t{WRK_THREADS} -c{CONCURRENCY} on /api/time over loopback, after a warm-up."
        " Times are medians ± half the range.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['size_mb']:.1f} MB | {r['over_base_mb']:.1f} MB "
            f"| {r['cold_start_s'][0]:.2f} ± {r['cold_start_s'][1]:.2f} s "
            f"| {r['cold_start_s'][0] / floor:.2f} "
            f"| {r['rps']:.0f} | {r['rps'] / base['rps']:.2f} "
            f"| {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['p99_ms'] / base['p99_ms']:.2f} "
            f"| {r['rss_idle_mb']:.1f} MB | {r['rss_load_mb']:.1f} MB "
            f"| {r['stop_s'][0]:.2f} s | {r['stop_s'][0] / base['stop_s'][0]:.2f} |"
        )
    lines += [
        "",
        f"Floor: `docker run` of `python3 -c pass` on the slim base, "
        f"{floor:.2f} ± {results['floor_s'][1]:.2f} s.",
    ]
    if ceiling:
        lines.append(
            f"Ceiling: nginx serving a static file on loopback, {ceiling['rps']:.0f} rps "
            f"(p99 {ceiling['p99_ms']:.1f} ms); distroless reaches "
            f"{rows['distroless']['rps'] / ceiling['rps']:.1%} of it."
        )
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["images"])
    rows = [results["images"][n] for n in names]
    panels = [
        ("Image size (MB)", [r["size_mb"] for r in rows], None),
        ("Cold start (s)", [r["cold_start_s"][0] for r in rows], results["floor_s"][0]),
        ("Throughput on /api/time (rps)", [r["rps"] for r in rows], None),
        ("p99 latency (ms)", [r["p99_ms"] for r in rows], None),
        ("RSS under load (MB)", [r["rss_load_mb"] for r in rows], None),
        ("docker stop (s)", [r["stop_s"][0] for r in rows], None),
    ]
    figure, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    colours = ["#8a8580", "#2f6f9f", "#a3122a"]
    for axis, (title, values, reference) in zip(axes.flat, panels, strict=True):
        axis.bar(names, values, color=colours)
        axis.set_title(title, fontsize=11)
        for index, value in enumerate(values):
            label = f"{value:.3g}" if value < 1000 else f"{value:,.0f}"
            axis.annotate(label, (index, value), ha="center", va="bottom", fontsize=9)
        if reference is not None:
            axis.axhline(reference, color="black", linestyle="--", linewidth=1)
            axis.annotate("python3 -c pass", (2.4, reference), ha="right", va="bottom", fontsize=8)
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle("moscow-time: seed-style baseline vs. slim vs. distroless (one run, medians)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def update_docs(table: str) -> None:
    """Replace the figures between the markers in docs/benchmarks.md."""
    doc = DOCS / "benchmarks.md"
    text = doc.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    doc.write_text(f"{before}{start}\n{table}{end}{after}")
