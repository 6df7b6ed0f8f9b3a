"""`python -m tools.bench.loop`: how long `nox -s build` takes in the edit-build loop.

For one commit (`--ref`, default HEAD) it checks out a worktree under
build/loop/, builds once to warm it (untimed), then, each round, times
`nox -s build` after: nothing changed, a docs-only commit, a one-line app
commit, a lock commit (a comment in requirements.txt, which changes the file
as a version bump does, without new wheels), and with `--arm64` an app commit
built for both platforms. Run it for the commit before a change and after,
on one machine, and compare: `nox -s bench-loop -- --ref OLD` then
`nox -s bench-loop`. Each run writes build/bench/loop-REF.json; the report
is a table of every run there, median and range over its rounds.

It builds on the stand-ins (MOSCOW_TIME_OFFLINE=1), loads its images into
Docker under the usual tags, and leaves commits only in its worktree. Each
round notes how many images buildah's store holds as it starts: its cache
lookup reads every one at every step, so the same loop is slower in a fuller
store (docs/reproducibility.md); compare runs made at like sizes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tools.bench.spread import Spread
from tools.builders.libpod import Buildah
from tools.images import record as build_record
from tools.images.record import images_by_tag
from tools.inputs.toolchain import missing_host_tools
from tools.model import host_platform
from tools.paths import BUILD, ROOT, WHEELHOUSE
from tools.process import BuildError, capture, checkout_worktree, run_shown, say
from tools.tables import table

WORKTREES = BUILD / "loop"
RESULTS = BUILD / "bench"
#: The bench's commits in its worktree: no user's identity needed.
GIT_IDENTITY = ("-c", "user.name=bench-loop", "-c", "user.email=bench-loop@localhost")


@dataclasses.dataclass(frozen=True)
class Change:
    """One step of the loop: an edit (or none), committed, then a build."""

    name: str
    #: The file appended to, relative to the worktree; None: nothing changes.
    edits: str | None
    line: str = ""
    arm64: bool = False

    def apply(self, worktree: Path, round_number: int) -> None:
        if self.edits is None:
            return
        with (worktree / self.edits).open("a") as f:
            f.write(self.line.format(round=round_number) + "\n")
        git(worktree, "commit", "--quiet", "--all", "--message", f"bench-loop: {self.name}")


CHANGES = (
    Change("nothing changed", None),
    Change("docs-only commit", "README.md", "<!-- bench-loop round {round} -->"),
    Change("one line of moscow_time/app.py", "moscow_time/app.py", "# bench-loop round {round}"),
    Change("lock change (requirements.txt)", "requirements.txt", "# bench-loop round {round}"),
)
ARM64 = Change("app change, with arm64", "moscow_time/app.py", "# arm64 round {round}", True)


@dataclasses.dataclass
class Run:
    """One commit's loop: seconds per change, one a round, and whether the IDs moved."""

    ref: str
    commit: str
    rounds: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    ids_moved: dict[str, list[bool]] = dataclasses.field(default_factory=dict)
    #: The images in buildah's store as each round starts (empty: not counted).
    store_images: list[int] = dataclasses.field(default_factory=list)

    def add(self, change: str, seconds: float, moved: bool) -> None:
        self.rounds.setdefault(change, []).append(round(seconds, 1))
        self.ids_moved.setdefault(change, []).append(moved)


def git(worktree: Path, *args: str) -> str:
    return capture("git", "-C", str(worktree), *GIT_IDENTITY, *args)


def image_ids(worktree: Path) -> dict[str, str]:
    """Each image the worktree's last build recorded, by tag."""
    return images_by_tag(build_record.require(build_record.in_checkout(worktree)).images)


def ids_moved(before: dict[str, str], after: dict[str, str]) -> bool:
    """True if an image both builds made has another ID (another platform set is no move)."""
    return any(before[tag] != after[tag] for tag in before.keys() & after.keys())


def images_in_store() -> int | None:
    """How many images buildah's store holds, intermediate ones included; None where the
    toolchain's buildah cannot run."""
    if missing_host_tools():
        return None
    return len(capture(*Buildah().command("images", "--all", "--quiet")).split())


def timed_build(worktree: Path, nox: str, *, arm64: bool) -> float:
    platforms = "all" if arm64 else host_platform().name
    env = {"MOSCOW_TIME_OFFLINE": "1", "MOSCOW_TIME_PLATFORMS": platforms}
    started = time.monotonic()
    run_shown(nox, "-s", "build", cwd=worktree, env=env)
    return time.monotonic() - started


def loop(ref: str, rounds: int, *, arm64: bool, nox: str) -> Run:
    """Check out `ref`, warm it, then time each change `rounds` times."""
    worktree = WORKTREES / ref.replace("/", "-")
    checkout_worktree(run_shown, ref, worktree)
    # The wheels are the same for both sides; a fresh worktree would download them.
    shutil.copytree(WHEELHOUSE, worktree / "build" / "wheelhouse", dirs_exist_ok=True)
    result = Run(ref, git(worktree, "rev-parse", "HEAD"))
    changes = [*CHANGES, ARM64] if arm64 else list(CHANGES)
    say(f"bench-loop {ref}: warming up (a first build, untimed)")
    timed_build(worktree, nox, arm64=arm64)
    for number in range(1, rounds + 1):
        if (counted := images_in_store()) is not None:
            result.store_images.append(counted)
        for change in changes:
            before = image_ids(worktree)
            change.apply(worktree, number)
            seconds = timed_build(worktree, nox, arm64=change.arm64)
            result.add(change.name, seconds, ids_moved(before, image_ids(worktree)))
            say(f"bench-loop {ref}, round {number}: {change.name}: {seconds:.1f} s")
        if arm64:  # back to the host's platform alone, untimed, as the next round starts
            timed_build(worktree, nox, arm64=False)
    return result


def save(result: Run) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"loop-{result.ref.replace('/', '-')}.json"
    path.write_text(json.dumps(dataclasses.asdict(result), indent=2) + "\n")
    return path


def figure(seconds: Sequence[float]) -> str:
    """The median, the range in brackets, and the number of rounds."""
    return f"{Spread.of(seconds).text('{:.1f}', ' s')}, n={len(seconds)}"


def report(runs: Sequence[Run]) -> str:
    """One row per change, one column per run: seconds, and whether the image IDs moved."""
    names = [change.name for change in (*CHANGES, ARM64)]
    rows = [["change", *(f"{run.ref} ({run.commit[:12]})" for run in runs)]]
    for name in names:
        cells = []
        for run in runs:
            if name not in run.rounds:
                cells.append("—")
                continue
            moved = run.ids_moved[name]
            ids = "new IDs" if all(moved) else "same IDs" if not any(moved) else "IDs: mixed"
            cells.append(f"{figure(run.rounds[name])}, {ids}")
        if any(cell != "—" for cell in cells):
            rows.append([name, *cells])
    sizes = [", ".join(map(str, run.store_images)) or "—" for run in runs]
    rows.append(["images in the store, each round", *sizes])
    return table(rows)


def saved_runs() -> list[Run]:
    return [Run(**json.loads(path.read_text())) for path in sorted(RESULTS.glob("loop-*.json"))]


def main(argv: Sequence[str], nox: str) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench-loop --", description=__doc__)
    parser.add_argument("--ref", default="HEAD", help="the commit to time (default HEAD)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arm64", action="store_true", help="time an arm64 app change too")
    parser.add_argument("--report", action="store_true", help="only print the saved runs")
    options = parser.parse_args(argv)
    if not options.report:
        if options.rounds < 1:
            parser.error("--rounds must be 1 or more")
        say(f"wrote {save(loop(options.ref, options.rounds, arm64=options.arm64, nox=nox))}")
    runs = saved_runs()
    if not runs:
        raise BuildError("no loop measured yet: run `nox -s bench-loop` first")
    print(report(runs))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:], os.environ.get("NOX", str(ROOT / ".venv" / "bin" / "nox"))))
    except BuildError as error:
        sys.exit(str(error))
