"""The timeline strip over the transcript: one lane per speaker showing when they talk, the
flagged turns marked, the playing position, and click/drag to seek — the picture people use to
find their way in a long meeting. :func:`talk_time` is the Qt-free part."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.logic import fmt_clock, speaker_colour

__all__ = ["Timeline", "talk_time"]

LANE_H = 9
NAME_W = 96
FLAG_COLOUR = QColor("#e08a00")


def talk_time(turns: Sequence) -> dict[int, float]:
    """Speaker id → seconds they talk (their turns' spans, overlaps of their own turns counted once)."""
    spans: dict[int, list[tuple[float, float]]] = {}
    for t in turns:
        spans.setdefault(t.speaker_id, []).append((t.start, t.end))
    out = {}
    for sid, items in spans.items():
        total, end = 0.0, float("-inf")
        for a, b in sorted(items):
            if b > end:
                total += b - max(a, end)
                end = b
        out[sid] = total
    return out


class Timeline(QWidget):
    seekRequested = Signal(float)  # seconds

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(False)
        self.setToolTip("Who talks when: click or drag to move the playback; orange marks are turns flagged for review")
        self._duration = 0.0
        self._position = 0.0
        self._lanes: list[tuple[str, QColor]] = []
        self._bars: list[tuple[int, float, float]] = []  # lane, start, end
        self._flags: list[float] = []
        self._current: tuple[float, float] | None = None
        self.setFixedHeight(self._height())

    def _height(self) -> int:
        return 14 + max(len(self._lanes), 1) * (LANE_H + 3) + 4

    def set_meeting(self, turns: Sequence, speakers: Sequence, duration: float) -> None:
        ids = [s.id for s in speakers]
        lane = {sid: i for i, sid in enumerate(ids)}
        self._duration = max(duration, max((t.end for t in turns), default=0.0), 1e-6)
        self._lanes = [(s.name, QColor(speaker_colour(ids, s.id))) for s in speakers]
        self._bars = [(lane[t.speaker_id], t.start, max(t.end, t.start + 0.05)) for t in turns if t.speaker_id in lane]
        self._flags = [t.start for t in turns if t.flags and not t.reviewed]
        self.setFixedHeight(self._height())
        self.update()

    def set_current(self, span: tuple[float, float] | None) -> None:
        if span != self._current:
            self._current = span
            self.update()

    def set_position(self, seconds: float) -> None:
        old = self._x(self._position)
        self._position = seconds
        new = self._x(seconds)
        if int(old) != int(new):
            self.update(int(min(old, new)) - 2, 0, int(abs(new - old)) + 5, self.height())

    # ------------------------------------------------------------ geometry
    def _x(self, t: float) -> float:
        w = max(self.width() - NAME_W - 8, 1)
        return NAME_W + w * min(max(t / self._duration, 0.0), 1.0) if self._duration else NAME_W

    def time_at(self, x: float) -> float:
        w = max(self.width() - NAME_W - 8, 1)
        return min(max((x - NAME_W) / w, 0.0), 1.0) * self._duration

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#fafafa"))
        top = 14
        p.setPen(QColor("#888888"))
        f = p.font()
        f.setPointSizeF(max(f.pointSizeF() - 2, 6))
        p.setFont(f)
        for i, (name, colour) in enumerate(self._lanes):
            y = top + i * (LANE_H + 3)
            p.setPen(colour)
            p.drawText(QRectF(4, y - 2, NAME_W - 8, LANE_H + 4), Qt.AlignmentFlag.AlignVCenter, name)
            p.fillRect(QRectF(NAME_W, y, self._x(self._duration) - NAME_W, LANE_H), QColor("#eeeeee"))
        for lane, a, b in self._bars:
            y = top + lane * (LANE_H + 3)
            x0, x1 = self._x(a), self._x(b)
            p.fillRect(QRectF(x0, y, max(x1 - x0, 1.0), LANE_H), self._lanes[lane][1])
        p.setPen(QPen(FLAG_COLOUR, 2))
        for t in self._flags:
            x = self._x(t)
            p.drawLine(int(x), 3, int(x), 10)
        if self._current is not None:
            p.setPen(QPen(QColor("#1f6fb2"), 1))
            x0, x1 = self._x(self._current[0]), self._x(self._current[1])
            p.drawRect(QRectF(x0, 1, max(x1 - x0, 2.0), self.height() - 3))
        x = self._x(self._position)
        p.setPen(QPen(QColor("#c62828"), 2))
        p.drawLine(int(x), 0, int(x), self.height())
        p.setPen(QColor("#666666"))
        p.drawText(QRectF(4, 0, NAME_W - 8, 12), Qt.AlignmentFlag.AlignLeft, fmt_clock(self._duration))
        p.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and event.position().x() >= NAME_W:
            self.seekRequested.emit(self.time_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and event.position().x() >= NAME_W:
            self.seekRequested.emit(self.time_at(event.position().x()))
