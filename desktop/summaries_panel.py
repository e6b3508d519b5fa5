"""The summaries of the open meeting (written by ``summaries/``): the latest meeting summary as
Markdown, once (its per-speaker parts are already in it), with one "stale" badge when the
transcript changed after it was made; ``[mm:ss]`` references are links to the turn. Summarize /
Regenerate runs offline, or in the cloud when the settings allow it, with the cost shown first."""

from __future__ import annotations

import re

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QTextBrowser, QVBoxLayout, QWidget

__all__ = ["SummariesPanel", "summaries_markdown", "link_times"]

_STAMP = re.compile(r"(?<!\\)\[((?:\d+:)?\d{1,3}:\d{2})\](?!\()")


def link_times(md: str) -> str:
    """``[12:05]`` → a Markdown link ``[12:05](t:725)`` the panel turns into a jump to the turn."""

    def to_link(m: re.Match) -> str:
        parts = [int(p) for p in m.group(1).split(":")]
        seconds = sum(p * 60**k for k, p in enumerate(reversed(parts)))
        return f"[{m.group(1)}](t:{seconds})"

    return _STAMP.sub(to_link, md)


def summaries_markdown(summaries, names: dict[int, str] | None = None) -> tuple[str, int]:
    """(markdown to show, how many shown are stale). Qt-free. ``names``: speaker id → name.

    The meeting summary already holds every speaker's part: when there is one, only it is
    shown; per-speaker rows are shown only for a meeting that has no meeting summary."""
    names = names or {}
    rows = [s for s in summaries if (getattr(s, "markdown", "") or "").strip()]
    meeting = [s for s in rows if getattr(s, "kind", "") == "meeting"]
    rows = meeting[-1:] if meeting else rows
    parts, stale = [], 0
    for s in rows:
        md = s.markdown.strip()
        is_stale = bool(getattr(s, "stale", False))
        stale += is_stale
        sid = getattr(s, "speaker_id", None)
        who = names.get(sid) if sid is not None else None
        head = f"### {who or getattr(s, 'speaker_name', None) or ''}".rstrip() if sid is not None else ""
        parts.append("\n\n".join(p for p in (head if head != "###" else "", md) if p))
    md = "\n\n---\n\n".join(parts)
    if stale:
        md = "**⚠ stale** — the transcript changed after this summary was written: Regenerate to update it.\n\n" + md
    return md, stale


class SummariesPanel(QWidget):
    timeLinkClicked = Signal(float)  # seconds: a [mm:ss] reference was clicked
    changed = Signal()  # a new summary was stored

    def __init__(self, parent=None, *, runner=None):
        super().__init__(parent)
        self._runner = runner
        self._store = None
        self._meeting_id: int | None = None
        self.cloud_enabled = lambda: False  # the window wires this to the settings
        self.title = QLabel("<b>Summaries</b>")
        self.badge = QLabel()
        self.badge.setStyleSheet("QLabel { background:#fff1cc; color:#9a5b00; border-radius:4px; padding:2px 6px; }")
        self.badge.hide()
        self.generate_button = QPushButton("Summarize")
        self.generate_button.clicked.connect(self.generate)
        self.generate_button.setEnabled(False)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setFixedHeight(8)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color:#666; font-size:11px;")
        self.status.hide()
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.anchorClicked.connect(self._on_link)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.badge)
        head.addStretch(1)
        head.addWidget(self.generate_button)
        lay.addLayout(head)
        lay.addWidget(self.busy)
        lay.addWidget(self.status)
        lay.addWidget(self.view, 1)

    # ------------------------------------------------------------ showing
    def load(self, store, meeting_id: int) -> None:
        self._store, self._meeting_id = store, meeting_id
        self.generate_button.setEnabled(hasattr(store, "path") and not self._running())
        fetch = getattr(store, "summaries", None)
        if fetch is None:
            self._show("", 0, "Summaries are not available in this build.")
            return
        try:
            names = {spk.id: spk.name for spk in store.speakers(meeting_id)} if hasattr(store, "speakers") else {}
            md, stale = summaries_markdown(fetch(meeting_id), names)
        except Exception as exc:  # summaries are optional: never break the transcript for them
            self._show("", 0, f"Summaries could not be read: {exc}")
            return
        self.generate_button.setText("Regenerate" if md else "Summarize")
        self._show(md, stale, "No summaries yet: press Summarize (offline unless cloud summaries are on in Settings).")

    def _show(self, md: str, stale: int, empty: str) -> None:
        self.badge.setVisible(stale > 0)
        self.badge.setText("⚠ stale")
        self.badge.setToolTip("The transcript was corrected after this summary was written: Regenerate to update it.")
        if md:
            self.view.setMarkdown(link_times(md))
        else:
            self.view.setHtml(f"<p style='color:#777'>{empty}</p>")

    def _on_link(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("t:"):
            self.timeLinkClicked.emit(float(text[2:]))

    # ------------------------------------------------------------ generating
    @property
    def runner(self):
        if self._runner is None:
            from desktop.summary_worker import SummaryRunner

            self._runner = SummaryRunner(self)
            w = self._runner.worker
            w.progress.connect(self._on_progress)
            w.notice.connect(self._on_notice)
            w.finished.connect(self._on_finished)
            w.failed.connect(self._on_failed)
            w.estimated.connect(self._on_estimated)
        return self._runner

    def _running(self) -> bool:
        return self._runner is not None and self._runner.busy

    def generate(self) -> None:
        """Offline straight away; a cloud run (enabled in Settings) asks with its cost estimate first."""
        if self._store is None or self._meeting_id is None:
            return
        self._busy("Estimating the cost of a cloud summary…" if self.cloud_enabled() else "Writing the offline summary…")
        if self.cloud_enabled():
            self.runner.estimate(str(self._store.path), self._meeting_id)
        else:
            self.runner.run(str(self._store.path), self._meeting_id, True)

    def _on_estimated(self, meeting_id: int, line: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Cloud summary",
                          f"Send this meeting's transcript text (speaker names pseudonymized) to Anthropic?\n\n{line}",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText("Send")
        box.button(QMessageBox.StandardButton.No).setText("Offline instead")
        self.question = box

        def answer(button):
            local = box.standardButton(button) != QMessageBox.StandardButton.Yes
            self._busy("Writing the offline summary…" if local else "Writing the cloud summary…")
            self.runner.run(str(self._store.path), meeting_id, local)

        box.buttonClicked.connect(answer)
        box.open()

    def _busy(self, text: str) -> None:
        self.generate_button.setEnabled(False)
        self.busy.show()
        self.status.setText(text)
        self.status.show()

    def _on_progress(self, text: str) -> None:
        self.status.setText(text)

    def _on_notice(self, text: str) -> None:
        self.status.setText(text)

    def _done(self, text: str) -> None:
        self.busy.hide()
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self.generate_button.setEnabled(True)

    def _on_finished(self, meeting_id: int) -> None:
        note = self.status.text() if self.status.text().startswith(("local summary", "cloud summary failed")) else ""
        self._done(note)
        if meeting_id == self._meeting_id and self._store is not None:
            self.load(self._store, meeting_id)
        self.changed.emit()

    def _on_failed(self, message: str) -> None:
        self._done(f"Summary failed: {message}")

    def shutdown(self) -> None:
        if self._runner is not None:
            self._runner.shutdown()
