"""Mutation testing of the code that guards trust (`nox -s mutants`).

mutmut changes each guarded module one small step at a time (a comparison
flipped, a constant changed, a call dropped) and runs the unit and tooling
tests that guard that module; a mutant no test notices has survived. The run
happens in a scratch clone under build/mutants/ with the checkout's files
copied over it (uncommitted edits included), never in the checkout: mutmut
writes its mutants/ beside the sources. Each module gets a score; a survivor
is killed by a better test or listed, with why no test can tell it apart, in
tests/mutants/equivalent.txt. The committed run (docs/mutation-scores.json)
is a floor: a module whose score drops below it fails the session.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime as dt
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tools.paths import BUILD, ROOT
from tools.process import BuildError, Runner, capture, environment, git, run_shown
from tools.tables import table

#: Each guarded module, and the unit and tooling tests that guard it.
GUARDED: dict[str, tuple[str, ...]] = {
    "moscow_time/clock.py": ("tests/unit/test_clock.py", "tests/unit/test_app.py"),
    "moscow_time/headers.py": ("tests/unit/test_headers.py", "tests/unit/test_app.py"),
    "tools/builders/archives.py": ("tests/tooling/test_archives.py",),
    "tools/images/record.py": ("tests/tooling/test_identity.py", "tests/tooling/test_plan.py",
                               "tests/tooling/test_rebuild.py"),
    "tools/inputs/aptlock.py": ("tests/tooling/test_aptlock.py", "tests/tooling/test_debs.py"),
    "tools/inputs/baselock.py": ("tests/tooling/test_baselock.py", "tests/tooling/test_plan.py"),
    "tools/inputs/debs.py": ("tests/tooling/test_debs.py", "tests/tooling/test_mirrors.py"),
    "tools/rebuild/comparison.py": ("tests/tooling/test_contents.py",
                                    "tests/tooling/test_reproduce.py"),
    "tools/rebuild/findings.py": ("tests/tooling/test_rebuild.py", "tests/tooling/test_vsa.py"),
    "tools/rebuild/rebuild.py": ("tests/tooling/test_rebuild.py",
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
#: Tests that need the checkout itself (its source text, its git repository), which the
#: mutants/ copy is not; they guard none of the modules above.
CHECKOUT_ONLY = (
    "--ignore=tests/tooling/test_layout.py",
    "--deselect=tests/tooling/test_rebuild.py::test_the_commit_comes_from_this_clone_or_from_git_url",
)
#: Points a module may fall below the committed run: a loaded machine can turn a kill
#: into a timeout, or a suspicious result, on another day.
SLACK = 2.0
EQUIVALENT = ROOT / "tests" / "mutants" / "equivalent.txt"
SCORES = ROOT / "docs" / "mutation-scores.json"
WORKDIR = BUILD / "mutants"
NAME = re.compile(r"^\s*(?P<name>(?P<module>[\w.]+?)\.(?:x_|xǁ)\S*__mutmut_\d+): (?P<status>.+)$")


@dataclasses.dataclass(frozen=True)
class Score:
    """One module's mutants, by what became of them."""

    module: str
    killed: int
    survived: int
    untested: int
    other: int

    @property
    def total(self) -> int:
        return self.killed + self.survived + self.untested + self.other

    @property
    def percent(self) -> float:
        return 100 * self.killed / self.total if self.total else 100.0

    def row(self) -> list[str]:
        counts = (self.total, self.killed, self.survived, self.untested, self.other)
        return [self.module, *map(str, counts), f"{self.percent:.1f}%"]


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


def scratch(run: Runner, modules: Mapping[str, Sequence[str]], workdir: Path = WORKDIR) -> Path:
    """A clone with the checkout's tracked files copied over it, configured for mutmut."""
    tree = workdir / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    run("git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(tree))
    tracked = git("ls-files", "-z").split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    tops = {name.split("/")[0] for name in tracked if name} - {"moscow_time", "tools", "tests"}
    with (tree / "pyproject.toml").open("a") as pyproject:
        pyproject.write(config(modules, tops - {"pyproject.toml"}))
    return tree


def parse(results: str) -> dict[str, dict[str, str]]:
    """`mutmut results --all true`: module → mutant → status."""
    found: dict[str, dict[str, str]] = collections.defaultdict(dict)
    for line in results.splitlines():
        if match := NAME.match(line):
            found[match["module"]][match["name"]] = match["status"].strip()
    return found


def scores(found: Mapping[str, Mapping[str, str]]) -> list[Score]:
    listed = []
    for module, mutants in sorted(found.items()):
        counts = collections.Counter(mutants.values())
        # A mutant that hangs the tests past mutmut's timeout was noticed too.
        killed = counts["killed"] + counts["timeout"]
        survived, untested = counts["survived"], counts["no tests"]
        other = sum(counts.values()) - killed - survived - untested
        listed.append(Score(module, killed, survived, untested, other))
    return listed


def equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """The reviewed survivors: `NAME  # why no test can tell it apart`, a line each."""
    listed = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, reason = line.partition("#")
        if not reason.strip():
            raise BuildError(f"{path}:{number}: {name.strip()} has no reason after '#'")
        listed[name.strip()] = reason.strip()
    return listed


def unexplained(found: Mapping[str, Mapping[str, str]], listed: Mapping[str, str]) -> list[str]:
    """Survivors neither killed nor listed as equivalent."""
    return sorted(
        name
        for mutants in found.values()
        for name, status in mutants.items()
        if status == "survived" and name not in listed
    )


def stale(found: Mapping[str, Mapping[str, str]], listed: Mapping[str, str]) -> list[str]:
    """Listed mutants of the modules run that no longer survive (killed, or renumbered
    because the code changed): the line should go."""
    statuses = {name: status for mutants in found.values() for name, status in mutants.items()}
    run = set(found)
    return sorted(
        name
        for name in listed
        if any(name.startswith(f"{module}.") for module in run)
        and statuses.get(name) != "survived"
    )


def below_floor(now: Sequence[Score], floor: Mapping[str, float]) -> list[str]:
    """Modules whose score dropped more than SLACK points below the committed run's."""
    return [
        f"{s.module}: {s.percent:.1f}%, the committed run's {floor[s.module]:.1f}% "
        f"(docs/mutation-scores.json): a test no longer notices what it did"
        for s in now
        if s.module in floor and s.percent < floor[s.module] - SLACK
    ]


def floor(path: Path = SCORES) -> dict[str, float]:
    if not path.is_file():
        return {}
    return {m: s["percent"] for m, s in json.loads(path.read_text())["modules"].items()}


def record(now: Sequence[Score], seconds: float, path: Path = SCORES) -> None:
    """The full run, committed: its date, commit, time and each module's counts."""
    data = {
        "date": dt.date.today().isoformat(),
        "commit": capture("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "seconds": round(seconds),
        "tool": f"mutmut {importlib.metadata.version('mutmut')}",
        "modules": {
            s.module: dataclasses.asdict(s) | {"percent": round(s.percent, 1)} for s in now
        },
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def mutmut(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """mutmut in the scratch tree (it reads its config from the working directory); its
    output captured (a run's progress spinner is kept in build/mutants/run.log)."""
    result = subprocess.run(["mutmut", *args], cwd=tree, env=environment(), text=True,
                            capture_output=True, check=False)  # fmt: skip
    if args[0] == "run":
        (WORKDIR / "run.log").write_text(result.stdout + result.stderr)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutants", description=__doc__)
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help="a guarded module (path or dotted name); default: all")  # fmt: skip
    parser.add_argument("--record", action="store_true",
                        help="write this full run to docs/mutation-scores.json")  # fmt: skip
    options = parser.parse_args(argv)
    try:
        modules = chosen(options.modules)
        if options.record and len(modules) != len(GUARDED):
            raise BuildError("--record records a full run: name no modules")
        tree = scratch(run_shown, modules)
        started = time.monotonic()
        if mutmut(tree, "run").returncode != 0:
            log = (WORKDIR / "run.log").read_text().splitlines()
            print("\n".join(log[-30:]), file=sys.stderr)
            raise BuildError(f"mutmut run failed in {tree}: the end of {WORKDIR}/run.log is above")
        seconds = time.monotonic() - started
        found = parse(mutmut(tree, "results", "--all", "true").stdout)
    except BuildError as error:
        print(f"mutants: {error}", file=sys.stderr)
        return 2
    return report(found, seconds, tree, record_run=options.record)


def report(
    found: Mapping[str, Mapping[str, str]], seconds: float, tree: Path, *, record_run: bool
) -> int:
    """The scores and the survivors; 1 if a module fell below the committed floor."""
    now = scores(found)
    header = ["module", "mutants", "killed", "survived", "no test", "other", "score"]
    print(table([header, *(s.row() for s in now)]))
    listed = equivalent()
    survivors = unexplained(found, listed)
    if gone := stale(found, listed):
        print(f"{len(gone)} line(s) of {EQUIVALENT.relative_to(ROOT)} name no survivor now: "
              f"remove {', '.join(gone)}")  # fmt: skip
    listing = WORKDIR / "survivors.txt"
    listing.write_text("".join(f"{name}\n" for name in survivors))
    print(f"{len(survivors)} survivor(s) neither killed nor in {EQUIVALENT.relative_to(ROOT)}: "
          f"{listing.relative_to(ROOT)}; see one with `cd {tree.relative_to(ROOT)} && "
          f"mutmut show NAME`; {seconds:.0f} s")  # fmt: skip
    if record_run:
        record(now, seconds)
        print(f"recorded: {SCORES.relative_to(ROOT)}")
    if fallen := below_floor(now, floor()):
        print("a module's score fell:\n  " + "\n  ".join(fallen), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
