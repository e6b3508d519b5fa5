"""The import strip under the library: one chip per pipeline stage, a progress bar for the
stage running now, and Cancel. It only displays :class:`~desktop.logic.ImportProgressState`."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from desktop.logic import ImportProgressState
from meetings.events import STAGES

__all__ = ["ImportPanel"]

CHIP = {
    "pending": "color:#777; background:#eeeeee;",
    "active": "color:white; background:#1f6fb2; font-weight:600;",
    "done": "color:#1b5e20; background:#dcefdc;",
}


class ImportPanel(QFrame):
    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("importPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.state = ImportProgressState("")
        self.headline = QLabel()
        self.queued = QLabel()
        self.queued.setStyleSheet("color:#666;")
        self.chips = {s: QLabel(s) for s in STAGES}
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(10)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancelRequested)

        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(self.queued)
        top.addWidget(self.cancel_button)
        chips = QHBoxLayout()
        chips.setSpacing(6)
        for chip in self.chips.values():
            chip.setMargin(3)
            chips.addWidget(chip)
        chips.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.addLayout(top)
        lay.addLayout(chips)
        lay.addWidget(self.bar)
        self.hide()

    def begin(self, name: str) -> None:
        self.state = ImportProgressState(name)
        self.headline.setStyleSheet("")
        self.cancel_button.setText("Cancel")
        self.cancel_button.setEnabled(True)
        self.show()
        self._render()

    def on_progress(self, stage: str, fraction: float, detail: str) -> None:
        self.state.progress(stage, fraction if fraction >= 0 else 0.0, 1.0 if fraction >= 0 else None, detail)
        self._render()

    def on_stage_done(self, stage: str, seconds: float) -> None:
        self.state.stage_done(stage, seconds)
        self._render()

    def set_queued(self, n: int) -> None:
        self.queued.setText(f"{n} more queued" if n else "")

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.headline.setText(f"Cancelling {self.state.name}…")

    def finish(self, text: str) -> None:
        """The import stopped (failed or cancelled): say so until the user closes the strip."""
        self.headline.setText(text)
        self.headline.setStyleSheet("color:#c62828;")
        self.bar.setRange(0, 1000)
        self.cancel_button.setText("Close")
        self.cancel_button.setEnabled(True)
        self.show()

    def _render(self) -> None:
        s = self.state
        self.headline.setText(s.headline)
        for stage, chip in self.chips.items():
            st = s.stage_state(stage)
            secs = s.seconds.get(stage)
            chip.setText(f"✓ {stage} {secs:.1f} s" if secs is not None else stage)
            chip.setStyleSheet(f"QLabel {{ {CHIP[st]} border-radius:4px; padding:1px 6px; }}")
        if not s.current or s.fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator: loading models, or a stage with no total
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * max(s.fraction, 0.0)))
