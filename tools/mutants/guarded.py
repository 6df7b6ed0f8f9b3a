"""What mutation testing mutates, against which tests, and which modules a run takes.

Each guarded module is mutated and tested with the unit and tooling tests named
beside it. The timed ones (real sockets, deadlines) take minutes: a run of every
module takes them only when they or their tests changed since the committed run.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tools.paths import ROOT
from tools.process import BuildError, environment

#: Each guarded module, and the unit and tooling tests that guard it.
GUARDED: dict[str, tuple[str, ...]] = {
    "moscow_time/clock.py": ("tests/unit/test_clock.py", "tests/unit/test_app.py"),
    "moscow_time/headers.py": ("tests/unit/test_headers.py", "tests/unit/test_app.py"),
    "moscow_time/limits.py": ("tests/unit/test_eviction.py", "tests/unit/test_limits.py",
                              "tests/unit/test_server.py"),
    "tools/builders/archives.py": ("tests/tooling/test_archives.py",),
    "tools/cacheroots.py": ("tests/tooling/test_cacheroots.py", "tests/tooling/test_toolchain.py"),
    "tools/images/record.py": ("tests/tooling/test_identity.py", "tests/tooling/test_plan.py",
                               "tests/tooling/test_rebuild.py"),
    "tools/inputs/aptlock.py": ("tests/tooling/test_aptlock.py", "tests/tooling/test_debs.py"),
    "tools/inputs/baselock.py": ("tests/tooling/test_baselock.py", "tests/tooling/test_plan.py",
                                 "tests/tooling/test_skopeo_resolver.py"),
    "tools/inputs/debs.py": ("tests/tooling/test_debs.py", "tests/tooling/test_mirrors.py",
                             "tests/tooling/test_vendor.py"),
    "tools/inputs/toolchain.py": ("tests/tooling/test_toolchain.py",
                                  "tests/tooling/test_builders.py"),
    "tools/rebuild/comparison.py": ("tests/tooling/test_contents.py",
                                    "tests/tooling/test_findings.py",
                                    "tests/tooling/test_reproduce.py"),
    "tools/rebuild/findings.py": ("tests/tooling/test_findings.py",
                                  "tests/tooling/test_rebuild.py", "tests/tooling/test_vsa.py"),
    "tools/rebuild/rebuild.py": ("tests/tooling/test_rebuild.py",
                                 "tests/tooling/test_rebuild_commit.py",
                                 "tests/tooling/test_rebuild_bases.py",
                                 "tests/tooling/test_rebuild_steps.py",
                                 "tests/tooling/test_contents.py"),
    "tools/release/policy.py": ("tests/tooling/test_release.py",
                                "tests/tooling/test_signing.py"),
    "tools/release/scanned.py": ("tests/tooling/test_scan.py",),
    "tools/release/signing.py": ("tests/tooling/test_release.py",
                                 "tests/tooling/test_signing.py"),
    "tools/release/vsa.py": ("tests/tooling/test_vsa.py", "tests/tooling/test_rebuild.py"),
    "tools/scan/database.py": ("tests/tooling/test_scan.py",),
    "tools/scan/policy.py": ("tests/tooling/test_scan.py",),
    "tools/scan/result.py": ("tests/tooling/test_scan.py",),
}  # fmt: skip
#: Modules whose guarding tests are timed (real sockets, deadlines): their mutants take
#: minutes, not seconds. A run of every module (CI's) takes them only if they or their
#: tests changed since the committed run; naming one, or `--record`, always does.
TIMED = ("moscow_time/limits.py",)
#: Tests that need the checkout itself (its source text, its git repository), which the
#: mutants/ copy is not; they guard none of the modules above.
CHECKOUT_ONLY = (
    "--ignore=tests/tooling/test_layout.py",
    "--deselect=tests/tooling/test_rebuild.py::test_the_commit_comes_from_this_clone_or_from_git_url",
)


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def chosen(modules: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The guarded modules named (by path or dotted name), or all; an unknown one is an error."""
    if not modules:
        return dict(GUARDED)
    by_name = {module_name(path): path for path in GUARDED}
    unknown = [m for m in modules if m not in GUARDED and m not in by_name]
    if unknown:
        raise BuildError(f"not guarded modules: {', '.join(unknown)}; one of {', '.join(by_name)}")
    paths = [m if m in GUARDED else by_name[m] for m in modules]
    return {path: GUARDED[path] for path in paths}


def changed_since(commit: str, paths: Sequence[str], root: Path = ROOT) -> bool:
    """True if any of the paths differs between `commit` and the checkout's files, or if
    the clone lacks the commit (so nothing can be said to be unchanged)."""
    diff = subprocess.run(["git", "-C", str(root), "diff", "--quiet", commit, "--", *paths],
                          capture_output=True, env=environment(), check=False)  # fmt: skip
    return diff.returncode != 0


def untimed_unless_changed(
    modules: Mapping[str, tuple[str, ...]], recorded: str | None, root: Path = ROOT
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """The modules a run of every module takes, and the timed ones it leaves out, which
    are those unchanged (with their tests) since the committed run's commit `recorded`."""
    left_out = [
        path
        for path in TIMED
        if path in modules
        and recorded
        and not changed_since(recorded, [path, *modules[path]], root)
    ]
    return {p: tests for p, tests in modules.items() if p not in left_out}, left_out


def config(modules: Mapping[str, Sequence[str]], also_copy: Iterable[str]) -> str:
    """mutmut's [tool.mutmut] section for these modules and their tests."""
    tests = sorted({test for guarding in modules.values() for test in guarding})
    settings = {
        "source_paths": ["moscow_time", "tools"],
        "only_mutate": sorted(modules),
        "also_copy": sorted(also_copy),
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": [*CHECKOUT_ONLY, "-p", "no:cacheprovider"],
    }
    return "\n[tool.mutmut]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
