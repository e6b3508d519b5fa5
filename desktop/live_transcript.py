"""The streaming transcript on the Live page: one line per utterance, committed words in
the speaker's colour, words still being decoded grey and italic after them; the live speakers
with their colours, renamable while the meeting runs (double-click); how far behind it is.

It only displays the live transcriber's typed events (queued to the GUI thread)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.logic import PALETTE
from meetings.events import LiveBacklog, LiveCommitted, LivePartial, LiveSpeaker, LiveSpeakerDropped

__all__ = ["LiveTranscriptView"]


class LiveTranscriptView(QWidget):
    renameRequested = Signal(str, str)  # label, new name

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lines = QListWidget()
        self.lines.setObjectName("liveLines")
        self.lines.setWordWrap(True)
        self.lines.setUniformItemSizes(False)
        self.speaker_list = QListWidget()
        self.speaker_list.setMaximumWidth(200)
        self.speaker_list.setToolTip("Double-click a speaker to name them (kept when the meeting is refined)")
        self.speaker_list.itemDoubleClicked.connect(self._ask_rename)
        self.status = QLabel("")
        self.status.setStyleSheet("color:#666;")
        side = QVBoxLayout()
        side.addWidget(QLabel("<b>Speakers</b>"))
        side.addWidget(self.speaker_list, 1)
        side.addWidget(self.status)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.lines, 1)
        lay.addLayout(side)
        self.clear()

    def clear(self) -> None:
        self.lines.clear()
        self.speaker_list.clear()
        self.names: dict[str, str] = {"LOCAL": "You"}
        self.colours: dict[str, str] = {"LOCAL": PALETTE[0]}
        self._utt: dict[int, dict] = {}  # utterance → {"item", "label", "speaker", "committed", "partial", "start"}
        self._add_speaker("LOCAL")

    # ------------------------------------------------------------------ events
    def on_event(self, event) -> None:
        if isinstance(event, (LiveCommitted, LivePartial)):
            u = self._line(event.utterance, event.speaker, event.words)
            if isinstance(event, LiveCommitted):
                u["committed"].extend(event.words)
                u["partial"] = []
            else:
                u["partial"] = list(event.words)
                if not event.words and not u["committed"]:  # nothing came of it
                    self._drop(event.utterance)
                    return
            if event.speaker and not u["speaker"]:
                u["speaker"] = event.speaker
            self._render(u)
        elif isinstance(event, LiveSpeaker):
            if event.label not in self.names:
                self.names[event.label] = event.name
                self.colours[event.label] = PALETTE[len(self.colours) % len(PALETTE)]
                self._add_speaker(event.label)
            elif not event.provisional:
                self.names[event.label] = event.name
                self._refresh_speakers()
            if event.utterance in self._utt:
                self._utt[event.utterance]["speaker"] = event.label
                self._render(self._utt[event.utterance])
        elif isinstance(event, LiveSpeakerDropped):
            for i in range(self.speaker_list.count()):
                if self.speaker_list.item(i).data(Qt.ItemDataRole.UserRole) == event.label:
                    self.speaker_list.takeItem(i)
                    break
        elif isinstance(event, LiveBacklog):
            self.status.setText(f"{event.seconds:.1f} s behind" + (f" · {event.skipped} interim decodes skipped" if event.skipped else ""))

    def _line(self, utterance: int, speaker, words) -> dict:
        u = self._utt.get(utterance)
        if u is None:
            item = QListWidgetItem()
            label = QLabel()
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            self.lines.addItem(item)
            self.lines.setItemWidget(item, label)
            u = self._utt[utterance] = {"item": item, "label": label, "speaker": speaker, "committed": [], "partial": [],
                                        "start": words[0].start if words else 0.0}
            at_end = self.lines.verticalScrollBar().value() >= self.lines.verticalScrollBar().maximum() - 4
            if at_end:
                self.lines.scrollToBottom()
        return u

    def _drop(self, utterance: int) -> None:
        u = self._utt.pop(utterance, None)
        if u is not None:
            self.lines.takeItem(self.lines.row(u["item"]))

    def _render(self, u: dict) -> None:
        spk = u["speaker"]
        name = self.names.get(spk, "…") if spk else "…"
        colour = self.colours.get(spk, "#666666")
        m, s = divmod(int(u["start"]), 60)
        committed = escape(" ".join(w.text.strip() for w in u["committed"]))
        partial = escape(" ".join(w.text.strip() for w in u["partial"]))
        html = (f"<span style='color:#888'>{m:02d}:{s:02d}</span> <b style='color:{colour}'>{escape(name)}</b>"
                f": {committed}"
                + (f" <i style='color:#9ca3af'>{partial}</i>" if partial else ""))
        u["label"].setText(html)
        width = max(200, self.lines.viewport().width() - 12)
        u["item"].setSizeHint(QSize(width, u["label"].heightForWidth(width) + 6))

    def line_texts(self) -> list[str]:
        """What each line shows, as plain text (for tests and copying)."""
        out = []
        for u in self._utt.values():
            name = self.names.get(u["speaker"], "…") if u["speaker"] else "…"
            out.append(f"{name}: " + " ".join(w.text.strip() for w in [*u["committed"], *u["partial"]]))
        return out

    # ------------------------------------------------------------------ speakers
    def _add_speaker(self, label: str) -> None:
        item = QListWidgetItem(self.names[label])
        item.setData(Qt.ItemDataRole.UserRole, label)
        item.setForeground(QColor(self.colours[label]))
        self.speaker_list.addItem(item)

    def _refresh_speakers(self) -> None:
        for i in range(self.speaker_list.count()):
            item = self.speaker_list.item(i)
            item.setText(self.names[item.data(Qt.ItemDataRole.UserRole)])
        for u in self._utt.values():
            self._render(u)

    def rename(self, label: str, name: str) -> None:
        name = name.strip()
        if name and label in self.names:
            self.names[label] = name
            self._refresh_speakers()
            self.renameRequested.emit(label, name)

    def _ask_rename(self, item) -> None:
        label = item.data(Qt.ItemDataRole.UserRole)
        name, ok = QInputDialog.getText(self, "Name this speaker", "Name:", text=self.names.get(label, ""))
        if ok:
            self.rename(label, name)
