"""The mutation session's decisions: which modules, mutmut's config, the scores, the
survivors nobody explained, and the committed floor."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tools.mutants import guarded, results
from tools.mutants.guarded import GUARDED
from tools.mutants.unwrapped import SUFFIX, unwrap_file, unwrapped, wrapped_methods
from tools.paths import ROOT
from tools.process import BuildError

RESULTS = """\
    tools.scan.policy.x_read__mutmut_1: killed
    tools.scan.policy.x_read__mutmut_2: survived
    tools.scan.policy.xǁScanPolicyǁfails__mutmut_1: timeout
    tools.scan.policy.xǁScanPolicyǁfails__mutmut_2: no tests
    moscow_time.headers.xǁSecurityHeadersǁ__call____mutmut_3: survived
    moscow_time.headers.xǁSecurityHeadersǁ__call____mutmut_4: suspicious
"""


def test_every_guarded_module_and_test_exists() -> None:
    for module, tests in guarded.GUARDED.items():
        assert (ROOT / module).is_file(), module
        assert tests
        assert all((ROOT / test).is_file() for test in tests), tests


def test_modules_are_chosen_by_path_or_dotted_name_and_an_unknown_one_is_named() -> None:
    assert list(guarded.chosen(["tools.scan.policy", "moscow_time/headers.py"])) == [
        "tools/scan/policy.py",
        "moscow_time/headers.py",
    ]
    assert guarded.chosen([]) == guarded.GUARDED
    with pytest.raises(BuildError, match=r"not guarded modules: tools\.paths"):
        guarded.chosen(["tools.paths"])


def test_the_config_mutates_only_the_chosen_modules_with_their_tests() -> None:
    chosen = guarded.chosen(["tools.scan.policy"])
    config = tomllib.loads(guarded.config(chosen, {"docs", "README.md"}))["tool"]["mutmut"]
    assert config["only_mutate"] == ["tools/scan/policy.py"]
    assert config["pytest_add_cli_args_test_selection"] == ["tests/tooling/test_scan.py"]
    assert config["also_copy"] == ["README.md", "docs"]
    assert "--ignore=tests/tooling/test_layout.py" in config["pytest_add_cli_args"]


def test_scores_count_a_timeout_as_killed_and_the_rest_as_not() -> None:
    found = results.parse(RESULTS)
    scores = {s.module: s for s in results.scores(found)}
    policy = scores["tools.scan.policy"]
    assert (policy.killed, policy.survived, policy.untested, policy.other) == (2, 1, 1, 0)
    assert policy.percent == 50.0
    headers = scores["moscow_time.headers"]
    assert (headers.killed, headers.survived, headers.other, headers.percent) == (0, 1, 1, 0.0)


def test_a_survivor_is_unexplained_until_listed_with_a_reason(tmp_path: Path) -> None:
    found = results.parse(RESULTS)
    listed = tmp_path / "equivalent.txt"
    listed.write_text("# reviewed\ntools.scan.policy.x_read__mutmut_2  # the same message\n")
    assert results.unexplained(found, results.equivalent(listed)) == [
        "moscow_time.headers.xǁSecurityHeadersǁ__call____mutmut_3"
    ]
    listed.write_text("tools.scan.policy.x_read__mutmut_2\n")
    with pytest.raises(BuildError, match=r"equivalent\.txt:1: .*mutmut_2 has no reason"):
        results.equivalent(listed)


def test_the_repositorys_survivors_file_gives_every_line_a_reason() -> None:
    assert all(reason for reason in results.equivalent().values())


def test_a_module_more_than_the_slack_below_the_floor_fails(tmp_path: Path) -> None:
    now = results.scores(results.parse(RESULTS))  # policy 50.0%, headers 0.0%
    floor = {"tools.scan.policy": 50.0 + results.SLACK, "moscow_time.headers": 0.0}
    assert results.below_floor(now, floor) == []
    floor["tools.scan.policy"] += 0.1
    (fallen,) = results.below_floor(now, floor)
    assert fallen.startswith("tools.scan.policy: 50.0%, the committed run's 52.1%")
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"modules": {"m": {"percent": 91.5}}}))
    assert results.floor(scores) == {"m": 91.5}
    assert results.floor(tmp_path / "none.json") == {}


def test_a_listed_mutant_that_no_longer_survives_is_stale() -> None:
    found = results.parse(RESULTS)
    listed = {
        "tools.scan.policy.x_read__mutmut_2": "survives: kept",
        "tools.scan.policy.x_read__mutmut_1": "killed now",
        "tools.scan.policy.x_read__mutmut_99": "renumbered away",
        "tools.inputs.debs.x_fetch__mutmut_1": "a module not run",
    }
    assert results.stale(found, listed) == [
        "tools.scan.policy.x_read__mutmut_1",
        "tools.scan.policy.x_read__mutmut_99",
    ]


def a_repository(root: Path) -> str:
    """A repository holding a timed module and its test; its commit."""
    for path in ("moscow_time/limits.py", "tests/unit/test_limits.py", "README.md"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("# as recorded\n")
    identity = ["-c", "user.name=t", "-c", "user.email=t@invalid"]
    for args in (["init", "--quiet"], ["add", "."], [*identity, "commit", "--quiet", "-m", "r"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    return subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip


def test_a_timed_module_is_run_only_if_it_or_its_tests_changed_since_the_committed_run(
    tmp_path: Path,
) -> None:
    recorded = a_repository(tmp_path)
    modules = {"moscow_time/limits.py": ("tests/unit/test_limits.py",), "tools/x.py": ("t",)}
    assert guarded.TIMED == ("moscow_time/limits.py",)
    kept, left_out = guarded.untimed_unless_changed(modules, recorded, tmp_path)
    assert (list(kept), left_out) == (["tools/x.py"], ["moscow_time/limits.py"])
    (tmp_path / "README.md").write_text("another change\n")
    assert guarded.untimed_unless_changed(modules, recorded, tmp_path)[1] == [
        "moscow_time/limits.py"
    ], "a change elsewhere is not the module's"
    (tmp_path / "tests/unit/test_limits.py").write_text("# a test changed\n")
    assert guarded.untimed_unless_changed(modules, recorded, tmp_path) == (modules, [])
    assert a_repository(tmp_path / "fresh")
    for unknown in (None, "0" * 12):
        kept, left_out = guarded.untimed_unless_changed(modules, unknown, tmp_path / "fresh")
        assert (kept, left_out) == (modules, []), "no committed run: nothing is unchanged"


def test_the_committed_run_names_its_commit(tmp_path: Path) -> None:
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"commit": "b44997f", "modules": {}}))
    assert results.recorded_commit(scores) == "b44997f"
    assert results.recorded_commit(tmp_path / "none.json") is None


SAMPLE = """\
import functools


class Toolchain:
    def __init__(self, text: str) -> None:
        self.text = text
        self.digested = 0

    @property
    def home(self) -> str:
        return "/cache/" + self.text

    @functools.cached_property
    def digest(
        self,
    ) -> str:
        self.digested += 1
        return self.text.upper()

    @staticmethod
    def kept() -> int:
        return 1
"""


def test_properties_become_plain_methods_that_behave_the_same() -> None:
    rewritten = unwrapped(SAMPLE)
    assert "@property" not in rewritten
    assert "@functools.cached_property" not in rewritten
    assert "    def home_property(self) -> str:\n" in rewritten
    assert "    home = property(home_property)\n" in rewritten
    assert "    digest = functools.cached_property(digest_property)\n" in rewritten
    assert "    @staticmethod\n    def kept() -> int:\n" in rewritten, "mutmut takes it as it is"
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    exec(compile(SAMPLE, "before", "exec"), before)  # noqa: S102 - the sample above
    exec(compile(rewritten, "after", "exec"), after)  # noqa: S102
    for space in (before, after):
        chain = space["Toolchain"]("abc")
        assert (chain.home, chain.digest, chain.digest) == ("/cache/abc", "ABC", "ABC")
        assert chain.digested == 1, "still cached"
        assert space["Toolchain"].kept() == 1
    assert len(rewritten.splitlines()) == len(SAMPLE.splitlines()), "a line out, a line in"


def test_a_setter_is_left_and_a_taken_name_is_refused() -> None:
    setter = "class A:\n    @x.setter\n    def x(self, v):\n        pass\n"
    assert unwrapped(setter) == setter
    taken = "class A:\n    @property\n    def x(self):\n        return x_property\n"
    with pytest.raises(ValueError, match=r"^line 3: x_property is taken; rename it or x$"):
        unwrapped(taken)


@pytest.mark.parametrize("path", sorted(GUARDED))
def test_every_guarded_module_unwraps_to_one_that_compiles(path: str, tmp_path: Path) -> None:
    copy = tmp_path / "module.py"
    shutil.copyfile(ROOT / path, copy)
    count = unwrap_file(copy)
    rewritten = copy.read_text()
    assert wrapped_methods(ast.parse(rewritten)) == [], "none left for mutmut to skip"
    wraps = re.findall(rf"^ +(\w+) = [\w.]+\((\w+){SUFFIX}\)$", rewritten, re.MULTILINE)
    assert len(wraps) == count
    assert all(name == plain for name, plain in wraps)
    if path == "tools/inputs/toolchain.py":
        assert count == 3, "recipe, digest, home"
