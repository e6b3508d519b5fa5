"""The Ctrl+F strip over the transcript: a box, "n of m", Enter / Shift+Enter for the next and
previous hit, Esc to close. It keeps the hits (:func:`desktop.find.find_in_turns`); the view
shows the one chosen and draws them all."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QWidget

from desktop.find import Hit, find_in_turns

__all__ = ["FindBar"]


class FindBar(QWidget):
    hitChosen = Signal(int, int, int)  # turn index, first word, end word: show it
    hitsChanged = Signal()  # redraw the hits
    closed = Signal()
    notice = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.hits: list[Hit] = []
        self.current: int | None = None
        self._turns: Sequence = ()
        self._from_turn = 0
        self.box = QLineEdit()
        self.box.setPlaceholderText("Find in this transcript…   Enter next · Shift+Enter previous · Esc close")
        self.box.setClearButtonEnabled(True)
        self.box.textChanged.connect(lambda _t: self._search(move=True))
        self.box.returnPressed.connect(lambda: self.step(1))
        self.box.installEventFilter(self)
        self.label = QLabel()
        self.label.setStyleSheet("color:#666;")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.box, 1)
        lay.addWidget(self.label)
        self.hide()

    @property
    def query(self) -> str:
        return self.box.text().strip()

    def open(self, turns: Sequence, current_turn: int) -> None:
        self._turns, self._from_turn = turns, current_turn
        self.show()
        self.box.setFocus()
        self.box.selectAll()
        self._search(move=False)

    def close_bar(self) -> None:
        self.hide()
        self.hits, self.current = [], None
        self.hitsChanged.emit()
        self.closed.emit()

    def reset(self) -> None:
        self.box.blockSignals(True)
        self.box.clear()
        self.box.blockSignals(False)
        self.hide()
        self.hits, self.current = [], None

    def refresh(self, turns: Sequence, current_turn: int) -> None:
        """The transcript changed: find again (no jump)."""
        self._turns, self._from_turn = turns, current_turn
        if self.isVisible() and self.query:
            self._search(move=False)
        else:
            self.hits, self.current = [], None

    def _search(self, move: bool) -> None:
        self.hits = find_in_turns(self._turns, self.box.text())
        self.current = None
        if self.hits and move:
            self.current = next((i for i, h in enumerate(self.hits) if h[0] >= self._from_turn), 0)
            self.hitChosen.emit(*self.hits[self.current])
        self._label()
        self.hitsChanged.emit()

    def step(self, delta: int) -> None:
        if not self.hits:
            self.notice.emit(f"“{self.query}” is not in this transcript." if self.query else "Type what to find.")
            return
        self.current = (0 if delta > 0 else -1) if self.current is None else self.current + delta
        self.current %= len(self.hits)
        self.hitChosen.emit(*self.hits[self.current])
        self._label()
        self.hitsChanged.emit()

    def spans(self, layout) -> list[tuple[int, int]]:
        """The hits as document positions (from the transcript's layout)."""
        out = []
        for t, w0, w1 in self.hits:
            a, b = layout.word_span(t, w0), layout.word_span(t, w1 - 1)
            if a and b:
                out.append((a[0], b[1]))
        return out

    def _label(self) -> None:
        n = len(self.hits)
        if not self.query:
            text = ""
        elif not n:
            text = "no match"
        elif self.current is None:
            text = f"{n} match{'es' if n != 1 else ''}"
        else:
            text = f"{self.current + 1} of {n}"
        self.label.setText(text)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.box and event.type() == QEvent.Type.ShortcutOverride and event.key() in (
                Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
            event.accept()  # Enter finds the next hit here: it must not accept the turn
            return True
        if obj is self.box and event.type() == QEvent.Type.KeyPress:
            if event.key() == Qt.Key.Key_Escape:
                self.close_bar()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.step(-1)
                return True
        return super().eventFilter(obj, event)
