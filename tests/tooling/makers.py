"""A second maker of a cache root while a first holds its lock: the waiting both the cache's
roots and the stand-ins rely on, seen from outside."""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Callable
from pathlib import Path


def second_maker_waits(
    lock: Path, enter: Callable[[], contextlib.AbstractContextManager[object]]
) -> None:
    """Hold `lock` as the first maker; `enter` must wait until it is let go, then go on."""
    entered = threading.Event()

    def second() -> None:
        with enter():
            entered.set()

    with lock.open("w") as first:
        fcntl.flock(first, fcntl.LOCK_EX)
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not entered.wait(0.5), "the second maker did not wait"
        fcntl.flock(first, fcntl.LOCK_UN)
    waiter.join(10)
    assert entered.is_set(), "the second maker did not go on when the first was done"
