"""`nox -s mutants`: mutmut over the guarded modules in a scratch clone, then the report."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import tools.mutants
from tools.mutants import results
from tools.mutants.guarded import GUARDED, chosen, config, module_name, untimed_unless_changed
from tools.mutants.results import EQUIVALENT, SCORES
from tools.mutants.unwrapped import unwrap_file
from tools.paths import BUILD, ROOT
from tools.process import BuildError, Runner, environment, git, run_shown
from tools.tables import table

WORKDIR = BUILD / "mutants"


def scratch(run: Runner, modules: Mapping[str, Sequence[str]], workdir: Path = WORKDIR) -> Path:
    """A clone with the checkout's tracked files copied over it, its guarded modules' properties
    unwrapped (`unwrapped`), configured for mutmut."""
    tree = workdir / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    run("git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(tree))
    tracked = git("ls-files", "-z").split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    for path in modules:
        unwrap_file(tree / path)
    tops = {name.split("/")[0] for name in tracked if name} - {"moscow_time", "tools", "tests"}
    with (tree / "pyproject.toml").open("a") as pyproject:
        pyproject.write(config(modules, tops - {"pyproject.toml"}))
    return tree


def mutmut(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """mutmut in the scratch tree (it reads its config from the working directory); its
    output captured (a run's progress spinner is kept in build/mutants/run.log)."""
    result = subprocess.run(["mutmut", *args], cwd=tree, env=environment(), text=True,
                            capture_output=True, check=False)  # fmt: skip
    if args[0] == "run":
        (WORKDIR / "run.log").write_text(result.stdout + result.stderr)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.mutants", description=tools.mutants.__doc__
    )
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help="a guarded module (path or dotted name); default: all")  # fmt: skip
    parser.add_argument("--record", action="store_true",
                        help="write this full run to docs/mutation-scores.json")  # fmt: skip
    options = parser.parse_args(argv)
    try:
        modules = chosen(options.modules)
        if options.record and len(modules) != len(GUARDED):
            raise BuildError("--record records a full run: name no modules")
        if not options.modules and not options.record:
            recorded = results.recorded_commit()
            modules, left_out = untimed_unless_changed(modules, recorded)
            for path in left_out:
                print(f"{module_name(path)}: unchanged since the committed run "
                      f"({recorded}), and its tests are timed: left out "
                      f"(`nox -s mutants -- {module_name(path)}` runs it)")  # fmt: skip
        tree = scratch(run_shown, modules)
        started = time.monotonic()
        if mutmut(tree, "run").returncode != 0:
            log = (WORKDIR / "run.log").read_text().splitlines()
            print("\n".join(log[-30:]), file=sys.stderr)
            raise BuildError(f"mutmut run failed in {tree}: the end of {WORKDIR}/run.log is above")
        seconds = time.monotonic() - started
        found = results.parse(mutmut(tree, "results", "--all", "true").stdout)
    except BuildError as error:
        print(f"mutants: {error}", file=sys.stderr)
        return 2
    return report(found, seconds, tree, record_run=options.record)


def report(
    found: Mapping[str, Mapping[str, str]], seconds: float, tree: Path, *, record_run: bool
) -> int:
    """The scores and the survivors; 1 if a module fell below the committed floor."""
    now = results.scores(found)
    header = ["module", "mutants", "killed", "survived", "no test", "other", "score"]
    print(table([header, *(s.row() for s in now)]))
    listed = results.equivalent()
    survivors = results.unexplained(found, listed)
    if gone := results.stale(found, listed):
        print(f"{len(gone)} line(s) of {EQUIVALENT.relative_to(ROOT)} name no survivor now: "
              f"remove {', '.join(gone)}")  # fmt: skip
    listing = WORKDIR / "survivors.txt"
    listing.write_text("".join(f"{name}\n" for name in survivors))
    print(f"{len(survivors)} survivor(s) neither killed nor in {EQUIVALENT.relative_to(ROOT)}: "
          f"{listing.relative_to(ROOT)}; see one with `cd {tree.relative_to(ROOT)} && "
          f"mutmut show NAME`; {seconds:.0f} s")  # fmt: skip
    if record_run:
        results.record(now, seconds)
        print(f"recorded: {SCORES.relative_to(ROOT)}")
    if fallen := results.below_floor(now, results.floor()):
        print("a module's score fell:\n  " + "\n  ".join(fallen), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
