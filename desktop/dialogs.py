"""Small dialogs of the correction loop. Each is opened window-modal (``open()``), so the
caller connects ``accepted`` and the event loop keeps running (tests drive them directly)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QVBoxLayout,
)

from desktop.logic import fmt_clock

__all__ = ["RenameDialog", "PickSpeakerDialog", "MergeSpeakersDialog", "FixSimilarDialog", "EditWordDialog", "AddSpeakerDialog"]


def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    box.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


def _speaker_combo(speakers: Sequence, exclude: int | None = None, select: int | None = None) -> QComboBox:
    combo = QComboBox()
    for n, s in enumerate(speakers, 1):
        if s.id != exclude:
            combo.addItem(f"{n}  {s.name}", s.id)
    if select is not None:
        i = combo.findData(select)
        if i >= 0:
            combo.setCurrentIndex(i)
    return combo


class RenameDialog(QDialog):
    def __init__(self, speaker, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Rename speaker")
        self.speaker = speaker
        self.name_edit = QLineEdit(speaker.name)
        self.name_edit.selectAll()
        form = QFormLayout(self)
        form.addRow(QLabel(f"New name for <b>{speaker.name}</b> — applies to the whole meeting:"))
        form.addRow("Name:", self.name_edit)
        form.addRow(_buttons(self, "Rename"))

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()


class PickSpeakerDialog(QDialog):
    """Reassign every turn of one speaker to another."""

    def __init__(self, speakers: Sequence, from_speaker, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Reassign speaker")
        self.from_speaker = from_speaker
        self.combo = _speaker_combo(speakers, exclude=from_speaker.id)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Give every turn of <b>{from_speaker.name}</b> to:"))
        form.addRow("Speaker:", self.combo)
        form.addRow(_buttons(self, "Reassign all"))

    @property
    def to_speaker_id(self) -> int | None:
        return self.combo.currentData()


class MergeSpeakersDialog(QDialog):
    """Two diarized speakers are one person: keep one, fold the other into it."""

    def __init__(self, speakers: Sequence, drop_id: int | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Merge speakers")
        self.drop_combo = _speaker_combo(speakers, select=drop_id)
        self.keep_combo = _speaker_combo(speakers)
        if self.keep_combo.currentData() == self.drop_combo.currentData() and self.keep_combo.count() > 1:
            self.keep_combo.setCurrentIndex(1)
        self.warning = QLabel()
        self.warning.setStyleSheet("color:#c62828;")
        form = QFormLayout(self)
        form.addRow(QLabel("Fold one speaker into another (they are the same person):"))
        form.addRow("Merge:", self.drop_combo)
        form.addRow("into:", self.keep_combo)
        form.addRow(self.warning)
        self.box = _buttons(self, "Merge")
        form.addRow(self.box)
        self.drop_combo.currentIndexChanged.connect(self._check)
        self.keep_combo.currentIndexChanged.connect(self._check)
        self._check()

    @property
    def keep_id(self) -> int | None:
        return self.keep_combo.currentData()

    @property
    def drop_id(self) -> int | None:
        return self.drop_combo.currentData()

    def _check(self) -> None:
        same = self.keep_id == self.drop_id
        self.warning.setText("Pick two different speakers." if same else "")
        self.box.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not same)


class FixSimilarDialog(QDialog):
    """The turns whose voice matches a corrected speaker: tick the ones to fix."""

    def __init__(self, suggestions: Sequence, turns_by_id: dict, names: dict[int, str], parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Fix {len(suggestions)} similar turns")
        self.resize(620, 380)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        for s in suggestions:
            t = turns_by_id[s.turn_id]
            text = t.text if len(t.text) <= 90 else t.text[:87] + "…"
            item = QListWidgetItem(
                f"{fmt_clock(t.start)}   {names.get(s.from_speaker, '?')} → {names.get(s.to_speaker, '?')}"
                f"   (voice match {s.similarity:.2f}, +{s.margin:.2f})\n“{text}”"
            )
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setData(Qt.ItemDataRole.UserRole, s)
            self.list.addItem(item)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(
            "These doubtful turns sound like a speaker you have already corrected.\n"
            "Untick any you disagree with. Each fix can be undone with Ctrl+Z."
        ))
        lay.addWidget(self.list, 1)
        lay.addWidget(_buttons(self, "Fix selected"))

    def chosen(self) -> list:
        return [
            self.list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]


class EditWordDialog(QDialog):
    """Fix a misheard word or name in place (one word may become several: "New York")."""

    def __init__(self, word: str, context: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Edit word")
        self.text_edit = QLineEdit(word)
        self.text_edit.selectAll()
        form = QFormLayout(self)
        form.addRow(QLabel(f"…{context}…"))
        form.addRow("Word:", self.text_edit)
        form.addRow(_buttons(self, "Change"))

    @property
    def text(self) -> str:
        return self.text_edit.text().strip()


class AddSpeakerDialog(QDialog):
    """A voice the diarizer missed: a new speaker, given the current turn straight away."""

    def __init__(self, default_name: str, turn_label: str | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New speaker")
        self.name_edit = QLineEdit(default_name)
        self.name_edit.selectAll()
        self.give = QCheckBox(f"Give them the turn at {turn_label}" if turn_label else "Give them the current turn")
        self.give.setChecked(turn_label is not None)
        self.give.setEnabled(turn_label is not None)
        form = QFormLayout(self)
        form.addRow(QLabel("A voice the diarizer did not tell apart:"))
        form.addRow("Name:", self.name_edit)
        form.addRow(self.give)
        form.addRow(_buttons(self, "Add speaker"))

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()
