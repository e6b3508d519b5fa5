"""Qt-free helpers behind the views: formatting, navigation, speaker colours, throttling,
import progress bookkeeping. Everything here is plain Python and unit-testable."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from meetings.events import STAGES

__all__ = [
    "FLAG_LABELS",
    "SPEEDS",
    "fmt_clock",
    "fmt_date",
    "fmt_duration",
    "speaker_colour",
    "flag_text",
    "next_flagged",
    "word_at",
    "step_speed",
    "Throttle",
    "ImportProgressState",
    "WordClock",
]

FLAG_LABELS = {
    "overlap": "overlapping speech",
    "short_turn": "very short turn",
    "ambiguous_voice": "voice unclear or disputed",  # weak voice match, or diarizer and voice disagree
    "edge_voice": "first or last words may be someone else's",  # speaker change likely misplaced
    "low_asr_confidence": "words unclear",
    "no_timestamps": "no word timings",
    "second_voice": "may be a second person (only one speaker was found)",
}

SPEEDS = (0.75, 1.0, 1.25, 1.5, 2.0)

#: distinct, readable on white; cycled when a meeting has more speakers
PALETTE = (
    "#1f6fb2", "#c4451c", "#2e8b57", "#8e44ad", "#b8860b",
    "#d6336c", "#00838f", "#6d4c41", "#5c6bc0", "#7cb342",
)


def fmt_clock(seconds: float) -> str:
    """``73.4`` → ``01:13``; an hour or more → ``1:02:03``."""
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def fmt_date(iso: str) -> str:
    """A stored UTC timestamp in local time: ``2026-11-24 15:04``."""
    from datetime import datetime

    try:
        dt = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return (iso or "")[:16].replace("T", " ")
    if dt.tzinfo is not None:
        dt = dt.astimezone()
    return dt.strftime("%Y-%m-%d %H:%M")


def fmt_duration(seconds: float) -> str:
    """Human length: ``45 s``, ``12 min``, ``1 h 05 min``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s" if s < 600 else f"{round(s / 60)} min"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def speaker_colour(speaker_ids: Sequence[int], speaker_id: int | None) -> str:
    """A stable colour per speaker: its position among the meeting's speakers (sorted by id)."""
    if speaker_id is None:
        return "#666666"
    order = sorted(speaker_ids)
    i = order.index(speaker_id) if speaker_id in order else speaker_id
    return PALETTE[i % len(PALETTE)]


def flag_text(flags) -> str:
    """``(FlagReason.OVERLAP, ...)`` → ``"overlapping speech, very short turn"``."""
    return ", ".join(FLAG_LABELS.get(getattr(f, "value", f), str(getattr(f, "value", f))) for f in flags)


def next_flagged(turns: Sequence, current: int, *, backwards: bool = False, skip_reviewed: bool = True) -> int | None:
    """Index of the next (or previous) flagged turn after ``current``, wrapping around.

    ``turns`` are objects with ``flags`` and ``reviewed``. Reviewed turns are skipped unless
    every flagged turn is reviewed. ``None`` when no turn is flagged.
    """
    n = len(turns)
    if n == 0:
        return None
    base = current if 0 <= current < n else (n if backwards else -1)
    for skip in ((True, False) if skip_reviewed else (False,)):
        for k in range(1, n + 1):
            i = (base - k) % n if backwards else (base + k) % n
            t = turns[i]
            if t.flags and not (skip and t.reviewed):
                return i
    return None


def word_at(starts: Sequence[float], t: float) -> int | None:
    """Index of the last item whose start is ≤ t (``starts`` ascending); ``None`` before the first."""
    i = bisect.bisect_right(starts, t) - 1
    return i if i >= 0 else None


def step_speed(current: float, direction: int) -> float:
    """The next playback speed up (+1) or down (-1) the ladder, clamped at its ends."""
    i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - current))
    return SPEEDS[min(max(i + direction, 0), len(SPEEDS) - 1)]


class Throttle:
    """Lets an update through at most every ``interval`` seconds per key (forced ones always)."""

    def __init__(self, interval: float = 0.1, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}

    def ready(self, key: str, force: bool = False) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if force or last is None or now - last >= self.interval:
            self._last[key] = now
            return True
        return False


@dataclass
class ImportProgressState:
    """What an import has done so far, as the progress panel shows it."""

    name: str
    stages: tuple[str, ...] = STAGES
    current: str = ""
    fraction: float = 0.0  # of the current stage, 0..1 (or -1 when unknown)
    detail: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    def progress(self, stage: str, done: float, total: float | None, detail: str = "") -> None:
        stage = stage if stage in self.stages else self.current or stage
        self.current = stage
        self.fraction = min(max(done / total, 0.0), 1.0) if total else -1.0
        self.detail = detail

    def stage_done(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = seconds
        i = self.stages.index(stage) if stage in self.stages else -1
        if 0 <= i < len(self.stages) - 1:
            self.current, self.fraction, self.detail = self.stages[i + 1], 0.0, ""
        else:
            self.fraction = 1.0

    def stage_state(self, stage: str) -> str:
        """``done`` | ``active`` | ``pending``."""
        if stage in self.seconds:
            return "done"
        return "active" if stage == self.current else "pending"

    @property
    def overall(self) -> float:
        """0..1 over all stages (each stage weighs the same)."""
        done = sum(1 for s in self.stages if s in self.seconds)
        part = max(self.fraction, 0.0) if self.current and self.current not in self.seconds else 0.0
        return min((done + part) / len(self.stages), 1.0)

    @property
    def headline(self) -> str:
        if not self.current:
            return f"Importing {self.name} — loading models…"
        k = self.stages.index(self.current) + 1 if self.current in self.stages else 0
        pct = f" {self.fraction:.0%}" if self.fraction >= 0 else ""
        extra = f" ({self.detail})" if self.detail else ""
        return f"Importing {self.name} — {self.current} ({k}/{len(self.stages)}){pct}{extra}"


class WordClock:
    """Which word is being spoken at time t. Turns may overlap in time, so words are indexed
    by start time across all turns; a word of ``prefer_turn`` (a turn id) wins when several are
    spoken. A word shorter than :attr:`MIN_WORD` (Whisper gives some zero-length words, e.g.
    3.76–3.76 s) counts as lasting that long, so it can be heard and marked; among words spoken
    at once, the one that started last wins, and of those starting together, the first.
    :meth:`update` swaps one turn's words without re-sorting the meeting."""

    MIN_WORD = 0.2

    def __init__(self, turns: Sequence):
        self._items = sorted(it for t in turns for it in self._of(t))
        self._starts = [i[0] for i in self._items]

    @classmethod
    def _of(cls, turn) -> list[tuple[float, float, int, int]]:
        return [(w.start, max(w.end, w.start + cls.MIN_WORD), turn.id, wi) for wi, w in enumerate(turn.words)]

    def update(self, removed: Sequence, added: Sequence) -> None:
        """``removed``: the old versions of changed (or deleted) turns; ``added``: the new versions."""
        if len(removed) + len(added) > 200:  # cheaper to start again
            gone = {t.id for t in removed}
            keep = [it for it in self._items if it[2] not in gone]
            self._items = sorted(keep + [it for t in added for it in self._of(t)])
            self._starts = [i[0] for i in self._items]
            return
        for t in removed:
            for it in self._of(t):
                i = bisect.bisect_left(self._items, it)
                if i < len(self._items) and self._items[i] == it:
                    del self._items[i]
                    del self._starts[i]
        for t in added:
            for it in self._of(t):
                i = bisect.bisect_left(self._items, it)
                self._items.insert(i, it)
                self._starts.insert(i, it[0])

    def at(self, t: float, prefer_turn: int | None = None, lookback: int = 24) -> tuple[int, int] | None:
        """(turn id, word index) of the word spoken at ``t`` (or the last one before it)."""
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return None
        speaking = [it for it in self._items[max(0, i - lookback) : i + 1] if it[1] > t]
        if speaking:
            cands = [it for it in speaking if it[2] == prefer_turn] or speaking
            latest = max(it[0] for it in cands)
            pick = next(it for it in cands if it[0] == latest)
        else:
            pick = self._items[i]
        return pick[2], pick[3]
