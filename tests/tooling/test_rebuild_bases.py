"""tools.rebuild.rebuild's bases: each base the provenance names is a counted row beside the
one the rebuild used, and one that differs is told by its files against the content record.
The store and the content records are stood in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tooling.samples import a_target
from tools.images import contents
from tools.rebuild import rebuild
from tools.rebuild.comparison import Comparison


class Bases:
    """A store holding the bases by reference, exporting them for their files."""

    def __init__(self, held: dict[str, str]) -> None:
        self.held, self.archived = held, list[str]()

    def image_id(self, reference: str) -> str | None:
        return self.held.get(reference)

    def archive(self, image_id: str, destination: Path) -> Path:
        self.archived.append(image_id)
        return destination


def test_every_base_is_a_counted_row_and_one_that_differs_is_told_by_its_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bases = {
        "A_SAME": ("localhost/same", "sha256:s"),
        "B_DIFFERS": ("localhost/differs", "sha256:recorded"),
        "C_MISSING": ("localhost/missing", "sha256:m"),
        "D_DIFFERS": ("localhost/also", "sha256:also"),
    }
    told: list[tuple[str, str]] = []

    def base_difference(builder: object, recorded: str, here: str) -> list[str]:
        told.append((recorded, here))
        return [f"  files of {here}"]

    monkeypatch.setattr(rebuild, "base_difference", base_difference)
    store = Bases({"localhost/same": "sha256:s", "localhost/differs": "sha256:here",
                   "localhost/also": "sha256:also-here"})  # fmt: skip
    comparison = Comparison(differences=["layer 1: what the image's comparison found"])
    rebuild.compare_bases(store, a_target(bases=bases), comparison)  # type: ignore[arg-type]
    assert comparison.rows == [
        ["base A_SAME", "sha256:s", "sha256:s", "same"],
        ["base B_DIFFERS", "sha256:recorded", "sha256:here", "DIFFERS"],
        ["base C_MISSING", "sha256:m", "(missing)", "DIFFERS"],
        ["base D_DIFFERS", "sha256:also", "sha256:also-here", "DIFFERS"],
    ]
    assert comparison.mismatches == ["base B_DIFFERS", "base C_MISSING", "base D_DIFFERS"]
    assert told == [("sha256:recorded", "sha256:here"), ("sha256:also", "sha256:also-here")]
    assert comparison.differences == [
        "layer 1: what the image's comparison found",
        "base B_DIFFERS localhost/differs: sha256:here here, the provenance names sha256:recorded",
        "  files of sha256:here",
        "base D_DIFFERS localhost/also: sha256:also-here here, the provenance names sha256:also",
        "  files of sha256:also-here",
    ]


def test_a_base_is_told_from_the_first_content_record_that_holds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records: dict[str, Any] = {
        "amd64": type("Record", (), {"images": {"base": ("sha256:other", ("sha256:x",))}})(),
        "arm64": type("Record", (), {"images": {"base": ("sha256:rec", ("sha256:l1",))}})(),
    }
    monkeypatch.setattr(contents, "read", records.get)
    monkeypatch.setattr(contents, "archive_layers", lambda path: [("sha256:l1", ("files",))])
    explained: list[tuple[object, ...]] = []

    def explain(*args: object) -> list[str]:
        explained.append(args)
        return ["told"]

    monkeypatch.setattr(contents, "explain", explain)
    store = Bases({})
    assert rebuild.base_difference(store, "sha256:rec", "sha256:here") == ["told"]  # type: ignore[arg-type]
    assert explained == [(records["arm64"], ("sha256:l1",), {"sha256:l1": ("files",)})]
    assert store.archived == ["sha256:here"]
    said = rebuild.base_difference(store, "sha256:unknown", "sha256:here")  # type: ignore[arg-type]
    assert said == [
        "  sha256:unknown is not in published/contents/, so no file can be named: make the "
        "stand-ins from that commit's locks on a machine that publishes, or compare the two "
        "bases' layers by hand"
    ]
