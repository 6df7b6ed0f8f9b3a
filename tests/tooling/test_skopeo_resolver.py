"""tools.inputs.baselock's registry client: Debian 13's skopeo asked for a tag's raw index
(`skopeo inspect --raw`), here a stand-in executable that keeps its arguments and
environment; the bytes it prints are locked, and a registry that does not answer is named."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tools.inputs import baselock
from tools.inputs.baselock import locked_from_raw
from tools.model import BASES
from tools.process import BuildError

SLIM = BASES["slim"].upstream
NOW = 1_800_000_000.0
INDEX = {
    "schemaVersion": 2,
    "manifests": [
        {"digest": "sha256:" + "a" * 64, "platform": {"os": "linux", "architecture": "amd64"}}
    ],
}


def a_skopeo(tmp_path: Path, stdout: bytes, stderr: str = "", code: int = 0) -> Path:
    """An executable that answers as skopeo would, and keeps its arguments and environment."""
    (tmp_path / "out").write_bytes(stdout)
    script = tmp_path / "skopeo"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {tmp_path}/argv\n'
        f"env > {tmp_path}/env\n"
        f"cat {tmp_path}/out\n"
        f"printf '{stderr}' >&2\n"
        f"exit {code}\n"
    )
    script.chmod(0o755)
    return script


def test_skopeo_is_asked_for_the_raw_index_and_its_bytes_are_locked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = json.dumps(INDEX).encode()
    script = a_skopeo(tmp_path, raw)
    resolver = baselock.SkopeoResolver(
        lambda *args: [str(script), *args], ["--registries-conf", "/srv/r.conf"]
    )
    monkeypatch.setenv("MOSCOW_TIME_TEST_SEEN", "1")
    before = int(time.time())
    entry = resolver.resolve(SLIM)
    assert (tmp_path / "argv").read_text().splitlines() == [
        "--registries-conf",
        "/srv/r.conf",
        "inspect",
        "--raw",
        f"docker://{SLIM}",
    ]
    assert "MOSCOW_TIME_TEST_SEEN=1" in (tmp_path / "env").read_text().splitlines()
    expected = locked_from_raw(SLIM, raw, NOW)
    assert (entry.reference, entry.index, entry.platforms) == (
        expected.reference,
        expected.index,
        expected.platforms,
    )
    resolved = datetime.strptime(entry.resolved_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= resolved.timestamp() <= time.time()


@pytest.mark.parametrize(
    ("stderr", "said"),
    [
        ("time=x level=fatal\\nGET /v2/: 404\\nmanifest unknown\\n", "(manifest unknown)"),
        ("\\377 bytes that are not UTF-8\\n", "(\ufffd bytes that are not UTF-8)"),
        ("", "(no message)"),
    ],
    ids=["the last line", "undecodable", "silent"],
)
def test_a_registry_that_does_not_answer_is_named_with_skopeos_last_line(
    tmp_path: Path, stderr: str, said: str
) -> None:
    script = a_skopeo(tmp_path, b"", stderr, code=1)
    resolver = baselock.SkopeoResolver(lambda *args: [str(script), *args])
    with pytest.raises(BuildError) as raised:
        resolver.resolve(SLIM)
    assert str(raised.value) == f"no registry answers for {SLIM} {said}"
    assert (tmp_path / "argv").read_text().splitlines() == ["inspect", "--raw", f"docker://{SLIM}"]


def test_the_resolver_is_debian_13s_skopeo_in_its_root_with_the_callers_registries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Chroot:
        def __init__(self, run: object) -> None:
            self.run = run

        def command(self, *args: str) -> list[str]:
            return ["chroot", "/root-of-skopeo", "skopeo", *args]

        def registries_args(self) -> list[str]:
            return ["--registries-conf", "/srv/registries.conf"]

    monkeypatch.setattr(baselock, "ChrootSkopeo", Chroot)
    resolver = baselock.skopeo_resolver(print)
    assert resolver.command.__self__.run is print  # type: ignore[attr-defined]
    assert resolver.command("x") == ["chroot", "/root-of-skopeo", "skopeo", "x"]
    assert resolver.options == ["--registries-conf", "/srv/registries.conf"]
