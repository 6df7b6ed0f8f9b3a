"""The rebuild's decisions without a registry: what the provenance gives back, what is
compared, the verification summary and the check that requires one, the store of its own."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tooling.samples import DIGEST, a_predicate, a_target
from tools.builders.store import STORAGE_CONF_ENV, SeparateStore
from tools.images.plan import BuildPlan
from tools.paths import ROOT
from tools.process import BuildError, git_revision, run_shown
from tools.rebuild import findings, layerdiff, rebuild
from tools.release import vsa
from tools.release.provenance import BuildInputs
from tools.settings import OFFLINE_ENV, UPSTREAM_ENV


def inputs() -> BuildInputs:
    return BuildInputs.from_predicate(a_predicate())


# ---- what the provenance gives back -----------------------------------------------


def test_the_provenance_gives_back_everything_a_rebuild_takes() -> None:
    found = inputs()
    assert found.commit == git_revision()
    assert (found.platform, found.dockerfile) == ("linux/arm64", "Dockerfile")
    assert (found.builder, found.builder_version) == ("buildah", "buildah version 1.28.2")
    assert found.source_date_epoch == "1796000000"
    assert found.bases == {"PYTHON_IMAGE": ("localhost/base", DIGEST)}
    committed = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{found.commit}:requirements.txt"],
        capture_output=True,
        check=True,
    ).stdout
    assert found.locks["requirements.txt"] == hashlib.sha256(committed).hexdigest()
    assert found.plan.platforms == ("linux/amd64", "linux/arm64")


def test_a_provenance_without_the_plan_says_it_cannot_be_rebuilt() -> None:
    predicate = a_predicate()
    del predicate["buildDefinition"]["internalParameters"]["plan"]
    with pytest.raises(BuildError, match="lacks 'plan'"):
        BuildInputs.from_predicate(predicate)


def test_the_variant_comes_from_the_dockerfile() -> None:
    assert a_target().variant == "slim"
    odd = dataclasses.replace(a_target(), inputs=dataclasses.replace(inputs(), dockerfile="X"))
    with pytest.raises(BuildError, match="no variant is built from X"):
        _ = odd.variant


def test_locks_must_hash_to_what_the_provenance_records(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask==3\n")
    recorded = {"requirements.txt": hashlib.sha256(b"flask==3\n").hexdigest()}
    rebuild.check_locks(tmp_path, recorded, "a" * 40)
    with pytest.raises(BuildError) as altered:
        rebuild.check_locks(tmp_path, {"requirements.txt": "0" * 64}, "a" * 40)
    assert str(altered.value) == (
        f"requirements.txt in {'a' * 12} hashes to {recorded['requirements.txt'][:16]}…, the "
        f"provenance says {'0' * 16}…: the provenance does not describe that commit; do not "
        "trust it"
    )
    # Every lock is checked, not only the first: the altered one sorts last.
    (tmp_path / "standins").mkdir()
    (tmp_path / "standins" / "slim.arm64.lock").write_text("python3 3.13.5-1\n")
    both = recorded | {"standins/slim.arm64.lock": "0" * 64}
    with pytest.raises(BuildError, match=r"standins/slim\.arm64\.lock in a{12} hashes"):
        rebuild.check_locks(tmp_path, both, "a" * 40)
    with pytest.raises(BuildError) as lacking:
        rebuild.check_locks(tmp_path, {"standins/slim.amd64.lock": "0" * 64}, "a" * 40)
    assert str(lacking.value) == (
        f"{'a' * 12} has no standins/slim.amd64.lock, which the provenance names"
    )


def test_the_commits_own_build_runs_clean_with_the_provenances_choices() -> None:
    found = inputs()
    arguments = rebuild.build_arguments(found, ["linux/amd64", "linux/arm64"])
    assert arguments[:3] == ["--sessions", "build", "--"]
    assert {"--no-cache", "--offline", "linux/amd64,linux/arm64", "buildah"} <= set(arguments)
    offline = rebuild.build_environment(found)
    assert offline[OFFLINE_ENV] == "1"
    assert all(offline[var] == "" for var in UPSTREAM_ENV.values())
    upstream = {"slim": "python:3.13-slim-trixie@sha256:" + "ef" * 32}
    online_plan = dataclasses.replace(
        found.plan, offline=False, bases={"linux/amd64": upstream, "linux/arm64": upstream}
    )
    online = rebuild.build_environment(dataclasses.replace(found, plan=online_plan))
    assert online[OFFLINE_ENV] == "0"
    assert online[UPSTREAM_ENV["slim"]] == upstream["slim"]
    assert "--offline" not in rebuild.build_arguments(
        dataclasses.replace(found, plan=online_plan), ["linux/amd64"]
    )


# ---- what is compared, and how a difference is told -----------------------------


def test_each_layer_is_a_row_and_a_missing_one_is_none() -> None:
    compared = findings.compared("sha256:1", "sha256:2", ["a", "b"], ["a", "c", "d"])
    assert compared.rows[0] == ["image ID (config)", "sha256:1", "sha256:2", "DIFFERS"]
    assert [row[-1] for row in compared.rows[1:]] == ["same", "DIFFERS", "DIFFERS"]
    assert compared.rows[-1][1] == "(none)"
    finding = findings.Finding(a_target(), "sha256:1", "sha256:2", compared, 1.0, 0.1)
    assert not finding.passed
    assert finding.verdict == vsa.FAILED
    same = findings.compared("sha256:1", "sha256:1", ["a"], ["a"])
    assert findings.Finding(a_target(), "sha256:1", "sha256:1", same, 1.0, 0.1).passed


def test_a_config_that_differs_fails_though_every_layer_is_the_same() -> None:
    compared = findings.compared("sha256:1", "sha256:2", ["a", "b"], ["a", "b"])
    assert compared.mismatches == ["image ID (config)"]
    assert not findings.Finding(a_target(), "sha256:1", "sha256:2", compared, 1.0, 0.1).passed


def test_a_layer_that_differs_fails_though_the_ids_are_reported_equal() -> None:
    # Only a broken builder could report one ID for two layer lists: the layers still count.
    compared = findings.compared("sha256:1", "sha256:1", ["a", "b"], ["a", "c"])
    assert compared.mismatches == ["layer 2"]
    assert not compared.passed


def test_a_config_difference_names_the_field() -> None:
    released = {"config": {"Labels": {"revision": "a"}}, "rootfs": {"diff_ids": ["x"]}}
    rebuilt = {"config": {"Labels": {"revision": "b"}}, "rootfs": {"diff_ids": ["y"]}}
    assert layerdiff.config_difference(released, rebuilt) == [
        'config config.Labels.revision: released "a", rebuilt "b"'
    ]


# ---- the store of its own -------------------------------------------------------------


def test_a_separate_store_is_used_while_entered_and_gone_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(STORAGE_CONF_ENV, "/etc/machine.conf")
    store = SeparateStore(tmp_path / "store", driver="vfs", program=["true"])
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "left-over").write_text("from a run that crashed")
    with store:
        assert os.environ[STORAGE_CONF_ENV] == str(store.conf)
        assert not (tmp_path / "store" / "left-over").exists()
        conf = store.conf.read_text()
        assert 'driver = "vfs"' in conf
        assert f'graphroot = "{store.graph}"' in conf
    assert os.environ[STORAGE_CONF_ENV] == "/etc/machine.conf"
    assert not store.root.exists()


def test_a_plan_read_back_from_a_rebuild_is_the_plan_written() -> None:
    plan = inputs().plan
    assert BuildPlan.from_json(plan.to_json()) == plan


def test_the_commit_comes_from_this_clone_or_from_git_url(tmp_path: Path) -> None:
    commit = git_revision()
    rebuild.checkout(run_shown, commit, tmp_path / "cloned", str(ROOT))
    assert (tmp_path / "cloned" / "noxfile.py").exists()
    with pytest.raises(BuildError, match=r"not in this clone: `git fetch origin 0{40}`"):
        rebuild.checkout(run_shown, "0" * 40, tmp_path / "absent", None)
