"""Placeholder for the future Live view (record/stop, a level meter per source, streaming
transcript). It already has its place in the sidebar so the window needs no reshaping."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

__all__ = ["LivePage"]


class LivePage(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.record_button = QPushButton("● Record")
        self.record_button.setEnabled(False)
        self.record_button.setToolTip("Live capture is coming in a later version.")
        note = QLabel(
            "<h2>Live</h2><p style='color:#666'>Record a call as it happens: one level meter per source "
            "(your microphone and the other side), and the transcript streaming in.</p>"
            "<p style='color:#999'>Not available yet.</p>"
        )
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(note)
        lay.addWidget(self.record_button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(2)
