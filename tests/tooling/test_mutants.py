"""The mutation session's decisions: which modules, mutmut's config, the scores, the
survivors nobody explained, and the committed floor."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tools import mutants
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
    for module, tests in mutants.GUARDED.items():
        assert (ROOT / module).is_file(), module
        assert tests
        assert all((ROOT / test).is_file() for test in tests), tests


def test_modules_are_chosen_by_path_or_dotted_name_and_an_unknown_one_is_named() -> None:
    assert list(mutants.chosen(["tools.scan.policy", "moscow_time/headers.py"])) == [
        "tools/scan/policy.py",
        "moscow_time/headers.py",
    ]
    assert mutants.chosen([]) == mutants.GUARDED
    with pytest.raises(BuildError, match=r"not guarded modules: tools\.paths"):
        mutants.chosen(["tools.paths"])


def test_the_config_mutates_only_the_chosen_modules_with_their_tests() -> None:
    chosen = mutants.chosen(["tools.scan.policy"])
    config = tomllib.loads(mutants.config(chosen, {"docs", "README.md"}))["tool"]["mutmut"]
    assert config["only_mutate"] == ["tools/scan/policy.py"]
    assert config["pytest_add_cli_args_test_selection"] == ["tests/tooling/test_scan.py"]
    assert config["also_copy"] == ["README.md", "docs"]
    assert "--ignore=tests/tooling/test_layout.py" in config["pytest_add_cli_args"]


def test_scores_count_a_timeout_as_killed_and_the_rest_as_not() -> None:
    found = mutants.parse(RESULTS)
    scores = {s.module: s for s in mutants.scores(found)}
    policy = scores["tools.scan.policy"]
    assert (policy.killed, policy.survived, policy.untested, policy.other) == (2, 1, 1, 0)
    assert policy.percent == 50.0
    headers = scores["moscow_time.headers"]
    assert (headers.killed, headers.survived, headers.other, headers.percent) == (0, 1, 1, 0.0)


def test_a_survivor_is_unexplained_until_listed_with_a_reason(tmp_path: Path) -> None:
    found = mutants.parse(RESULTS)
    listed = tmp_path / "equivalent.txt"
    listed.write_text("# reviewed\ntools.scan.policy.x_read__mutmut_2  # the same message\n")
    assert mutants.unexplained(found, mutants.equivalent(listed)) == [
        "moscow_time.headers.xǁSecurityHeadersǁ__call____mutmut_3"
    ]
    listed.write_text("tools.scan.policy.x_read__mutmut_2\n")
    with pytest.raises(BuildError, match=r"equivalent\.txt:1: .*mutmut_2 has no reason"):
        mutants.equivalent(listed)


def test_the_repositorys_survivors_file_gives_every_line_a_reason() -> None:
    assert all(reason for reason in mutants.equivalent().values())


def test_a_module_more_than_the_slack_below_the_floor_fails(tmp_path: Path) -> None:
    now = mutants.scores(mutants.parse(RESULTS))  # policy 50.0%, headers 0.0%
    floor = {"tools.scan.policy": 50.0 + mutants.SLACK, "moscow_time.headers": 0.0}
    assert mutants.below_floor(now, floor) == []
    floor["tools.scan.policy"] += 0.1
    (fallen,) = mutants.below_floor(now, floor)
    assert fallen.startswith("tools.scan.policy: 50.0%, the committed run's 52.1%")
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"modules": {"m": {"percent": 91.5}}}))
    assert mutants.floor(scores) == {"m": 91.5}
    assert mutants.floor(tmp_path / "none.json") == {}


def test_a_listed_mutant_that_no_longer_survives_is_stale() -> None:
    found = mutants.parse(RESULTS)
    listed = {
        "tools.scan.policy.x_read__mutmut_2": "survives: kept",
        "tools.scan.policy.x_read__mutmut_1": "killed now",
        "tools.scan.policy.x_read__mutmut_99": "renumbered away",
        "tools.inputs.debs.x_fetch__mutmut_1": "a module not run",
    }
    assert mutants.stale(found, listed) == [
        "tools.scan.policy.x_read__mutmut_1",
        "tools.scan.policy.x_read__mutmut_99",
    ]
