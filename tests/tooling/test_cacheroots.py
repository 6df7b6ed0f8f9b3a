"""Roots made once in the cache: one maker at a time, and put in place only whole."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from tooling.makers import second_maker_waits
from tools import cacheroots
from tools.cacheroots import COMPLETE, MAKING, is_complete, made_whole, one_maker


def test_a_root_is_made_beside_its_place_and_replaces_the_old_one_stamped(
    tmp_path: Path,
) -> None:
    root = tmp_path / "cache" / "tools" / "cosign-trixie"
    with made_whole(root, lambda made: "first") as scratch:
        (scratch / "usr").mkdir()
        (scratch / "usr" / "stale").write_text("from an older root\n")
    assert (root / "usr" / "stale").exists(), "made where the cache was not yet"
    (root / COMPLETE).unlink()
    assert not is_complete(root)
    with made_whole(root, lambda made: f"{len(list(made.iterdir()))} entries") as scratch:
        assert scratch.parent == root.parent
        assert scratch.name.startswith("making-cosign-trixie-")
        (scratch / "usr").mkdir()
    assert is_complete(root)
    assert (root / COMPLETE).read_text() == "1 entries\n", "stamped from what was made"
    assert not (root / "usr" / "stale").exists(), "replaced, not merged"
    assert sorted(p.name for p in root.parent.iterdir()) == ["cosign-trixie"]


def test_an_error_leaves_the_old_root_as_it_was_and_no_scratch(tmp_path: Path) -> None:
    root = tmp_path / "home"
    root.mkdir()
    (root / "kept").write_text("as it was\n")

    def half_made() -> None:
        with made_whole(root, str) as scratch:
            (scratch / "half").write_text("half made\n")
            raise RuntimeError("mmdebstrap failed")

    with pytest.raises(RuntimeError, match="mmdebstrap failed"):
        half_made()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    assert sorted(p.name for p in root.iterdir()) == ["kept"]
    assert not is_complete(root)


def test_a_stamp_that_fails_puts_nothing_in_place(tmp_path: Path) -> None:
    def unreadable(made: Path) -> str:
        raise OSError("no changelog")

    with pytest.raises(OSError, match="no changelog"), made_whole(tmp_path / "r", unreadable):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_second_maker_says_it_waits_and_goes_on_when_the_first_is_done(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    second_maker_waits(
        tmp_path / MAKING, lambda: one_maker(tmp_path, lambda: said.append("waiting"))
    )
    assert said == ["waiting"]


def test_a_maker_alone_says_nothing_and_holds_the_lock(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "cache"
    with (
        one_maker(directory, lambda: pytest.fail("nobody else holds it")),
        (directory / cacheroots.MAKING).open("w") as other,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with (directory / MAKING).open("w") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on leaving
