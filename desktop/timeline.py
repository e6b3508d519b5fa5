"""The timeline strip over the transcript: one lane per speaker showing when they talk, the
flagged turns marked, the playing position, and click/drag to seek — the picture people use to
find their way in a long meeting. :func:`talk_time` is the Qt-free part."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.logic import fmt_clock, speaker_colour

__all__ = ["Timeline", "talk_time"]

LANE_H = 9
TOP = 14
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
        self._picture: QPixmap | None = None
        self.setFixedHeight(self._height())

    def _height(self) -> int:
        return TOP + max(len(self._lanes), 1) * (LANE_H + 3) + 4

    def set_meeting(self, turns: Sequence, speakers: Sequence, duration: float) -> None:
        ids = [s.id for s in speakers]
        lane = {sid: i for i, sid in enumerate(ids)}
        self._duration = max(duration, max((t.end for t in turns), default=0.0), 1e-6)
        self._lanes = [(s.name, QColor(speaker_colour(ids, s.id))) for s in speakers]
        self._bars = [(lane[t.speaker_id], t.start, max(t.end, t.start + 0.05)) for t in turns if t.speaker_id in lane]
        self._flags = [t.start for t in turns if t.flags and not t.reviewed]
        self._picture = None
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

    def resizeEvent(self, event) -> None:
        self._picture = None
        super().resizeEvent(event)

    def _lanes_pixmap(self) -> QPixmap:
        """Who talks when, drawn once per change (bars closer than a pixel are drawn as one)."""
        if self._picture is not None and self._picture.size() == self.size():
            return self._picture
        pm = QPixmap(self.size())
        pm.fill(QColor("#fafafa"))
        p = QPainter(pm)
        f = p.font()
        f.setPointSizeF(max(f.pointSizeF() - 2, 6))
        p.setFont(f)
        end = self._x(self._duration)
        for i, (name, colour) in enumerate(self._lanes):
            y = TOP + i * (LANE_H + 3)
            p.setPen(colour)
            p.drawText(QRectF(4, y - 2, NAME_W - 8, LANE_H + 4), Qt.AlignmentFlag.AlignVCenter, name)
            p.fillRect(QRectF(NAME_W, y, end - NAME_W, LANE_H), QColor("#eeeeee"))
        runs: dict[int, list[list[float]]] = {}
        for lane, a, b in sorted(self._bars):
            x0, x1 = self._x(a), max(self._x(b), self._x(a) + 1.0)
            lane_runs = runs.setdefault(lane, [])
            if lane_runs and x0 <= lane_runs[-1][1] + 1.0:
                lane_runs[-1][1] = max(lane_runs[-1][1], x1)
            else:
                lane_runs.append([x0, x1])
        for lane, items in runs.items():
            y = TOP + lane * (LANE_H + 3)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self._lanes[lane][1])
            p.drawRects([QRectF(x0, y, x1 - x0, LANE_H) for x0, x1 in items])
        p.setPen(QPen(FLAG_COLOUR, 2))
        xs = sorted({int(self._x(t)) for t in self._flags})
        for x in xs:
            p.drawLine(x, 3, x, 10)
        p.setPen(QColor("#666666"))
        p.drawText(QRectF(4, 0, NAME_W - 8, 12), Qt.AlignmentFlag.AlignLeft, fmt_clock(self._duration))
        p.end()
        self._picture = pm
        return pm

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.drawPixmap(0, 0, self._lanes_pixmap())
        if self._current is not None:
            p.setPen(QPen(QColor("#1f6fb2"), 1))
            x0, x1 = self._x(self._current[0]), self._x(self._current[1])
            p.drawRect(QRectF(x0, 1, max(x1 - x0, 2.0), self.height() - 3))
        x = self._x(self._position)
        p.setPen(QPen(QColor("#c62828"), 2))
        p.drawLine(int(x), 0, int(x), self.height())
        p.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and event.position().x() >= NAME_W:
            self.seekRequested.emit(self.time_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and event.position().x() >= NAME_W:
            self.seekRequested.emit(self.time_at(event.position().x()))
