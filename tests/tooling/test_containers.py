"""Reading `docker stats`: the memory column in each unit Docker prints."""

from __future__ import annotations

import pytest

from tools.containers import memory_mb
from tools.process import BuildError


@pytest.mark.parametrize(
    ("usage", "mib"),
    [
        ("12.5MiB / 23.4GiB", 12.5),
        ("512KiB / 1GiB", 0.5),
        ("1.5GiB / 2GiB", 1536.0),
        ("0B / 0B", 0.0),  # a container that stopped between the check and the read
        ("20MB / 1GB", 20.0),
    ],
)
def test_the_memory_column_is_read_in_mib(usage: str, mib: float) -> None:
    assert memory_mb(usage) == pytest.approx(mib)


def test_a_column_with_no_amount_is_an_error_that_quotes_it() -> None:
    with pytest.raises(BuildError, match="cannot read memory from '--'"):
        memory_mb("--")
