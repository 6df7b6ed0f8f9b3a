"""The benchmark's report: tables with the spread over rounds, the chart, the docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.bench.measure import CONCURRENCIES
from tools.bench.spread import Spread, ratio, spread
from tools.paths import ROOT
from tools.tables import table
from tools.wrk import WRK_THREADS

DOCS = ROOT / "docs"


def cell(found: Spread | None, fmt: str = "{:.0f}", unit: str = "") -> str:
    return "-" if found is None else found.text(fmt, unit)


def throughput_table(rounds: list[Any], subjects: list[str], connections: int) -> str:
    rows = [["image", "rps", "× baseline", "p50", "p99", "p99 × baseline"]]
    for name in subjects:
        rows.append(
            [
                name,
                cell(spread(rounds, name, f"rps_c{connections}")),
                cell(ratio(rounds, name, f"rps_c{connections}"), "{:.2f}"),
                cell(spread(rounds, name, f"p50_ms_c{connections}"), "{:.1f}", " ms"),
                cell(spread(rounds, name, f"p99_ms_c{connections}"), "{:.1f}", " ms"),
                cell(ratio(rounds, name, f"p99_ms_c{connections}"), "{:.2f}"),
            ]
        )
    return f"**{connections} connection(s)** (wrk -t{min(WRK_THREADS, connections)}):\n\n" + table(
        rows
    )


def startup_table(rounds: list[Any], subjects: list[str]) -> str:
    rows = [
        [
            "image",
            "docker run → 200",
            "× floor",
            "inside: exec → listening",
            "bare python3",
            "app over bare",
        ]
    ]
    for name in subjects:
        rows.append(
            [
                name,
                cell(spread(rounds, name, "cold_start_s"), "{:.2f}", " s"),
                cell(ratio(rounds, name, "cold_start_s", "python3 -c pass"), "{:.2f}"),
                cell(spread(rounds, name, "app_start_ms"), "{:.0f}", " ms"),
                cell(spread(rounds, name, "bare_start_ms"), "{:.0f}", " ms"),
                cell(spread(rounds, name, "app_over_bare_ms"), "{:.0f}", " ms"),
            ]
        )
    return table(rows)


def resources_table(results: dict[str, Any], subjects: list[str]) -> str:
    rounds = results["rounds"]
    rows = [["image", "size", "over base", "RSS idle", "RSS at c=16", "docker stop", "× baseline"]]
    for name in subjects:
        size = results["sizes"].get(name, {})
        rows.append(
            [
                name,
                f"{size['size_mb']:.1f} MB" if size else "-",
                f"{size['over_base_mb']:.1f} MB" if size else "-",
                cell(spread(rounds, name, "rss_idle_mb"), "{:.1f}", " MB"),
                cell(spread(rounds, name, "rss_load_mb"), "{:.1f}", " MB"),
                cell(spread(rounds, name, "stop_s"), "{:.2f}", " s"),
                cell(ratio(rounds, name, "stop_s"), "{:.2f}"),
            ]
        )
    return table(rows)


def platforms_table(sizes: list[dict[str, Any]]) -> str:
    """Each variant's size on each platform built (no timings: emulated ones mean nothing)."""
    rows = [["image", "platform", "size", "over base"]]
    for entry in sorted(sizes, key=lambda e: (e["variant"], e["platform"])):
        size, over = f"{entry['size_mb']:.1f} MB", f"{entry['over_base_mb']:.1f} MB"
        rows.append([entry["variant"], entry["platform"], size, over])
    return table(rows)


def report(results: dict[str, Any]) -> str:
    rounds, subjects = results["rounds"], results["subjects"]
    mode = " (quick mode: short runs, indicative only)" if results["quick"] else ""
    lines = [
        f"Measured {results['when']} on {results['machine']}{mode}.",
        f"{len(rounds)} round(s), the images interleaved in each; every figure is the median "
        "[lowest–highest] over the rounds, and each ratio is taken within a round.",
        "",
        *(throughput_table(rounds, subjects, c) + "\n" for c in CONCURRENCIES),
        "**Start-up**:",
        "",
        startup_table(rounds, [*subjects, "python3 -c pass"]),
        "",
        "**Size, memory, stop**:",
        "",
        resources_table(results, subjects),
    ]
    if len({entry["platform"] for entry in results.get("platform_sizes", [])}) > 1:
        lines += ["", "**Size per platform**:", "", platforms_table(results["platform_sizes"])]
    if ceiling := results.get("ceiling"):
        lines.append(
            f"\nCeiling: nginx serving a static file on loopback at c=16, "
            f"{ceiling['rps']:.0f} rps (p99 {ceiling['p99_ms']:.1f} ms)."
        )
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds, names = results["rounds"], results["subjects"]
    panels = [(f"rps at c={c}", f"rps_c{c}") for c in CONCURRENCIES]
    panels += [("p99 at c=16 (ms)", "p99_ms_c16"), ("docker run → 200 (s)", "cold_start_s")]
    panels += [("docker stop (s)", "stop_s")]
    figure, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for axis, (title, metric) in zip(axes.flat, panels, strict=True):
        found = [spread(rounds, name, metric) for name in names]
        medians = [s.median if s else 0 for s in found]
        errors = [
            [s.median - s.low if s else 0 for s in found],
            [s.high - s.median if s else 0 for s in found],
        ]
        axis.bar(names, medians, yerr=errors, capsize=4, color="#2f6f9f")
        axis.set_title(title, fontsize=11)
        axis.tick_params(axis="x", labelsize=8)
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle("moscow-time: medians over rounds, bars show the range")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
