"""Sorted time spans, looked up by time (pure): which lie over a stretch, and how much of it they cover."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

__all__ = ["SpanIndex"]


class SpanIndex:
    """Spans ``(start, end, ...)`` (extra fields ride along), sorted by start once; a lookup
    bisects to the few that can reach a stretch instead of scanning them all."""

    def __init__(self, spans: Iterable[tuple]):
        self.items = sorted(spans)
        self.starts = [s[0] for s in self.items]
        self.longest = max((s[1] - s[0] for s in self.items), default=0.0)

    def over(self, a: float, b: float) -> list[tuple]:
        """The spans that overlap [a, b] (more than touching it)."""
        near = self.items[bisect.bisect_left(self.starts, a - self.longest): bisect.bisect_right(self.starts, b)]
        return [s for s in near if s[1] > a and s[0] < b]

    def covered(self, a: float, b: float) -> float:
        """Seconds of [a, b] under the spans (spans that overlap each other count twice)."""
        return sum(min(b, s[1]) - max(a, s[0]) for s in self.over(a, b))
