"""tools.rebuild.vary: what the second build varies, and how its difference is told."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tools.process import BuildError
from tools.rebuild import vary


def tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return path


@pytest.mark.parametrize("callers", ["1", ""])
def test_every_variable_differs_from_the_callers_and_bytecode_is_flipped(
    callers: str, tmp_path: Path
) -> None:
    caller = {"PYTHONDONTWRITEBYTECODE": callers, "PATH": "/usr/bin", "LANG": "C.UTF-8"}
    varied = vary.hostile_environment(caller, tmp_path)
    assert varied["PYTHONDONTWRITEBYTECODE"] == ("" if callers else "1")
    for name in ("LANG", "PATH"):
        assert varied[name] != caller[name]
    for name in ("TZ", "TMPDIR", "HOME", "SOURCE_DATE_EPOCH", "BUILDAH_FORMAT", "LC_ALL"):
        assert name in varied
    assert Path(varied["TMPDIR"]).is_dir()
    assert Path(varied["HOME"]).is_dir()


def test_the_command_runs_under_another_host_one_cpu_umask_077_and_a_later_clock() -> None:
    command = vary.varied_command(["nox", "-s", "build"])
    assert command[:2] == ["unshare", "--uts"]
    script = command[4]
    assert f"hostname {vary.HOSTNAME}" in script
    assert f"domainname {vary.DOMAIN}" in script
    assert "umask 077" in script
    assert command[6:9] == ["taskset", "-c", "0"]
    assert command[9:12] == ["faketime", "-f", vary.CLOCK_AHEAD]
    assert command[-3:] == ["nox", "-s", "build"]


def test_the_same_outcomes_pass(tmp_path: Path) -> None:
    a = tarball(tmp_path / "a.tar", {"usr/bin/x": b"x"})
    b = tarball(tmp_path / "b.tar", {"usr/bin/x": b"x"})
    first = vary.Outcome({"base": a}, {"base": "sha256:1", "app": "sha256:2"}, {"app": ["l1"]})
    second = vary.Outcome({"base": b}, {"base": "sha256:1", "app": "sha256:2"}, {"app": ["l1"]})
    assert vary.compare(first, second).passed


def test_a_planted_difference_in_a_rootfs_names_the_file(tmp_path: Path) -> None:
    a = tarball(tmp_path / "a.tar", {"usr/bin/x": b"x", "etc/same": b"s"})
    b = tarball(tmp_path / "b.tar", {"usr/bin/x": b"y", "etc/same": b"s", "extra.pyc": b"c"})
    first = vary.Outcome({"base": a}, {"base": "sha256:1"}, {})
    second = vary.Outcome({"base": b}, {"base": "sha256:9"}, {})
    comparison = vary.compare(first, second)
    assert comparison.mismatches == ["base rootfs.tar", "base"]
    said = "\n".join(comparison.differences)
    assert "usr/bin/x" in said
    assert "extra.pyc" in said
    assert "etc/same" not in said


def test_a_differing_layer_is_a_row_under_its_image(tmp_path: Path) -> None:
    first = vary.Outcome({}, {"app": "sha256:1"}, {"app": ["l1", "l2"]})
    second = vary.Outcome({}, {"app": "sha256:2"}, {"app": ["l1", "l3"]})
    comparison = vary.compare(first, second)
    assert comparison.mismatches == ["app"]
    assert [row[-1] for row in comparison.rows] == ["DIFFERS", "same", "DIFFERS"]


def test_missing_tools_are_named_with_the_command_that_installs_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vary, "have", lambda program: program != "disorderfs")
    with pytest.raises(BuildError, match=r"disorderfs: run `bin/setup --for test`"):
        vary.vary(print, builder=None, nox=["nox"])  # type: ignore[arg-type]
