"""Log lines that stay bounded: what happens per request is summed up, one line per interval.

A flood of bad requests, closed connections or queued requests must not
become a flood of log lines: that fills disks and buries the warnings that
matter. ``RateLimitedReport`` writes the first event at once, then at most
one line per interval, saying how many of each kind happened in between.
"""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedReport:
    """At most one log line per interval, summing up what happened in between."""

    def __init__(self, logger: logging.Logger, template: str, *, interval: float) -> None:
        self.logger, self.template, self.interval = logger, template, interval
        self.lock = threading.Lock()
        #: what → (how many times, the largest peak given)
        self.pending: dict[str, tuple[int, int]] = {}
        self.next_report = 0.0

    def add(self, what: str, count: int = 1, peak: int = 0) -> None:
        with self.lock:
            seen, highest = self.pending.get(what, (0, 0))
            self.pending[what] = (seen + count, max(highest, peak))
            now = time.monotonic()
            if now < self.next_report:
                return
            summary = "; ".join(
                f"{n} {what}" + (f", queue up to {top}" if top else "")
                for what, (n, top) in self.pending.items()
            )
            self.pending.clear()
            self.next_report = now + self.interval
        self.logger.warning(self.template, summary)
