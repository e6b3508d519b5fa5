"""Per-speaker summaries of the open meeting (written by ``summaries/``): shown as Markdown,
with a "stale" badge when the transcript changed after a summary was made."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

__all__ = ["SummariesPanel", "summaries_markdown"]


def summaries_markdown(summaries, names: dict[int, str] | None = None) -> tuple[str, int]:
    """(markdown for all summaries, how many are stale). Qt-free. ``names``: speaker id → name."""
    names = names or {}
    parts, stale = [], 0
    for s in summaries:
        md = (getattr(s, "markdown", "") or "").strip()
        if not md:
            continue
        is_stale = bool(getattr(s, "stale", False))
        stale += is_stale
        sid = getattr(s, "speaker_id", None)
        who = names.get(sid) if sid is not None else None
        who = who or getattr(s, "speaker_name", None) or (getattr(s, "kind", "") or "").replace("_", " ").capitalize()
        head = f"### {who}" if who else ""
        badge = "**⚠ stale** — the transcript changed after this summary was written.\n\n" if is_stale else ""
        parts.append("\n\n".join(p for p in (head, badge + md) if p))
    return "\n\n---\n\n".join(parts), stale


class SummariesPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("<b>Summaries</b>")
        self.badge = QLabel()
        self.badge.setStyleSheet("QLabel { background:#fff1cc; color:#9a5b00; border-radius:4px; padding:2px 6px; }")
        self.badge.hide()
        self.view = QTextBrowser()
        self.view.setOpenExternalLinks(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.badge)
        head.addStretch(1)
        lay.addLayout(head)
        lay.addWidget(self.view, 1)

    def load(self, store, meeting_id: int) -> None:
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
        self._show(md, stale, f"No summaries yet. Run <code>parley summarize {meeting_id}</code> to write them.")

    def _show(self, md: str, stale: int, empty: str) -> None:
        self.badge.setVisible(stale > 0)
        self.badge.setText(f"⚠ stale ({stale})" if stale > 1 else "⚠ stale")
        self.badge.setToolTip("The transcript was corrected after these summaries were written.")
        if md:
            self.view.setMarkdown(md)
        else:
            self.view.setHtml(f"<p style='color:#777'>{empty}</p>")
