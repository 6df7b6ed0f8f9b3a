"""tools.rebuild.findings: a released image beside its rebuild, told file by file.

The registry is a dictionary of blobs served through `manifests` and the builder a store
holding one rebuilt image; both hold real layer tarballs, so what the comparison says
comes from the bytes, as it does against a registry.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile
import types
from pathlib import Path
from typing import Any

import pytest

from tooling.samples import IMAGE, REPOSITORY, a_target
from tools.process import BuildError
from tools.rebuild import findings
from tools.rebuild.comparison import Comparison
from tools.release import manifests, vsa
from tools.release.references import Pinned, Repository

BASE = {"etc/os-release": b"trixie"}
APP = {"opt/moscow-time/app/clock.py": b"MOSCOW = 3", "opt/moscow-time/app/app.py": b"app"}


def layer(files: dict[str, bytes], mtime: int = 1796000000) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            member = tarfile.TarInfo(name)
            member.size, member.mtime, member.mode = len(data), mtime, 0o644
            tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclasses.dataclass
class Image:
    """An image as its bytes: layer tarballs and a config naming their diff_ids."""

    layers: list[bytes]
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def config(self) -> bytes:
        document = {
            "architecture": "arm64",
            "config": {"Labels": self.labels},
            "rootfs": {"type": "layers", "diff_ids": [sha(data) for data in self.layers]},
        }
        return json.dumps(document, sort_keys=True).encode()

    @property
    def image_id(self) -> str:
        return sha(self.config)


class Registry:
    """A release in a registry: its manifest, with gzip layers, and every blob by digest."""

    def __init__(self, image: Image) -> None:
        self.blobs = {image.image_id: image.config}
        self.manifest: dict[str, Any] = {"config": {"digest": image.image_id}, "layers": []}
        for data in image.layers:
            packed = gzip.compress(data, mtime=0)
            self.blobs[sha(packed)] = packed
            self.manifest["layers"].append(
                {"digest": sha(packed), "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
            )

    def serve(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def fetch(image: Pinned) -> dict[str, Any]:
            assert image == IMAGE, f"asked for {image}, not the target"
            return self.manifest

        def blob(repository: Repository, digest: str) -> bytes:
            assert repository == REPOSITORY
            return self.blobs[digest]

        monkeypatch.setattr(manifests, "fetch", fetch)
        monkeypatch.setattr(manifests, "blob", blob)


class Store:
    """A builder's store holding the rebuild, exported as a docker-archive."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.exported: list[str] = []

    def diff_ids(self, image_id: str) -> list[str]:
        assert image_id == self.image.image_id
        return [sha(data) for data in self.image.layers]

    def archive(self, image_id: str, destination: Path) -> Path:
        assert image_id == self.image.image_id
        self.exported.append(image_id)
        names = [f"{number}.tar" for number in range(len(self.image.layers))]
        members = [("config.json", self.image.config), *zip(names, self.image.layers, strict=True)]
        manifest = json.dumps([{"Config": "config.json", "Layers": names}]).encode()
        with tarfile.open(destination, "w") as tar:
            for name, data in [("manifest.json", manifest), *members]:
                member = tarfile.TarInfo(name)
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
        return destination


def compare(
    monkeypatch: pytest.MonkeyPatch, released: Image, rebuilt: Image
) -> tuple[findings.Finding, Store]:
    Registry(released).serve(monkeypatch)
    ticks = iter([100.0, 100.25])
    clock = types.SimpleNamespace(monotonic=lambda: next(ticks))  # this module's clock alone
    monkeypatch.setattr("tools.rebuild.findings.time", clock)
    store = Store(rebuilt)
    finding = findings.compare(store, a_target(), rebuilt.image_id, 12.0)  # type: ignore[arg-type]
    return finding, store


def entry(data: bytes) -> str:
    """How layerdiff lists one of this file's entries."""
    return f"644 0:0 {len(data)} mtime=1796000000 {hashlib.sha256(data).hexdigest()[:16]}"


def test_a_rebuild_with_the_released_bytes_passes_and_exports_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = Image([layer(BASE), layer(APP)])
    finding, store = compare(monkeypatch, image, Image([layer(BASE), layer(APP)]))
    assert finding.passed
    assert finding.verdict == vsa.PASSED
    assert (finding.released_id, finding.rebuilt_id) == (image.image_id, image.image_id)
    assert [row[-1] for row in finding.comparison.rows] == ["same", "same", "same"]
    assert finding.differences == []
    assert store.exported == [], "a rebuild that passed has nothing to explain"


def test_a_file_that_differs_is_named_with_both_sides_and_only_its_layer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    altered = APP | {"opt/moscow-time/app/clock.py": b"MOSCOW = 4"}
    released = Image([layer(BASE), layer(APP)])
    finding, store = compare(monkeypatch, released, Image([layer(BASE), layer(altered)]))
    assert not finding.passed
    assert finding.verdict == vsa.FAILED
    assert finding.released_id == released.image_id
    assert finding.comparison.mismatches == ["image ID (config)", "layer 2"]
    assert finding.differences == [
        "layer 2: opt/moscow-time/app/clock.py",
        f"    released: {entry(APP['opt/moscow-time/app/clock.py'])}",
        f"    rebuilt:  {entry(b'MOSCOW = 4')}",
    ]
    assert store.exported == [finding.rebuilt_id]


def test_every_differing_layer_is_told_bottom_first_forty_files_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    many = {f"usr/lib/{number:02}": b"old" for number in range(41)}
    newer = dict.fromkeys(many, b"new")
    finding, _ = compare(
        monkeypatch, Image([layer(BASE), layer(many)]), Image([layer({}), layer(newer)])
    )
    told = [line for line in finding.differences if not line.startswith(" ")]
    assert told[0] == "layer 1: etc/os-release"
    assert told[1:] == [f"layer 2: usr/lib/{n:02}" for n in range(40)] + [
        "layer 2: ... and 1 more"
    ]


def test_a_layer_only_one_side_has_is_listed_against_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    extra = {"etc/extra": b"x"}
    finding, _ = compare(monkeypatch, Image([layer(BASE)]), Image([layer(BASE), layer(extra)]))
    assert finding.comparison.mismatches == ["image ID (config)", "layer 2"]
    assert finding.differences == [
        "layer 2: etc/extra",
        "    released: (absent)",
        f"    rebuilt:  {entry(b'x')}",
    ]
    finding, _ = compare(monkeypatch, Image([layer(BASE), layer(extra)]), Image([layer(BASE)]))
    assert finding.differences == [
        "layer 2: etc/extra",
        f"    released: {entry(b'x')}",
        "    rebuilt:  (absent)",
    ]


def test_a_config_alone_that_differs_is_told_by_its_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layers = [layer(BASE), layer(APP)]
    released = Image(layers, {"org.opencontainers.image.revision": "a"})
    rebuilt = Image(layers, {"org.opencontainers.image.revision": "b"})
    finding, _ = compare(monkeypatch, released, rebuilt)
    assert finding.comparison.mismatches == ["image ID (config)"]
    assert finding.differences == [
        'config config.Labels.org.opencontainers.image.revision: released "a", rebuilt "b"'
    ]


def test_the_report_says_what_was_rebuilt_the_verdict_the_times_and_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released = Image([layer(BASE), layer(APP)])
    finding, _ = compare(monkeypatch, released, Image([layer(BASE), layer(BASE)]))
    assert (finding.build_seconds, finding.compare_seconds) == (12.0, 0.25)
    lines = finding.report().splitlines()
    commit = a_target().inputs.commit[:12]
    assert lines[0] == (
        f"{IMAGE} (linux/arm64, slim) rebuilt from {commit}: FAILED (build 12 s, "
        "shared by the commit's images; comparison 0.2 s)"
    )
    assert lines[1:] == finding.comparison.lines()
    cells = [cell.strip() for cell in lines[1].strip("|").split("|")]
    assert cells == ["what", "released", "rebuilt", "same"]
    assert "layer 2: etc/os-release" in lines


def test_a_comparison_says_its_notes_then_its_table_then_its_differences() -> None:
    comparison = Comparison(sides=findings.SIDES, notes=["rebuilt in a store of its own"])
    assert comparison.lines() == ["rebuilt in a store of its own"], "no rows, no table"
    comparison.compare("image ID (config)", "sha256:1", "sha256:2")
    comparison.differences.append("layer 1: etc/z")
    lines = comparison.lines()
    assert lines[0] == "rebuilt in a store of its own"
    assert lines[-1] == "layer 1: etc/z"
    table = lines[1:-1]
    assert len(table) == 3, "a header, its rule and one row"
    assert [c.strip() for c in table[2].strip("|").split("|")] == [
        "image ID (config)",
        "sha256:1",
        "sha256:2",
        "DIFFERS",
    ]


def test_released_layers_are_unpacked_from_gzip_and_anything_else_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = layer(BASE)
    blobs = {"sha256:1": gzip.compress(data), "sha256:2": data, "sha256:3": b"zstd"}
    monkeypatch.setattr(manifests, "blob", lambda repository, digest: blobs[digest])
    docker, oci = (
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.oci.image.layer.v1",
    )
    manifest = {
        "layers": [
            {"digest": "sha256:1", "mediaType": docker + ".gzip"},
            {"digest": "sha256:2", "mediaType": docker},
            {"digest": "sha256:2", "mediaType": oci + ".tar"},
            {"digest": "sha256:3", "mediaType": oci + ".tar+zstd"},
            {"digest": "sha256:2"},
        ]
    }
    found = findings.released_layers(IMAGE, manifest, [1, 2, 3], tmp_path / "a" / "b")
    assert {number: path.read_bytes() for number, path in found.items()} == {
        1: data,
        2: data,
        3: data,
    }
    assert found[2].parent == tmp_path / "a" / "b"
    with pytest.raises(BuildError, match=r"layer 4 of .* is .*tar\+zstd: only tar and gzip"):
        findings.released_layers(IMAGE, manifest, [4], tmp_path)
    with pytest.raises(BuildError, match=r"layer 5 of .* is \(no mediaType\): only tar"):
        findings.released_layers(IMAGE, manifest, [5], tmp_path)
