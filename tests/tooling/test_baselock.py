"""tools.inputs.baselock: the upstream bases' lock, its first use, a moved tag, frozen builds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tools.images.pipeline import unpullable
from tools.inputs import baselock, locking
from tools.inputs.baselock import (
    BaseLock,
    LockedBase,
    lock_rows,
    lock_upstream,
    locked_from_raw,
    moved,
    pinned_upstream,
)
from tools.model import BASES
from tools.process import BuildError

SLIM = BASES["slim"].upstream
NOW = 1_800_000_000.0  # 2027-01-15
MANIFESTS = [
    {"digest": "sha256:" + "a" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
    {"digest": "sha256:" + "b" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
    {"digest": "sha256:" + "c" * 64, "platform": {"os": "unknown", "architecture": "unknown"}},
]
INDEX: dict[str, object] = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": MANIFESTS,
}


class FakeRegistry:
    """Answers each tag with the index it holds now; counts the questions."""

    def __init__(self, raw: bytes = b"") -> None:
        self.raw = raw or json.dumps(INDEX).encode()
        self.asked: list[str] = []

    def resolve(self, reference: str) -> LockedBase:
        self.asked.append(reference)
        return locked_from_raw(reference, self.raw, NOW)


def test_an_index_is_locked_by_the_digest_of_its_bytes_with_each_platform() -> None:
    raw = json.dumps(INDEX).encode()
    entry = locked_from_raw(SLIM, raw, NOW)
    assert entry.index == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert entry.platforms == {
        "linux/amd64": "sha256:" + "a" * 64,
        "linux/arm64": "sha256:" + "b" * 64,
    }
    assert entry.pinned == f"{SLIM}@{entry.index}"
    assert entry.resolved_at == "2027-01-15T08:00:00Z"


@pytest.mark.parametrize(
    "document",
    [
        {"schemaVersion": 2, "manifests": [MANIFESTS[2], *MANIFESTS[:2]]},
        {
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": [{"digest": "sha256:" + "d" * 64}, *MANIFESTS],
        },
    ],
    ids=["an OCI index without its mediaType", "a Docker list"],
)
def test_every_index_lists_its_platforms_but_not_attestations_or_unnamed_ones(
    document: dict[str, object],
) -> None:
    entry = locked_from_raw(SLIM, json.dumps(document).encode(), NOW)
    assert entry.platforms == {
        "linux/amd64": "sha256:" + "a" * 64,
        "linux/arm64": "sha256:" + "b" * 64,
    }


def test_a_single_manifest_is_locked_by_its_digest_with_no_platforms() -> None:
    raw = json.dumps({"schemaVersion": 2, "config": {}, "layers": []}).encode()
    entry = locked_from_raw(SLIM, raw, NOW)
    assert (entry.index, entry.platforms) == ("sha256:" + hashlib.sha256(raw).hexdigest(), {})


def test_the_lock_is_written_and_read_back(tmp_path: Path) -> None:
    registry = FakeRegistry()
    written = lock_upstream(tmp_path / "bases.lock.json", registry)
    assert registry.asked == [base.upstream for base in BASES.values()]
    assert BaseLock.read(tmp_path / "bases.lock.json") == written
    rows = lock_rows(written, NOW + 3.5 * 86400)
    entry = written.bases["distroless"]
    assert rows[:2] == [
        ["base", "tag", "index", "platforms", "resolved"],
        ["distroless", entry.reference, entry.index, "linux/amd64, linux/arm64",
         "2027-01-15T08:00:00Z (3 days ago)"],
    ]  # fmt: skip
    document = json.loads((tmp_path / "bases.lock.json").read_text())
    assert document["comment"] == baselock.HEADER
    lines = (tmp_path / "bases.lock.json").read_text().splitlines()
    assert sum(line.strip().startswith('"index": "sha256:') for line in lines) == 2, (
        "a line per field, so that a moved tag is a one-line change"
    )


@pytest.mark.usefixtures("local_time_not_utc")
def test_a_locks_age_counts_whole_utc_days() -> None:
    entry = locked_from_raw(SLIM, json.dumps(INDEX).encode(), NOW)
    assert entry.age_days(NOW + 86400 - 1) == 0
    assert entry.age_days(NOW + 86400) == 1


def test_no_lock_file_is_an_empty_lock_and_a_broken_one_says_what_to_do(tmp_path: Path) -> None:
    assert BaseLock.read(tmp_path / "absent.json").bases == {}
    (tmp_path / "broken.json").write_text('{"bases": {"slim": {"tag": 1}}}')
    with pytest.raises(BuildError) as raised:
        BaseLock.read(tmp_path / "broken.json")
    assert str(raised.value).startswith(f"{tmp_path / 'broken.json'} is not a base lock (")
    assert str(raised.value).endswith(
        "): restore it from git, or delete it and run `nox -s lock` where a registry answers"
    )


def test_a_first_online_build_resolves_writes_and_says_to_commit(tmp_path: Path) -> None:
    path, registry = tmp_path / "bases.lock.json", FakeRegistry()
    said: list[str] = []
    pinned = pinned_upstream(
        {"slim": SLIM}, path=path, frozen=False, resolver=lambda: registry, say=said.append
    )
    entry = BaseLock.read(path).bases["slim"]
    assert pinned == {"slim": entry.pinned}
    assert said == [
        f"locked {SLIM} = {entry.index} in bases.lock.json: commit it, so that every build "
        "takes these"
    ]
    # The second build takes the lock and asks nobody.
    again = pinned_upstream(
        {"slim": SLIM}, path=path, frozen=True, resolver=lambda: registry, say=said.append
    )
    assert again == pinned
    assert registry.asked == [SLIM]
    assert len(said) == 1


def test_a_frozen_build_refuses_a_base_the_lock_lacks(tmp_path: Path) -> None:
    registry = FakeRegistry()
    with pytest.raises(BuildError, match=r"locks no digest for .*run `nox -s lock`"):
        pinned_upstream(
            {"slim": SLIM},
            path=tmp_path / "bases.lock.json",
            frozen=True,
            resolver=lambda: registry,
            say=print,
        )
    assert registry.asked == []
    assert not (tmp_path / "bases.lock.json").exists()


def test_a_reference_with_a_digest_is_taken_as_it_is_and_another_tag_is_no_entry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bases.lock.json"
    lock_upstream(path, FakeRegistry())
    given = "registry.example/python:3.13@sha256:" + "d" * 64
    assert pinned_upstream(
        {"slim": given}, path=path, frozen=True, resolver=FakeRegistry, say=print
    ) == {"slim": given}
    assert BaseLock.read(path).entry("slim", "docker.io/library/python:3.14-slim") is None


def test_check_reports_a_moved_tag_with_both_digests_and_the_age(tmp_path: Path) -> None:
    path = tmp_path / "bases.lock.json"
    lock = lock_upstream(path, FakeRegistry())
    asked = FakeRegistry()
    assert moved(lock, asked, NOW) == []
    assert sorted(asked.asked) == sorted(base.upstream for base in BASES.values())
    other = {**INDEX, "manifests": MANIFESTS[:1]}
    lines = moved(lock, FakeRegistry(json.dumps(other).encode()), NOW + 9 * 86400)
    assert len(lines) == 2
    assert lines[0].startswith(
        f"{BASES['slim'].upstream} moved: {lock.bases['slim'].index} → sha256:"
    )
    assert lines[0].endswith("resolved 9 days ago")


def test_an_unpullable_locked_base_is_named_with_what_to_run() -> None:
    locked = f"{SLIM}@sha256:" + "e" * 64
    bases = {"linux/amd64": {"slim": locked, "distroless": BASES["distroless"].upstream}}
    message = unpullable(bases, [locked])
    assert message.startswith(f"cannot pull the slim base {locked}: the registry lacks")
    assert "`nox -s lock`" in message
    assert "\n" not in message
    assert "MOSCOW_TIME_OFFLINE=1 nox -s build" in unpullable(
        bases, [BASES["distroless"].upstream]
    )


def test_nox_lock_without_a_registry_says_so_and_leaves_the_lock(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "bases.lock.json"
    lock_upstream(path, FakeRegistry())
    before = path.read_text()

    def unreachable(run: object) -> FakeRegistry:
        raise BuildError("no registry answers for docker.io/library/python:3.13-slim-trixie")

    monkeypatch.setattr(baselock, "skopeo_resolver", unreachable)
    for check in (False, True):
        report = locking.lock_upstream_bases(path, check=check)
        lines = report.lines
        assert len(lines) == 1
        assert not report.out_of_date
        assert lines[0].startswith("bases.lock.json left as it is: no registry answers")
    assert path.read_text() == before
    monkeypatch.setattr(baselock, "skopeo_resolver", lambda run: FakeRegistry())
    assert locking.lock_upstream_bases(path, check=True) == locking.LockReport(
        ["bases.lock.json: every locked tag still names its locked index"]
    )
    empty = tmp_path / "none.json"
    lines = locking.lock_upstream_bases(empty, check=True).lines
    assert "no upstream base is locked yet" in lines[0]


def test_a_moved_base_makes_the_check_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "bases.lock.json"
    lock_upstream(path, FakeRegistry())
    moved = "docker.io/library/python:3.13-slim-trixie moved: sha256:a → sha256:b"
    monkeypatch.setattr(baselock, "skopeo_resolver", lambda run: FakeRegistry())
    monkeypatch.setattr(baselock, "moved", lambda lock, resolver, now: [moved])
    report = locking.lock_upstream_bases(path, check=True)
    assert report == locking.LockReport([moved], ["bases.lock.json"])


def test_every_base_a_first_build_locks_is_named_in_one_line(tmp_path: Path) -> None:
    said: list[str] = []
    references = {name: base.upstream for name, base in BASES.items()}
    path = tmp_path / "bases.lock.json"
    pinned_upstream(references, path=path, frozen=False, resolver=FakeRegistry, say=said.append)
    lock = BaseLock.read(path)
    named = ", ".join(f"{lock.bases[n].reference} = {lock.bases[n].index}" for n in references)
    assert said == [
        f"locked {named} in bases.lock.json: commit it, so that every build takes these"
    ]
