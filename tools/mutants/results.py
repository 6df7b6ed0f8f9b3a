"""What became of the mutants: the scores per module, the survivors nobody explained, the
reviewed equivalents, and the committed full run that is the floor."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import importlib.metadata
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.paths import ROOT
from tools.process import BuildError, capture

#: Points a module may fall below the committed run: a loaded machine can turn a kill
#: into a timeout, or a suspicious result, on another day.
SLACK = 2.0
EQUIVALENT = ROOT / "tests" / "mutants" / "equivalent.txt"
SCORES = ROOT / "docs" / "mutation-scores.json"
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


def recorded_commit(path: Path = SCORES) -> str | None:
    """The commit of the committed full run; None if there is none."""
    return str(json.loads(path.read_text())["commit"]) if path.is_file() else None


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
