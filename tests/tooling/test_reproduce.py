"""tools.reproduce: two builds side by side, and the files that differ between them."""

from __future__ import annotations

from tools.reproduce import Comparison, listing_difference


def test_a_comparison_lists_both_ids_and_remembers_each_mismatch() -> None:
    comparison = Comparison()
    assert comparison.compare("moscow-time:slim", "sha256:a", "sha256:a")
    assert not comparison.compare("moscow-time:distroless", "sha256:b", "sha256:c")
    assert comparison.rows[1] == ["moscow-time:slim", "sha256:a", "sha256:a", "True"]
    assert comparison.rows[2][-1] == "False"
    assert comparison.mismatches == ["moscow-time:distroless"]


def test_layers_are_compared_bottom_first_and_a_different_count_is_a_row() -> None:
    comparison = Comparison()
    comparison.compare_layers(["sha256:1", "sha256:2"], ["sha256:1", "sha256:3", "sha256:4"])
    assert [row[-1] for row in comparison.rows[1:]] == ["True", "False", "False"]
    assert comparison.rows[-1][:3] == ["  layers", "2", "3"]


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
