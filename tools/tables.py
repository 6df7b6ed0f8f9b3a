"""Plain text for people: markdown tables and sizes, and figures written into the docs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def table(rows: Sequence[Sequence[str]]) -> str:
    """A plain markdown table: the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def human_size(size: int | None) -> str:
    return "?" if size is None else f"{size / 1e6:.1f} MB"


def replace_between_markers(doc: Path, marker: str, text: str) -> None:
    """Put text between `<!-- marker:start -->` and `<!-- marker:end -->` in a document."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    before, rest = doc.read_text().split(start, 1)
    _, after = rest.split(end, 1)
    doc.write_text(f"{before}{start}\n{text}{end}{after}")
