"""tools.bench.spread: medians, ranges and within-round ratios, as the report states them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools.bench import loop
from tools.bench.measure import PROBE, Subject
from tools.bench.profile import summary
from tools.bench.spread import Spread, ratio, spread
from tools.tables import replace_between_markers

ROUNDS = [
    {"baseline": {"rps_c16": 1000.0, "p99_ms_c16": 40.0}, "distroless": {"rps_c16": 2600.0}},
    {"baseline": {"rps_c16": 800.0, "p99_ms_c16": 50.0}, "distroless": {"rps_c16": 2400.0}},
    {"baseline": {"rps_c16": 1200.0, "p99_ms_c16": 30.0}, "distroless": {"rps_c16": 2500.0}},
]


def test_a_spread_is_the_median_and_the_range() -> None:
    found = spread(ROUNDS, "distroless", "rps_c16")
    assert found == Spread(2500.0, 2400.0, 2600.0)
    assert found.text() == "2500 [2400-2600]"
    assert Spread.of([3.0]).text("{:.1f}", " ms") == "3.0 ms"


def test_a_ratio_is_taken_within_each_round_not_from_the_medians() -> None:
    found = ratio(ROUNDS, "distroless", "rps_c16")
    assert found is not None
    # Per round: 2.6, 3.0, 2.083...; the worst round bounds the claim.
    assert found.median == pytest.approx(2.6)
    assert found.low == pytest.approx(2500 / 1200)
    assert found.high == pytest.approx(3.0)


def test_a_figure_nobody_measured_is_none_not_zero() -> None:
    assert spread(ROUNDS, "distroless", "p99_ms_c16") is None
    assert ratio(ROUNDS, "slim", "rps_c16") is None
    with pytest.raises(ValueError, match="no values"):
        Spread.of([])


def test_the_server_floor_runs_our_server_from_the_mounted_probe() -> None:
    floor = Subject.floor("moscow-time:distroless", "base")
    assert floor.options == ("--volume", f"{PROBE}:/opt/bench:ro", "--entrypoint", "python3")
    assert floor.command == ("/opt/bench/floor_app.py",)
    assert (PROBE / "floor_app.py").exists()
    assert not floor.is_app


def test_figures_replace_what_stands_between_their_markers(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Doc\n<!-- bench:start -->\nold\n<!-- bench:end -->\nkept\n")
    replace_between_markers(doc, "bench", "new figures\n")
    assert (
        doc.read_text() == "# Doc\n<!-- bench:start -->\nnew figures\n<!-- bench:end -->\nkept\n"
    )


def test_profile_sorts_samples_by_thread_role_and_state() -> None:
    raw = [
        "process 1;thread (0x1);handler_thread (waitress/task.py:84);"
        "dispatch_request (flask/app.py:880);api_time (moscow_time/app.py:60) 30",
        "process 1;thread (0x1);handler_thread (waitress/task.py:84);wait (threading.py:327) 10",
        "process 1;thread (0x2);serve_forever (waitress/server.py:322);"
        "loop (waitress/wasyncore.py:245);poll (waitress/wasyncore.py:158) 5",
        "not a sample line",
    ]
    counts = summary(raw)
    assert counts["worker"] == {"app": 30, "waiting (lock, condition, poll)": 10}
    assert counts["I/O thread"] == {"waiting (lock, condition, poll)": 5}
    assert "other" not in counts


def test_sizes_per_platform_are_listed_side_by_side_with_no_timings() -> None:
    from tools.bench.report import platforms_table

    text = platforms_table(
        [
            {"variant": "slim", "platform": "linux/arm64", "size_mb": 170.2, "over_base_mb": 9.9},
            {"variant": "slim", "platform": "linux/amd64", "size_mb": 172.0, "over_base_mb": 10.1},
        ]
    )
    lines = text.splitlines()
    assert [line.split("|")[2].strip() for line in lines[2:]] == ["linux/amd64", "linux/arm64"]
    assert "170.2 MB" in text
    assert " s " not in text
    assert "rps" not in text


def test_the_loop_figure_is_the_median_with_its_range() -> None:
    assert loop.figure([4.2]) == "4.2 s, n=1"
    assert loop.figure([3.0, 9.0, 4.0]) == "4.0 s [3.0-9.0], n=3"


def test_the_loop_report_has_a_column_per_commit_and_says_whether_ids_moved() -> None:
    before = loop.Run("468f03d", "468f03d" + "0" * 33)
    after = loop.Run("HEAD", "03c6de7" + "0" * 33)
    before.add("docs-only commit", 70.0, moved=True)
    after.add("docs-only commit", 3.1, moved=False)
    after.add("docs-only commit", 3.3, moved=False)
    after.add("app change, with arm64", 30.0, moved=True)
    after.store_images += [120, 131]
    lines = loop.report([before, after]).splitlines()
    assert [cell.strip() for cell in lines[0].split("|")[2:4]] == [
        "468f03d (468f03d00000)",
        "HEAD (03c6de700000)",
    ]
    docs = next(line for line in lines if line.startswith("| docs-only commit"))
    assert "70.0 s, n=1, new IDs" in docs
    assert "3.2 s [3.1-3.3], n=2, same IDs" in docs
    arm64 = next(line for line in lines if line.startswith("| app change, with arm64"))
    assert "| —" in arm64
    assert not any(line.startswith("| nothing changed") for line in lines)
    sizes = next(line for line in lines if line.startswith("| images in the store"))
    assert [cell.strip() for cell in sizes.split("|")[2:4]] == ["—", "120, 131"]


def test_a_loop_change_appends_its_line_and_commits_it(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / "README.md").write_text("# x\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    loop.git(tmp_path, "commit", "--quiet", "--message", "first")
    loop.CHANGES[1].apply(tmp_path, 2)
    assert (tmp_path / "README.md").read_text() == "# x\n<!-- bench-loop round 2 -->\n"
    assert loop.git(tmp_path, "log", "--format=%s") == "bench-loop: docs-only commit\nfirst"
    loop.CHANGES[0].apply(tmp_path, 3)  # nothing changed: no commit
    assert loop.git(tmp_path, "rev-list", "--count", "HEAD") == "2"


def test_the_loop_compares_the_images_both_builds_made() -> None:
    before = {"moscow-time:slim": "sha256:1", "moscow-time:arm64-slim": "sha256:2"}
    assert not loop.ids_moved(before, {"moscow-time:slim": "sha256:1"})
    assert loop.ids_moved(before, {"moscow-time:slim": "sha256:3"})
