"""The transcript as one rich-text document: a header line and a paragraph per turn, each word
its own hit-testable fragment. Highlights (current turn, playing word, selected word) are
extra selections, so moving them never rebuilds the document."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextBrowser, QTextEdit

from desktop.logic import flag_text, fmt_clock, speaker_colour

__all__ = ["TranscriptLayout", "TranscriptBrowser"]

FLAG_BG = QColor("#fff1cc")
CURRENT_BG = QColor("#dbe8fb")
PLAYING_BG = QColor("#ffd54f")
SELECTED_BG = QColor("#9cc4ff")
LOW_PROB = 0.4


@dataclass
class TranscriptLayout:
    """Where each turn and word sits in the document (character positions) and when it is spoken."""

    turn_spans: list[tuple[int, int]] = field(default_factory=list)
    word_spans: list[list[tuple[int, int]]] = field(default_factory=list)
    # flat, in document order, for hit-testing by position and lookup by time
    word_pos: list[int] = field(default_factory=list)
    word_ref: list[tuple[int, int]] = field(default_factory=list)  # (turn index, word index)
    turn_starts: list[float] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)

    def word_at_position(self, pos: int) -> tuple[int, int] | None:
        i = bisect.bisect_right(self.word_pos, pos) - 1
        if i < 0:
            return None
        t, w = self.word_ref[i]
        a, b = self.word_spans[t][w]
        return (t, w) if a <= pos <= b else None

    def turn_at_position(self, pos: int) -> int | None:
        i = bisect.bisect_right([a for a, _ in self.turn_spans], pos) - 1
        return i if i >= 0 and pos <= self.turn_spans[i][1] else None


def _fmt(colour: str | QColor = "#222222", bold: bool = False, size: float | None = None) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(colour))
    if bold:
        f.setFontWeight(QFont.Weight.DemiBold)
    if size:
        f.setFontPointSize(size)
    return f


def build_document(browser: QTextEdit, turns: Sequence, speaker_ids: Sequence[int]) -> TranscriptLayout:
    """Fill ``browser`` with ``turns`` (store turns with words); return where everything went."""
    doc = browser.document()
    doc.clear()
    doc.setDocumentMargin(14)
    base = browser.font().pointSizeF()
    small = max(base - 1, 7)
    cur = QTextCursor(doc)
    lay = TranscriptLayout()
    cur.beginEditBlock()
    for ti, turn in enumerate(turns):
        flagged = bool(turn.flags) and not turn.reviewed
        head = QTextBlockFormat()
        head.setTopMargin(0 if ti == 0 else 10)
        head.setBottomMargin(0)
        body = QTextBlockFormat()
        body.setBottomMargin(2)
        if flagged:
            head.setBackground(FLAG_BG)
            body.setBackground(FLAG_BG)
        if ti:
            cur.insertBlock(head)
        else:
            cur.setBlockFormat(head)
        start = cur.position()
        colour = speaker_colour(speaker_ids, turn.speaker_id)
        cur.insertText(f"{turn.speaker_name}", _fmt(colour, bold=True))
        cur.insertText(f"   {fmt_clock(turn.start)}", _fmt("#6b6b6b", size=small))
        cur.insertText(f"   {turn.confidence:.0%}", _fmt("#6b6b6b", size=small))
        if turn.overlapped:
            cur.insertText("   overlapped", _fmt("#6b6b6b", size=small))
        if flagged:
            cur.insertText(f"   ⚑ {flag_text(turn.flags)}", _fmt("#9a5b00", bold=True, size=small))
        elif turn.reviewed:
            cur.insertText("   ✓ reviewed", _fmt("#2e7d32", size=small))
        cur.insertBlock(body)
        spans: list[tuple[int, int]] = []
        if turn.words:
            for wi, word in enumerate(turn.words):
                text = word.text.strip()
                if wi:
                    cur.insertText(" ", _fmt())
                f = _fmt()
                f.setAnchor(True)
                f.setAnchorHref(f"w:{ti}:{wi}")
                if word.probability < LOW_PROB:
                    f.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
                    f.setUnderlineColor(QColor("#e08a00"))
                a = cur.position()
                cur.insertText(text or "·", f)
                spans.append((a, cur.position()))
                lay.word_pos.append(a)
                lay.word_ref.append((ti, wi))
        else:
            cur.insertText(turn.text, _fmt())
        lay.turn_spans.append((start, cur.position()))
        lay.word_spans.append(spans)
        lay.turn_starts.append(turn.start)
        lay.flagged.append(flagged)
    cur.endEditBlock()
    return lay


def _selection(doc_cursor: QTextCursor, a: int, b: int, colour: QColor) -> QTextEdit.ExtraSelection:
    sel = QTextEdit.ExtraSelection()
    c = QTextCursor(doc_cursor)
    c.setPosition(a)
    c.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
    sel.cursor = c
    sel.format = QTextCharFormat()
    sel.format.setBackground(colour)
    return sel


class TranscriptBrowser(QTextBrowser):
    """Shows the document; reports clicks on words; draws the three highlights."""

    wordClicked = Signal(int, int)  # turn index, word index
    turnClicked = Signal(int)  # clicked outside any word

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the transcript page
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.layout_info = TranscriptLayout()
        self._current: int | None = None
        self._playing: tuple[int, int] | None = None
        self._selected: tuple[int, int] | None = None

    def set_turns(self, turns: Sequence, speaker_ids: Sequence[int]) -> None:
        bar = self.verticalScrollBar().value()
        self.layout_info = build_document(self, turns, speaker_ids)
        self._current = self._playing = self._selected = None
        self.verticalScrollBar().setValue(bar)

    def set_highlights(self, current: int | None, playing: tuple[int, int] | None, selected: tuple[int, int] | None) -> None:
        if (current, playing, selected) == (self._current, self._playing, self._selected):
            return
        if current != self._current:
            self._paint_turn(self._current, False)
            self._paint_turn(current, True)
        self._current, self._playing, self._selected = current, playing, selected
        lay, c = self.layout_info, self.textCursor()
        sels = []
        for ref, colour in ((playing, PLAYING_BG), (selected, SELECTED_BG)):
            if ref is not None and ref[0] < len(lay.word_spans) and ref[1] < len(lay.word_spans[ref[0]]):
                sels.append(_selection(c, *lay.word_spans[ref[0]][ref[1]], colour))
        self.setExtraSelections(sels)

    def _paint_turn(self, index: int | None, current: bool) -> None:
        """Give a turn's blocks the current-turn background (or back their own)."""
        lay = self.layout_info
        if index is None or not 0 <= index < len(lay.turn_spans):
            return
        a, b = lay.turn_spans[index]
        doc = self.document()
        block = doc.findBlock(a)
        while block.isValid() and block.position() <= b:
            fmt = block.blockFormat()
            if current:
                fmt.setBackground(CURRENT_BG)
            elif lay.flagged[index]:
                fmt.setBackground(FLAG_BG)
            else:
                fmt.clearBackground()
            QTextCursor(block).setBlockFormat(fmt)
            block = block.next()

    def scroll_to_turn(self, index: int) -> None:
        if 0 <= index < len(self.layout_info.turn_spans):
            a, b = self.layout_info.turn_spans[index]
            c = QTextCursor(self.document())
            c.setPosition(b)
            self.setTextCursor(c)
            self.ensureCursorVisible()
            c.setPosition(a)
            self.setTextCursor(c)
            self.ensureCursorVisible()

    def hit(self, point: QPoint) -> tuple[int | None, tuple[int, int] | None]:
        """(turn index, (turn, word)) under a viewport point."""
        href = self.anchorAt(point)
        if href.startswith("w:"):
            _, t, w = href.split(":")
            return int(t), (int(t), int(w))
        return self.layout_info.turn_at_position(self.cursorForPosition(point).position()), None

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            turn, word = self.hit(event.position().toPoint())
            if word is not None:
                self.wordClicked.emit(*word)
                return
            if turn is not None:
                self.turnClicked.emit(turn)
                return
        super().mousePressEvent(event)
