"""tools.rebuild.reproduce: two builds side by side, and the files that differ between them."""

from __future__ import annotations

import pytest

from tools.builders import BuildRequest
from tools.rebuild.comparison import Comparison
from tools.rebuild.layerdiff import listing_difference


def test_a_comparison_lists_both_ids_and_remembers_each_mismatch() -> None:
    comparison = Comparison()
    assert comparison.compare("moscow-time:slim", "sha256:a", "sha256:a")
    assert not comparison.compare("moscow-time:distroless", "sha256:b", "sha256:c")
    assert comparison.rows[0] == ["moscow-time:slim", "sha256:a", "sha256:a", "same"]
    assert comparison.rows[1][-1] == "DIFFERS"
    assert comparison.mismatches == ["moscow-time:distroless"]
    assert comparison.status == "differs"
    assert not comparison.passed


def test_layers_are_compared_bottom_first_and_a_missing_one_is_none() -> None:
    comparison = Comparison()
    comparison.compare_layers(["sha256:1", "sha256:2"], ["sha256:1", "sha256:3", "sha256:4"])
    assert [row[-1] for row in comparison.rows] == ["same", "DIFFERS", "DIFFERS"]
    assert comparison.rows[-1][:3] == ["  layer 3", "(none)", "sha256:4"]
    # Under an image's row, layers detail it: they are not mismatches of their own...
    assert comparison.mismatches == []
    # ...unless counted, as a rebuild against a registry counts each.
    comparison.compare_layers(["sha256:1"], ["sha256:2"], indent="", counted=True)
    assert comparison.mismatches == ["layer 1"]


def test_an_incomparable_comparison_neither_passes_nor_differs() -> None:
    comparison = Comparison(incomparable="another builder")
    comparison.compare("moscow-time:slim", "sha256:a", "sha256:a")
    assert comparison.status == "incomparable"
    assert not comparison.passed


def test_a_layer_difference_names_each_file_with_both_sides() -> None:
    left = {"a": "644 0:0 1 mtime=1 x", "b": "644 0:0 1 mtime=1 y"}
    right = {"a": "644 0:0 1 mtime=2 x", "c": "755 0:0 1 mtime=1 z"}
    lines = listing_difference(3, left, right, limit=40)
    assert "layer 3: a" in lines
    assert "    second: (absent)" in lines
    assert "    first:  (absent)" in lines
    assert len(lines) == 9


def test_a_long_difference_is_cut_and_says_how_much_more() -> None:
    left = {str(n): "x" for n in range(50)}
    lines = listing_difference(1, left, {}, limit=5)
    assert lines[-1] == "layer 1: ... and 45 more"


def test_each_planned_image_is_built_twice_compared_and_its_ids_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tools.builders.libpod import Buildah
    from tools.images.context import Build
    from tools.images.plan import BuildPlan, base_references
    from tools.model import PLATFORMS, VARIANTS, host_platform
    from tools.rebuild import reproduce

    monkeypatch.setattr(reproduce, "download_wheelhouse", lambda *args, **kwargs: None)
    monkeypatch.setattr(reproduce, "explain_difference", lambda builder, a, b: [f"{a} != {b}"])
    built: list[str | None] = []
    # Every image as `nox -s build` makes it (no record to reuse here), then each twice clean.
    monkeypatch.setattr(reproduce, "reusable_record", lambda: None)
    monkeypatch.setattr(reproduce, "base_image_ids", lambda build: {})
    ids = iter(["sha256:1", "sha256:2", "sha256:1", "sha256:1", "sha256:2", "sha256:3"])
    # The store: what the clean builds leave beside their images is removed after them.
    unnamed = iter([{"sha256:cache-step"}, {"sha256:cache-step", "sha256:clean-step"}])
    removed: list[set[str]] = []
    monkeypatch.setattr(Buildah, "unnamed_images", lambda self: next(unnamed))
    monkeypatch.setattr(Buildah, "remove_images", lambda self, run, ids: removed.append(ids))

    def build(self: Buildah, run: object, request: BuildRequest) -> str:
        built.append(request.platform)
        return next(ids)

    monkeypatch.setattr(Buildah, "build", build)
    monkeypatch.setattr(Buildah, "diff_ids", lambda self, image: [f"sha256:layer-of-{image}"])
    monkeypatch.setattr(Buildah, "load_into_docker", lambda self, run, images: None)
    other = next(each for each in PLATFORMS.values() if each != host_platform())
    builds = [(VARIANTS["distroless"], host_platform()), (VARIANTS["slim"], other)]
    plan = BuildPlan(
        builder="buildah",
        platforms=(host_platform().name, other.name),
        bases=base_references([host_platform(), other], offline=True, upstream={}),
        revision="0" * 40,
        epoch=1795758711,
        offline=True,
    )
    comparison, said = Comparison(), list[str]()
    context = Build(plan, Buildah(), run=lambda *args, **kwargs: None, say=said.append)
    twice = reproduce.reproduce_images(context, builds, comparison)
    assert (
        built == [host_platform().name, other.name] + [host_platform().name] * 2 + [other.name] * 2
    )
    assert removed == [{"sha256:clean-step"}], "the cached build's steps stay: its cache"
    assert twice == {
        "distroless": {host_platform().name: ("sha256:1", "sha256:1")},
        "slim": {other.name: ("sha256:2", "sha256:3")},
    }
    assert comparison.mismatches == [f"moscow-time:{other.debian}-slim ({other.name})"]
    cached = [row for row in comparison.rows if row[0].endswith("cached and clean")]
    assert [row[1:] for row in cached] == [
        ["sha256:1", "sha256:1", "same"],
        ["sha256:2", "sha256:2", "same"],
    ]
    assert said == [
        f"moscow-time:{other.debian}-slim: what differs\nsha256:2 != sha256:3",
        "removed 1 images the builds left beside theirs",
    ]


def test_a_comparison_is_same_until_a_row_differs_and_incomparable_says_why_first() -> None:
    comparison = Comparison()
    comparison.compare("moscow-time:slim", "sha256:a", "sha256:a")
    assert (comparison.status, comparison.passed) == ("same", True)
    comparison.compare("moscow-time:distroless", "sha256:b", "sha256:c")
    assert (comparison.status, comparison.passed) == ("differs", False)
    comparison.incomparable = "another builder: buildah 1.28.2 against the toolchain"
    assert (comparison.status, comparison.passed) == ("incomparable", False)
    assert Comparison(incomparable="a moved mirror").status == "incomparable"
