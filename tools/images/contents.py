"""The content record: every layer's files, so that any machine can say which of its differ.

An image ID says *that* two builds differ; to say *which files* differ, a
machine needs the other side's files, which a second party usually does not
have. So the publication carries, per platform, a text record of the
canonical build (`published/contents/ARCH.txt`): each image's ID and
layers (diff_ids), and each layer's files, a line each, sorted:

    image moscow-time:slim sha256:ID
      layer sha256:DIFF_ID
    layer sha256:DIFF_ID 6387 files
    f 644 0:0 1234 9f86d081884c7d65 usr/bin/python3.13
    l 777 0:0 0 - usr/bin/python3 -> python3.13

A rebuild that comes out different compares its layers with the record's
(`differences`), and names each file that one side lacks or whose type, mode,
owner, size or content differs. A file's content is its sha256's first 16
hex digits (64 bits: enough to name a difference; the diff_ids stay whole).
This module is the record's one reader and writer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from tools.builders import Builder
from tools.builders.archives import archive_paths
from tools.paths import CONTENT_RECORDS
from tools.process import BuildError

HEADER = "# The files of each layer, as built for the publication (tools/images/contents.py)."
#: tarfile's member types, as one letter.
KINDS = {
    tarfile.REGTYPE: "f", tarfile.AREGTYPE: "f", tarfile.DIRTYPE: "d", tarfile.SYMTYPE: "l",
    tarfile.LNKTYPE: "h", tarfile.CHRTYPE: "c", tarfile.BLKTYPE: "b", tarfile.FIFOTYPE: "p",
}  # fmt: skip


@dataclasses.dataclass(frozen=True, order=True)
class FileEntry:
    """One member of a layer: what makes two builds of it differ."""

    path: str
    kind: str
    mode: int
    owner: str
    size: int
    #: The content's sha256, first 16 hex digits; "-" for what is not a regular file.
    content: str
    #: A link's target.
    link: str = ""

    def line(self) -> str:
        link = f" -> {self.link}" if self.link else ""
        return (
            f"{self.kind} {self.mode:o} {self.owner} {self.size} {self.content} {self.path}{link}"
        )

    @classmethod
    def parse(cls, line: str) -> FileEntry:
        kind, mode, owner, size, content, rest = line.split(" ", 5)
        path, _, link = rest.partition(" -> ")
        return cls(path, kind, int(mode, 8), owner, int(size), content, link)


@dataclasses.dataclass(frozen=True)
class ContentRecord:
    """One platform's images (tag → ID and diff_ids) and the files of each layer."""

    images: dict[str, tuple[str, tuple[str, ...]]]
    layers: dict[str, tuple[FileEntry, ...]]
    #: The commit the images are of (the last that changed an input); "" if not recorded.
    commit: str = ""

    def dumps(self) -> str:
        lines = [HEADER, *([f"commit {self.commit}"] if self.commit else [])]
        for tag, (image_id, diff_ids) in sorted(self.images.items()):
            lines += [f"image {tag} {image_id}", *(f"  layer {d}" for d in diff_ids)]
        for diff_id, files in sorted(self.layers.items()):
            lines.append(f"layer {diff_id} {len(files)} files")
            lines += [entry.line() for entry in files]
        return "\n".join(lines) + "\n"

    @classmethod
    def loads(cls, text: str) -> ContentRecord:
        images: dict[str, tuple[str, tuple[str, ...]]] = {}
        layers: dict[str, list[FileEntry]] = {}
        image, files, commit = "", list[FileEntry](), ""
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                if line.startswith("#") or not line:
                    continue
                if line.startswith("commit "):
                    commit = line.split(" ")[1]
                elif line.startswith("image "):
                    _, image, image_id = line.split(" ")
                    images[image] = (image_id, ())
                elif line.startswith("  layer "):
                    image_id, diff_ids = images[image]
                    images[image] = (image_id, (*diff_ids, line.split(" ")[-1]))
                elif line.startswith("layer "):
                    files = layers.setdefault(line.split(" ")[1], [])
                else:
                    files.append(FileEntry.parse(line))
            except (ValueError, KeyError) as broken:
                raise BuildError(f"content record, line {number}: {line!r} ({broken})") from None
        return cls(images, {d: tuple(files) for d, files in layers.items()}, commit)

    def files(self, diff_id: str) -> tuple[FileEntry, ...] | None:
        return self.layers.get(diff_id)


def path_for(arch: str, directory: Path = CONTENT_RECORDS) -> Path:
    """The record of one platform (Debian's architecture name)."""
    return directory / f"{arch}.txt"


def read(arch: str, directory: Path = CONTENT_RECORDS) -> ContentRecord | None:
    path = path_for(arch, directory)
    return ContentRecord.loads(path.read_text()) if path.exists() else None


def write(record: ContentRecord, arch: str, directory: Path = CONTENT_RECORDS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = path_for(arch, directory)
    path.write_text(record.dumps())
    return path


def listing(layer: tarfile.TarFile) -> tuple[FileEntry, ...]:
    """Every member of a layer tarball, sorted by path."""
    found = []
    for member in layer:
        content = "-"
        if member.isfile() and (extracted := layer.extractfile(member)) is not None:
            content = hashlib.sha256(extracted.read()).hexdigest()[:16]
        found.append(
            FileEntry(
                path=member.name.removeprefix("./").rstrip("/") or ".",
                kind=KINDS.get(member.type, "?"),
                mode=member.mode & 0o7777,
                owner=f"{member.uid}:{member.gid}",
                size=member.size if member.isfile() else 0,
                content=content,
                link=member.linkname,
            )
        )
    return tuple(sorted(found))


def archive_layers(archive: Path) -> Iterator[tuple[str, tuple[FileEntry, ...]]]:
    """Each layer of a docker-archive, bottom first: its diff_id and its files."""
    with tarfile.open(archive) as outer:

        def read(name: str) -> bytes | None:
            member = outer.extractfile(name) if name in outer.getnames() else None
            return member.read() if member is not None else None

        _, layer_names = archive_paths(read)
        for name in layer_names:
            data = read(name) or b""
            with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                yield f"sha256:{hashlib.sha256(data).hexdigest()}", listing(layer)


def record_of(
    builder: Builder, images: Mapping[str, str], scratch: Path, commit: str
) -> ContentRecord:
    """The record of these images (tag → ID) in the builder's store, of `commit`."""
    record = ContentRecord({}, {}, commit)
    for tag, image_id in sorted(images.items()):
        archive = builder.archive(image_id, scratch / f"{image_id.removeprefix('sha256:')}.tar")
        layers = dict(archive_layers(archive))
        archive.unlink()
        record.images[tag] = (image_id, tuple(layers))
        record.layers.update(layers)
    return record


def image_layers(builder: Builder, image_id: str) -> dict[str, tuple[FileEntry, ...]]:
    """An image's layers in the builder's store, bottom first: diff_id → files."""
    with tempfile.TemporaryDirectory() as scratch:
        return dict(archive_layers(builder.archive(image_id, Path(scratch) / "image.tar")))


def against_record(
    builder: Builder, built: Mapping[str, str], revision: str, arch: str
) -> list[str]:
    """For a build of the recorded commit (tag → image ID, one platform), each image whose ID
    is not the record's, and the files that differ from it; nothing for another commit."""
    record = read(arch)
    if record is None or record.commit != revision:
        return []
    lines = []
    for tag, image_id in sorted(built.items()):
        if tag in record.images and record.images[tag][0] != image_id:
            lines.append(f"{tag} is {image_id}, the content record says {record.images[tag][0]}:")
            lines += explain(record, record.images[tag][1], image_layers(builder, image_id))
    return lines


def differences(
    expected: Iterable[FileEntry], actual: Iterable[FileEntry], sides: Sequence[str], limit: int
) -> list[str]:
    """Each file one side lacks, or whose type, mode, owner, size, content or link differs."""
    left = {entry.path: entry for entry in expected}
    right = {entry.path: entry for entry in actual}
    lines = []
    for path in sorted(left.keys() | right.keys()):
        a, b = left.get(path), right.get(path)
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"{path}: only in {sides[0] if b is None else sides[1]}")
            continue
        fields = [
            f.name
            for f in dataclasses.fields(FileEntry)
            if getattr(a, f.name) != getattr(b, f.name)
        ]
        said = ", ".join(f"{name} {getattr(a, name)!s} vs {getattr(b, name)!s}" for name in fields)
        lines.append(f"{path}: {said}")
    return lines[:limit] + ([f"... and {len(lines) - limit} more"] if len(lines) > limit else [])


def explain(
    record: ContentRecord,
    expected: Sequence[str],
    actual: Mapping[str, tuple[FileEntry, ...]],
    sides: Sequence[str] = ("recorded", "rebuilt"),
    limit: int = 40,
) -> list[str]:
    """For each layer whose diff_id differs from `expected` (the recorded image's), the files
    that differ from the record's listing of it; `actual`: the rebuild's layers, bottom first."""
    lines: list[str] = []
    rebuilt = list(actual.items())
    for number in range(1, max(len(expected), len(rebuilt)) + 1):
        want = expected[number - 1] if number <= len(expected) else None
        got = rebuilt[number - 1] if number <= len(rebuilt) else None
        if got is not None and want == got[0]:
            continue
        recorded = record.files(want) if want else ()
        if recorded is None:
            lines.append(f"layer {number}: {want} is not in the content record")
            continue
        found = differences(recorded, got[1] if got else (), sides, limit)
        lines += [f"layer {number}: {line}" for line in found] or [
            f"layer {number}: the same files, other tar headers or order"
        ]
    return lines
