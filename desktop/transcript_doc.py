"""The transcript as one rich-text document: a header line and a paragraph per turn, each word
its own hit-testable fragment. Highlights (current turn, playing word, selected word) are
extra selections, so moving them never rebuilds the document."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QApplication, QMenu, QTextBrowser, QTextEdit

from desktop.logic import flag_text, fmt_clock, speaker_colour
from desktop.patch import plan_patch

__all__ = ["TranscriptLayout", "TranscriptBrowser", "build_document", "replace_turns"]

FLAG_BG = QColor("#fff1cc")
CURRENT_BG = QColor("#dbe8fb")
PLAYING_BG = QColor("#ffd54f")
SELECTED_BG = QColor("#9cc4ff")
HIT_BG = QColor("#c8f0c8")
HIT_CURRENT_BG = QColor("#66cc66")
LOW_PROB = 0.4
#: more scattered changes than this (a rename of a speaker with many turns) redraw everything at once
MAX_PIECES = 200


@dataclass
class TranscriptLayout:
    """Where each turn and word sits in the document (character positions) and when it is spoken.

    Word positions are kept relative to their turn's start, so redrawing one turn only shifts
    the start positions of the turns after it."""

    turn_ids: list[int] = field(default_factory=list)
    turn_pos: list[int] = field(default_factory=list)  # start of the turn's header
    turn_end: list[int] = field(default_factory=list)  # end of its last word
    word_rel: list[list[tuple[int, int]]] = field(default_factory=list)  # per turn: word spans from turn_pos
    flagged: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.turn_pos)

    def turn_span(self, t: int) -> tuple[int, int]:
        return self.turn_pos[t], self.turn_end[t]

    def word_span(self, t: int, w: int) -> tuple[int, int] | None:
        if 0 <= t < len(self.word_rel) and 0 <= w < len(self.word_rel[t]):
            a, b = self.word_rel[t][w]
            return self.turn_pos[t] + a, self.turn_pos[t] + b
        return None

    @property
    def turn_spans(self) -> list[tuple[int, int]]:
        return list(zip(self.turn_pos, self.turn_end))

    @property
    def word_spans(self) -> list[list[tuple[int, int]]]:
        return [[(p + a, p + b) for a, b in rel] for p, rel in zip(self.turn_pos, self.word_rel)]

    def word_at_position(self, pos: int) -> tuple[int, int] | None:
        t = self.turn_at_position(pos)
        if t is None:
            return None
        rel = pos - self.turn_pos[t]
        spans = self.word_rel[t]
        i = bisect.bisect_right([a for a, _ in spans], rel) - 1
        return (t, i) if i >= 0 and spans[i][0] <= rel <= spans[i][1] else None

    def turn_at_position(self, pos: int) -> int | None:
        i = bisect.bisect_right(self.turn_pos, pos) - 1
        return i if i >= 0 and pos <= self.turn_end[i] else None

    def splice(self, lo: int, hi: int, part: "TranscriptLayout", delta: int) -> None:
        """Old turns ``[lo, hi)`` become ``part``'s (absolute positions); later turns move by ``delta``."""
        after = lo + len(part)
        self.turn_ids[lo:hi] = part.turn_ids
        self.turn_pos[lo:hi] = part.turn_pos
        self.turn_end[lo:hi] = part.turn_end
        self.word_rel[lo:hi] = part.word_rel
        self.flagged[lo:hi] = part.flagged
        if delta:
            self.turn_pos[after:] = [p + delta for p in self.turn_pos[after:]]
            self.turn_end[after:] = [p + delta for p in self.turn_end[after:]]


def _fmt(colour: str | QColor = "#222222", bold: bool = False, size: float | None = None) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(colour))
    if bold:
        f.setFontWeight(QFont.Weight.DemiBold)
    if size:
        f.setFontPointSize(size)
    return f


def _write_turns(cur: QTextCursor, turns: Sequence, first_index: int, speaker_ids: Sequence[int], small: float) -> TranscriptLayout:
    """Write ``turns`` at the cursor: the first into the cursor's (empty) block, each later one
    after a new block. ``first_index``: the first turn's place in the meeting (its top margin)."""
    lay = TranscriptLayout()
    for k, turn in enumerate(turns):
        ti = first_index + k
        flagged = bool(turn.flags) and not turn.reviewed
        head = QTextBlockFormat()
        head.setTopMargin(0 if ti == 0 else 10)
        head.setBottomMargin(0)
        body = QTextBlockFormat()
        body.setBottomMargin(2)
        if flagged:
            head.setBackground(FLAG_BG)
            body.setBackground(FLAG_BG)
        if k:
            cur.insertBlock(head, _fmt())
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
        cur.insertBlock(body, _fmt())
        spans: list[tuple[int, int]] = []
        if turn.words:
            plain, weak = _fmt(), _fmt()
            weak.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            weak.setUnderlineColor(QColor("#e08a00"))
            for wi, word in enumerate(turn.words):
                if wi:
                    cur.insertText(" ", plain)
                a = cur.position()
                cur.insertText(word.text.strip() or "·", weak if word.probability < LOW_PROB else plain)
                spans.append((a - start, cur.position() - start))
        else:
            cur.insertText(turn.text, _fmt())
        lay.turn_ids.append(turn.id)
        lay.turn_pos.append(start)
        lay.turn_end.append(cur.position())
        lay.word_rel.append(spans)
        lay.flagged.append(flagged)
    return lay


def build_document(browser: QTextEdit, turns: Sequence, speaker_ids: Sequence[int]) -> TranscriptLayout:
    """Fill ``browser`` with ``turns`` (store turns with words); return where everything went."""
    doc = browser.document()
    doc.clear()
    doc.setDocumentMargin(14)
    cur = QTextCursor(doc)
    cur.beginEditBlock()
    lay = _write_turns(cur, turns, 0, speaker_ids, _small(browser))
    cur.endEditBlock()
    return lay


def _small(browser: QTextEdit) -> float:
    return max(browser.font().pointSizeF() - 1, 7)


def replace_turns(browser: QTextEdit, lay: TranscriptLayout, lo: int, hi: int, turns: Sequence, speaker_ids: Sequence[int]) -> None:
    """Redraw old turns ``[lo, hi)`` as ``turns`` (at least one each side), in place."""
    a, b = lay.turn_pos[lo], lay.turn_end[hi - 1]
    cur = QTextCursor(browser.document())
    cur.beginEditBlock()
    cur.setPosition(a)
    cur.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
    cur.removeSelectedText()
    part = _write_turns(cur, turns, lo, speaker_ids, _small(browser))
    cur.endEditBlock()
    lay.splice(lo, hi, part, part.turn_end[-1] - b)


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
    """Shows the document; reports clicks on words; draws the highlights (current turn, playing
    word, selected word, search hits). Words are plain text found by position, not links, so
    the context menu offers what a reader wants (copy, edit the word), never a link location."""

    wordClicked = Signal(int, int)  # turn index, word index
    turnClicked = Signal(int)  # clicked outside any word
    editWordRequested = Signal(int, int)  # turn index, word index (context menu)
    playFromRequested = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the transcript page
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_info = TranscriptLayout()
        self._current: int | None = None
        self._current_id: int | None = None
        self._playing: tuple[int, int] | None = None
        self._selected: tuple[int, int] | None = None
        self._hits: list[tuple[int, int]] = []  # search hits (document positions)
        self._hit: int | None = None  # the search hit that is current
        self._press = None

    def set_turns(self, turns: Sequence, speaker_ids: Sequence[int]) -> None:
        bar = self.verticalScrollBar().value()
        self.layout_info = build_document(self, turns, speaker_ids)
        self._current = self._current_id = self._playing = self._selected = None
        self._hits, self._hit = [], None
        self.verticalScrollBar().setValue(bar)

    def patch(self, old_ids: Sequence[int], turns: Sequence, dirty, speaker_ids: Sequence[int]) -> bool:
        """Redraw only the turns a correction changed (``dirty`` ids, new or gone included).
        Falls back to a full rebuild when that is simpler; returns True when it patched."""
        plan = plan_patch(old_ids, [t.id for t in turns], dirty)
        if plan is None or len(old_ids) != len(self.layout_info) or len(plan) > MAX_PIECES:
            self.set_turns(turns, speaker_ids)
            return False
        bar = self.verticalScrollBar().value()
        lay = self.layout_info
        was_dirty = self._current_id is None or self._current_id in dirty
        for r in plan:  # last first: earlier positions stay valid
            replace_turns(self, lay, r.old_lo, r.old_hi, turns[r.new_lo : r.new_hi], speaker_ids)
        if was_dirty:
            self._current = self._current_id = None
        else:  # the painted turn was not redrawn: follow it to its new place
            self._current = lay.turn_ids.index(self._current_id) if self._current_id in lay.turn_ids else None
        self._playing = self._selected = None
        self._hits, self._hit = [], None
        self.setExtraSelections([])
        self.verticalScrollBar().setValue(bar)
        return True

    def set_search_hits(self, hits: Sequence[tuple[int, int]], current: int | None) -> None:
        self._hits, self._hit = list(hits), current
        self._draw_selections()

    def set_highlights(self, current: int | None, playing: tuple[int, int] | None, selected: tuple[int, int] | None) -> None:
        if (current, playing, selected) == (self._current, self._playing, self._selected):
            return
        if current != self._current:
            self._paint_turn(self._current, False)
            self._paint_turn(current, True)
        lay = self.layout_info
        self._current, self._playing, self._selected = current, playing, selected
        self._current_id = lay.turn_ids[current] if current is not None and 0 <= current < len(lay) else None
        self._draw_selections()

    def _draw_selections(self) -> None:
        lay, c = self.layout_info, self.textCursor()
        sels = [_selection(c, a, b, HIT_BG if i != self._hit else HIT_CURRENT_BG) for i, (a, b) in enumerate(self._hits)]
        for ref, colour in ((self._playing, PLAYING_BG), (self._selected, SELECTED_BG)):
            span = lay.word_span(*ref) if ref is not None else None
            if span is not None:
                sels.append(_selection(c, *span, colour))
        self.setExtraSelections(sels)

    def _paint_turn(self, index: int | None, current: bool) -> None:
        """Give a turn's blocks the current-turn background (or back their own)."""
        lay = self.layout_info
        if index is None or not 0 <= index < len(lay):
            return
        a, b = lay.turn_span(index)
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
        if 0 <= index < len(self.layout_info):
            self.scroll_to_span(*self.layout_info.turn_span(index))

    def scroll_to_span(self, a: int, b: int) -> None:
        c = QTextCursor(self.document())
        c.setPosition(b)
        self.setTextCursor(c)
        self.ensureCursorVisible()
        c.setPosition(a)
        self.setTextCursor(c)
        self.ensureCursorVisible()

    def hit(self, point: QPoint) -> tuple[int | None, tuple[int, int] | None]:
        """(turn index, (turn, word)) under a viewport point."""
        pos = self.cursorForPosition(point).position()
        word = self.layout_info.word_at_position(pos)
        if word is not None and not self._on_text(point, pos):
            word = None  # beyond the end of a line: not on the word
        if word is not None:
            return word[0], word
        return self.layout_info.turn_at_position(pos), None

    def _on_text(self, point: QPoint, pos: int) -> bool:
        c = QTextCursor(self.document())
        c.setPosition(pos)
        r = self.cursorRect(c)
        return abs(point.x() - r.x()) < 4 * max(self.fontMetrics().averageCharWidth(), 4) and r.top() - 2 <= point.y() <= r.bottom() + 2

    def selected_text(self) -> str:
        """The text the user dragged over (paragraph breaks as new lines)."""
        return self.textCursor().selection().toPlainText()

    def mousePressEvent(self, event) -> None:
        self._press = event.position().toPoint() if event.button() == Qt.MouseButton.LeftButton else None
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return
        moved = (event.position().toPoint() - self._press).manhattanLength() > 4
        self._press = None
        if moved and self.textCursor().hasSelection():
            return  # a drag selects text (for copying), it does not move the review
        turn, word = self.hit(event.position().toPoint())
        if word is not None:
            self.wordClicked.emit(*word)
        elif turn is not None:
            self.turnClicked.emit(turn)

    def contextMenuEvent(self, event) -> None:
        menu = self.context_menu(event.pos())
        menu.exec(event.globalPos())

    def context_menu(self, point: QPoint) -> QMenu:
        """Copy (the selection, or the word or turn under the pointer), edit the word, play from it."""
        menu = QMenu(self)
        turn, word = self.hit(point)
        lay = self.layout_info
        if self.textCursor().hasSelection():
            menu.addAction("Copy", self.copy)
        if word is not None:
            span = lay.word_span(*word)
            text = self.document().toPlainText()[span[0] : span[1]] if span else ""
            menu.addAction(f"Copy “{text}”", lambda: QApplication.clipboard().setText(text))
            menu.addAction(f"Edit “{text}”…", lambda: self.editWordRequested.emit(*word))
            menu.addAction("Play from here", lambda: self.playFromRequested.emit(*word))
        if turn is not None:
            a, b = lay.turn_span(turn)
            turn_text = self._plain(a, b)
            menu.addAction("Copy turn", lambda: QApplication.clipboard().setText(turn_text))
        menu.addAction("Select all", self.selectAll)
        return menu

    def _plain(self, a: int, b: int) -> str:
        c = QTextCursor(self.document())
        c.setPosition(a)
        c.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        return c.selection().toPlainText()
