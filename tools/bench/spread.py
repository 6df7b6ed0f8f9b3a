"""Figures over rounds: the median and the range of each, and of each ratio to the baseline.

A claim holds only if it held in every round, so a ratio is reported with
its worst round beside its median.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence

#: One round: subject → metric → value.
Round = Mapping[str, Mapping[str, float]]


@dataclasses.dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no values")
        return cls(statistics.median(values), min(values), max(values))

    def text(self, fmt: str = "{:.0f}", unit: str = "") -> str:
        """The median and, in brackets, the lowest and highest; one value for one round."""
        if self.low == self.high:
            return f"{fmt.format(self.median)}{unit}"
        low, high = fmt.format(self.low), fmt.format(self.high)
        return f"{fmt.format(self.median)}{unit} [{low}-{high}]"


def values(rounds: Sequence[Round], subject: str, metric: str) -> list[float]:
    return [r[subject][metric] for r in rounds if metric in r.get(subject, {})]


def spread(rounds: Sequence[Round], subject: str, metric: str) -> Spread | None:
    found = values(rounds, subject, metric)
    return Spread.of(found) if found else None


def ratio(
    rounds: Sequence[Round], subject: str, metric: str, baseline: str = "baseline"
) -> Spread | None:
    """The subject's figure over the baseline's, round by round (both from the same round)."""
    found = [
        r[subject][metric] / r[baseline][metric]
        for r in rounds
        if metric in r.get(subject, {}) and r.get(baseline, {}).get(metric)
    ]
    return Spread.of(found) if found else None
