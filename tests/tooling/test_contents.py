"""tools.images.contents: a record of every layer's files, and what it names when a rebuild
differs, without the other machine's bits."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tooling.samples import a_target
from tools.images import contents
from tools.images.contents import ContentRecord, FileEntry
from tools.process import BuildError
from tools.rebuild import rebuild
from tools.rebuild.comparison import Comparison


def layer(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(data), 0o644
            tar.addfile(member, io.BytesIO(data))
        for name, target_name in (links or {}).items():
            member = tarfile.TarInfo(name)
            member.type, member.linkname = tarfile.SYMTYPE, target_name
            tar.addfile(member)
    return buffer.getvalue()


def listing(data: bytes) -> tuple[FileEntry, ...]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return contents.listing(tar)


def test_a_file_line_reads_back_as_it_was_written_links_and_spaces_too() -> None:
    entries = listing(layer({"usr/lib/a file.py": b"x"}, {"usr/bin/python3": "python3.13"}))
    assert [FileEntry.parse(e.line()) for e in entries] == list(entries)
    assert entries[0].line() == "l 644 0:0 0 - usr/bin/python3 -> python3.13"


def test_a_record_reads_back_as_it_was_written() -> None:
    files = listing(layer({"etc/os-release": b"trixie", "./usr/bin/x": b"x"}))
    record = ContentRecord(
        {"moscow-time:slim": ("sha256:id", ("sha256:l1",))}, {"sha256:l1": files}
    )
    again = ContentRecord.loads(record.dumps())
    assert again == record
    assert [e.path for e in files] == ["etc/os-release", "usr/bin/x"]


def test_a_broken_record_names_its_line() -> None:
    with pytest.raises(BuildError, match=r"line 3: 'f 644'"):
        ContentRecord.loads("# header\nlayer sha256:l1 1 files\nf 644\n")


def test_a_planted_difference_is_named_against_the_record_alone() -> None:
    recorded = listing(layer({"usr/bin/x": b"x", "usr/lib/y.pyc": b"y", "etc/z": b"z"}))
    rebuilt = listing(layer({"usr/bin/x": b"X", "etc/z": b"z", "usr/lib/new.pyc": b"n"}))
    record = ContentRecord(
        {"img": ("sha256:i", ("sha256:base", "sha256:l1"))},
        {"sha256:base": (), "sha256:l1": recorded},
    )
    lines = contents.explain(
        record, ["sha256:base", "sha256:l1"], {"sha256:base": (), "sha256:other": rebuilt}
    )
    assert lines[0].startswith("layer 2: usr/bin/x: content ")
    assert "layer 2: usr/lib/new.pyc: only in rebuilt" in lines
    assert "layer 2: usr/lib/y.pyc: only in recorded" in lines
    assert not any("etc/z" in line for line in lines)


def test_a_layer_the_record_lacks_is_said_so() -> None:
    record = ContentRecord({}, {})
    assert contents.explain(record, ["sha256:gone"], {"sha256:new": ()}) == [
        "layer 1: sha256:gone is not in the content record"
    ]


class Store:
    """A builder's store holding one base under another ID than the provenance names."""

    def __init__(self, here: str, tmp: Path, data: bytes) -> None:
        self.here, self.tmp, self.data = here, tmp, data

    def image_id(self, reference: str) -> str:
        return self.here

    def archive(self, image_id: str, destination: Path) -> Path:
        with tarfile.open(destination, "w") as tar:
            for name, data in (
                ("manifest.json", b'[{"Config": "c.json", "Layers": ["l.tar"]}]'),
                ("l.tar", self.data),
            ):
                member = tarfile.TarInfo(name)
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
        return destination


def test_a_rebuild_on_another_base_fails_and_names_the_bases_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chosen = a_target()
    arg, (_, recorded_id) = sorted(chosen.inputs.bases.items())[0]
    recorded = listing(layer({"usr/share/python3/debpython/x.pyc": b"c", "bin/sh": b"s"}))
    record = ContentRecord({"base": (recorded_id, ("sha256:b",))}, {"sha256:b": recorded})
    monkeypatch.setattr(contents, "read", lambda arch: record)
    store = Store("sha256:" + "9" * 64, tmp_path, layer({"bin/sh": b"s"}))
    comparison = Comparison()
    rebuild.compare_bases(store, chosen, comparison)  # type: ignore[arg-type]
    assert f"base {arg}" in comparison.mismatches
    assert "layer 1: usr/share/python3/debpython/x.pyc: only in recorded" in comparison.differences
    assert not comparison.passed


@pytest.mark.parametrize("revision", ["c" * 40, "d" * 40], ids=["recorded commit", "another"])
def test_a_build_of_the_recorded_commit_that_differs_names_the_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, revision: str
) -> None:
    recorded = listing(layer({"opt/moscow-time/app/clock.py": b"a", "etc/z": b"z"}))
    record = ContentRecord(
        {"moscow-time:slim": ("sha256:r", ("sha256:l",))}, {"sha256:l": recorded}, "c" * 40
    )
    monkeypatch.setattr(contents, "read", lambda arch: record)
    store: Any = Store(
        "sha256:b", tmp_path, layer({"opt/moscow-time/app/clock.py": b"b", "etc/z": b"z"})
    )
    built = {"moscow-time:slim": "sha256:b"}
    said = contents.against_record(store, built, revision, "amd64")
    if revision != record.commit:
        assert said == [], "another commit's images are not the record's to judge"
        return
    assert said[0] == "moscow-time:slim is sha256:b, the content record says sha256:r:"
    assert said[1].startswith("layer 1: opt/moscow-time/app/clock.py: content ")
    same = {"moscow-time:slim": "sha256:r"}
    assert contents.against_record(store, same, revision, "amd64") == []
