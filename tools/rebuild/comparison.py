"""One result for every rebuild: two builds of the same images, side by side.

`nox -s reproduce` (two clean builds here), `nox -s rebuild-published` (this
machine against published IDs) and `nox -s rebuild` (this machine against a
registry's release) each fill a `Comparison`: a row per image ID or layer with
both sides and whether they are the same, the files that differ, and, when the
two sides cannot be compared at all (another builder, a Debian mirror that
moved), why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

from tools.tables import table

SAME, DIFFERS = "same", "DIFFERS"
Status = Literal["same", "differs", "incomparable"]


@dataclasses.dataclass
class Comparison:
    """Two sides of a rebuild: rows of IDs, the files that differ, or why it is incomparable."""

    #: The two sides' names, as the table's columns say them.
    sides: tuple[str, str] = ("build 1", "build 2")
    #: what, first side, second side, SAME or DIFFERS.
    rows: list[list[str]] = dataclasses.field(default_factory=list)
    #: The labels of the rows that differ.
    mismatches: list[str] = dataclasses.field(default_factory=list)
    #: The files that differ, layer by layer, or the config's fields.
    differences: list[str] = dataclasses.field(default_factory=list)
    #: Why the sides cannot be compared; empty when they can.
    incomparable: str = ""
    #: Lines said before the table: what was rebuilt, and how.
    notes: list[str] = dataclasses.field(default_factory=list)

    def compare(self, label: str, first: str, second: str, *, counted: bool = True) -> bool:
        """One row; True if both sides are the same. A differing row is a mismatch unless
        it only details one (`counted=False`: the layers under an image's row)."""
        same = first == second
        self.rows.append([label, first, second, SAME if same else DIFFERS])
        if not same and counted:
            self.mismatches.append(label)
        return same

    def compare_layers(
        self,
        first: Sequence[str],
        second: Sequence[str],
        *,
        indent: str = "  ",
        counted: bool = False,
    ) -> None:
        """Each layer's diff_id on both sides, bottom first, a row each; a missing layer
        is "(none)"."""
        for number in range(1, max(len(first), len(second)) + 1):
            pair = [ids[number - 1] if number <= len(ids) else "(none)" for ids in (first, second)]
            self.compare(f"{indent}layer {number}", *pair, counted=counted)

    @property
    def passed(self) -> bool:
        return not self.incomparable and not self.mismatches

    @property
    def status(self) -> Status:
        if self.incomparable:
            return "incomparable"
        return "same" if not self.mismatches else "differs"

    def table(self) -> str:
        return table([["what", *self.sides, "same"], *self.rows])

    def lines(self) -> list[str]:
        """The notes, the table (if any row), then the differences."""
        shown = self.table().splitlines() if self.rows else []
        return [*self.notes, *shown, *self.differences]
