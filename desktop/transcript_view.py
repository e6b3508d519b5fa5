"""The transcript and correction view: turns with speaker colours, flags, confidence; audio
synced to the words; the whole correction loop on the keyboard. Logic lives in
:class:`~desktop.session.ReviewSession`; this widget wires keys, playback and drawing."""

from __future__ import annotations

import logging

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu,
    QMessageBox, QPushButton, QSplitter, QToolButton, QVBoxLayout, QWidget,
)

from desktop.dialogs import AddSpeakerDialog, EditWordDialog, FixSimilarDialog, MergeSpeakersDialog, PickSpeakerDialog, RenameDialog
from desktop.exporting import FILTERS, export_text, format_for, turns_as_text
from desktop.find_bar import FindBar
from desktop.logic import SPEEDS, WordClock, fmt_clock, fmt_date, speaker_colour, step_speed
from desktop.player import Player
from desktop.session import NeedsConfirmation, ReviewSession, SessionPatch, plural
from desktop.summaries_panel import SummariesPanel
from desktop.timeline import Timeline, talk_time
from desktop.transcript_doc import TranscriptBrowser
from meetings.errors import ParleyError

__all__ = ["TranscriptView", "KEYS_HELP"]

log = logging.getLogger(__name__)

KEYS_HELP = (
    "Space play/pause · N / Shift+N next/previous flagged · ↑ ↓ turn · ← → word · 1–9 give turn to speaker · "
    "0 new speaker · Enter or A accept · S split at word · M merge with previous · E edit word\n"
    "R rename speaker · Shift+R name and remember the voice · Y accept the suggested name · "
    "Ctrl+Shift+R reassign all of a speaker · Ctrl+Shift+M merge speakers · F fix similar · "
    "L loop turn · [ ] speed · Ctrl+F find · Ctrl+E export · Ctrl+Z / Ctrl+Shift+Z undo / redo"
)


class TranscriptView(QWidget):
    changed = Signal(int)  # meeting id: the store changed (library counts move)
    message = Signal(str)  # one line for the status bar
    rendered = Signal()  # the view shows the session as it is now (after a correction or an open)

    def __init__(self, store, parent=None, *, player: Player | None = None, teacher=None):
        super().__init__(parent)
        self.store = store
        self.session: ReviewSession | None = None
        self.player = player or Player(self)
        self.teacher = teacher
        self.dialog = None  # the open correction dialog, if any
        self.suggestions: list = []
        self._clock = WordClock([])
        self._playing_word: tuple[int, int] | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build()
        self._build_actions()
        self.player.positionChanged.connect(self._on_position)
        self.player.playingChanged.connect(self._on_playing)
        self.player.notice.connect(self.message)
        if teacher is not None:
            teacher.ready.connect(self._on_voices_ready)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.title = QLabel("No meeting open")
        self.title.setStyleSheet("font-size:17px; font-weight:600;")
        self.stats = QLabel()
        self.stats.setStyleSheet("color:#666;")
        self.warnings = QLabel()  # how the meeting was heard: damaged audio, recording gaps, "sounds like more"
        self.warnings.setObjectName("meetingWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("background:#fff4d6; color:#6b4e00; border:1px solid #e8cf86; border-radius:4px; padding:4px 8px;")
        self.warnings.hide()
        self.play_button = QPushButton("▶ Play")
        self.play_button.clicked.connect(self.player.toggle)
        self.time_label = QLabel("00:00 / 00:00")
        self.time_label.setMinimumWidth(110)
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.currentIndexChanged.connect(lambda i: self.player.set_rate(self.speed.itemData(i)))
        self.loop_button = QPushButton("⟲ Loop turn")
        self.loop_button.setCheckable(True)
        self.loop_button.toggled.connect(self._set_loop)
        self.fix_button = QPushButton()
        self.fix_button.setStyleSheet("QPushButton { background:#1f6fb2; color:white; padding:3px 10px; border-radius:4px; }")
        self.fix_button.clicked.connect(self.fix_similar)
        self.fix_button.hide()
        self.speakers_button = QToolButton()
        self.speakers_button.setText("Speakers")
        self.speakers_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        for w in (self.play_button, self.speed, self.loop_button, self.fix_button, self.speakers_button, self.export_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bar = QHBoxLayout()
        for w in (self.play_button, self.time_label, QLabel("Speed"), self.speed, self.loop_button):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.fix_button)
        bar.addWidget(self.speakers_button)
        bar.addWidget(self.export_button)

        self.timeline = Timeline()
        self.timeline.seekRequested.connect(self._seek_to_time)
        self.find_bar = FindBar()
        self.find_bar.hitChosen.connect(self._show_hit)
        self.find_bar.hitsChanged.connect(self._draw_hits)
        self.find_bar.closed.connect(self.setFocus)
        self.find_bar.notice.connect(self.message)
        self.find_box, self.find_label = self.find_bar.box, self.find_bar.label

        self.browser = TranscriptBrowser()
        self.browser.wordClicked.connect(self._on_word_clicked)
        self.browser.turnClicked.connect(self._on_turn_clicked)
        self.browser.editWordRequested.connect(self._edit_word_at)
        self.browser.playFromRequested.connect(self._play_from)
        self.legend = QListWidget()
        self.legend.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.legend.itemDoubleClicked.connect(lambda item: self.rename(item.data(Qt.ItemDataRole.UserRole)))
        self.summaries = SummariesPanel()
        self.summaries.timeLinkClicked.connect(self.go_to_time)
        self.summaries.changed.connect(lambda: self.changed.emit(self.session.meeting_id) if self.session else None)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("<b>Speakers</b>  <span style='color:#777'>(1–9 assign · 0 new)</span>"))
        self.legend.setMaximumHeight(200)
        sl.addWidget(self.legend, 1)
        sl.addSpacing(6)
        sl.addWidget(self.summaries, 3)
        split = QSplitter()
        split.addWidget(self.browser)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([860, 300])
        self.hint = QLabel(KEYS_HELP)
        self.hint.setStyleSheet("color:#777; font-size:11px;")
        self.hint.setWordWrap(True)  # the window stays resizable on a small screen
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 8)
        lay.addWidget(self.title)
        lay.addWidget(self.stats)
        lay.addWidget(self.warnings)
        lay.addLayout(bar)
        lay.addWidget(self.timeline)
        lay.addWidget(self.find_bar)
        lay.addWidget(split, 1)
        lay.addWidget(self.hint)

    def _build_actions(self) -> None:
        self.acts: dict[str, QAction] = {}
        table = [
            ("play", "Play / pause", ["Space"], self.player.toggle),
            ("next_flag", "Next flagged turn", ["N"], lambda: self._say(self.session.next_flag())),
            ("prev_flag", "Previous flagged turn", ["Shift+N"], lambda: self._say(self.session.next_flag(True))),
            ("next_turn", "Next turn", ["Down", "J"], lambda: self._move(1)),
            ("prev_turn", "Previous turn", ["Up", "K"], lambda: self._move(-1)),
            ("next_word", "Select next word", ["Right"], lambda: self._move_word(1)),
            ("prev_word", "Select previous word", ["Left"], lambda: self._move_word(-1)),
            ("accept", "Accept turn (mark reviewed)", ["Return", "Enter", "A"], lambda: self._correct(self.session.accept)),
            ("split", "Split turn at selected word", ["S"], lambda: self._correct(self.session.split)),
            ("merge_prev", "Merge with previous turn", ["M"], self.merge_previous),
            ("edit_word", "Edit selected word…", ["E", "F2"], lambda: self.edit_word()),
            ("add_speaker", "New speaker for this turn…", ["0"], self.add_speaker),
            ("rename", "Rename speaker…", ["R"], lambda: self.rename()),
            ("reassign_all", "Reassign all turns of this speaker…", ["Ctrl+Shift+R"], self.reassign_all),
            ("merge_speakers", "Merge speakers…", ["Ctrl+Shift+M"], self.merge_speakers),
            ("fix_similar", "Fix similar turns…", ["F"], self.fix_similar),
            ("loop", "Loop current turn", ["L"], self.loop_button.toggle),
            ("slower", "Slower", ["["], lambda: self._speed(-1)),
            ("faster", "Faster", ["]"], lambda: self._speed(1)),
            ("find_next", "Find next", ["F3"], lambda: self.find_bar.step(1)),
            ("find_prev", "Find previous", ["Shift+F3"], lambda: self.find_bar.step(-1)),
            ("copy", "Copy", ["Ctrl+C"], self.copy),
            ("export", "Export transcript…", ["Ctrl+E"], lambda: self.choose_export()),
            ("undo", "Undo correction", ["Ctrl+Z"], lambda: self._correct(self.session.undo)),
            ("redo", "Redo correction", ["Ctrl+Shift+Z", "Ctrl+Y"], lambda: self._correct(self.session.redo)),
        ]
        for n in range(1, 10):
            table.append((f"assign_{n}", f"Assign speaker {n}", [str(n)], lambda n=n: self._correct(lambda: self.session.assign(n))))
        for name, text, keys, slot in table:
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(k) for k in keys])
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, slot=slot, name=name: self._guarded(name, slot))
            self.addAction(act)
            self.acts[name] = act
        menu = QMenu(self)
        for name in ("add_speaker", "rename", "reassign_all", "merge_speakers", "fix_similar"):
            menu.addAction(self.acts[name])
        self.speakers_button.setMenu(menu)
        export_menu = QMenu(self)
        export_menu.addAction(self.acts["export"])
        export_menu.addSeparator()
        for fmt, label in FILTERS.items():
            export_menu.addAction(f"{label.split(' (')[0]} (.{fmt})…", lambda fmt=fmt: self._guarded("export", lambda: self.choose_export(fmt)))
        self.export_button.setMenu(export_menu)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for act in self.acts.values():
            act.setEnabled(on)
        self.export_button.setEnabled(on)

    # ------------------------------------------------------------------ meeting
    def open_meeting(self, meeting_id: int, turn_id: int | None = None) -> None:
        self.player.stop()
        self.loop_button.setChecked(False)
        self.session = ReviewSession(self.store, meeting_id)
        if turn_id is not None and self.session.index_of(turn_id) is not None:
            self.session.select(self.session.index_of(turn_id))
        m = self.session.meeting
        self.player.load(m.audio_path, m.duration)
        self._show_warnings(self.store.warnings(meeting_id))
        self.summaries.load(self.store, meeting_id)
        self._set_enabled(True)
        self.find_bar.reset()
        self._render(scroll=True)
        if self.session.turn is not None:
            self.player.seek(self.session.turn.start)
        self.setFocus()

    def close_meeting(self) -> None:
        """Show nothing (the open meeting was deleted)."""
        self.player.stop()
        self.player.load(None, 0.0)
        self.session = None
        self._set_enabled(False)
        self.browser.set_turns([], [])
        self.timeline.set_meeting([], [], 0.0)
        self.legend.clear()
        self.title.setText("No meeting open")
        self.stats.clear()
        self._show_warnings(())
        self.find_bar.reset()

    def _show_warnings(self, warnings) -> None:
        self.warnings.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warnings.setVisible(bool(warnings))

    def _render(self, scroll: bool = False) -> None:
        """Draw the whole meeting (on open, or when a patch cannot say what changed)."""
        s = self.session
        self.browser.set_turns(s.turns, s.speaker_ids)
        self._clock = WordClock(s.turns)
        self._after_change(scroll)

    def _refresh(self, patch: SessionPatch, old_turns: dict, old_speaker_ids: list[int], scroll: bool) -> None:
        """Redraw only what a correction changed."""
        s = self.session
        if patch.full:
            self._render(scroll)
            return
        dirty = set(patch.dirty)
        if s.speaker_ids != old_speaker_ids:  # colours follow the speakers' order: redraw those whose colour moved
            moved = {sid for sid in s.speaker_ids if speaker_colour(s.speaker_ids, sid) != speaker_colour(old_speaker_ids, sid)}
            dirty |= {t.id for t in s.turns if t.speaker_id in moved}
        self.browser.patch(patch.old_ids, s.turns, dirty, s.speaker_ids)
        gone = [old_turns[i] for i in dirty if i in old_turns]
        new = [s.turns[k] for i in dirty if (k := s.index_of(i)) is not None]
        self._clock.update(gone, new)
        self._after_change(scroll)

    def _after_change(self, scroll: bool) -> None:
        s = self.session
        m = s.meeting
        self.title.setText(m.title)
        self.stats.setText(f"{fmt_date(m.created_at)} · {fmt_clock(m.duration)} · {s.stats}")
        self.timeline.set_meeting(s.turns, s.speakers, m.duration)
        self._playing_word = None
        self.find_bar.refresh(s.turns, s.current)
        self._render_legend()
        self._update_highlights(scroll=scroll)
        self._refresh_suggestions()
        self.rendered.emit()

    def _render_legend(self) -> None:
        s = self.session
        self.legend.clear()
        counts = s.turn_counts()
        talk = talk_time(s.turns)
        for n, spk in enumerate(s.speakers, 1):
            k = counts.get(spk.id, 0)
            extra = f" · {fmt_clock(talk[spk.id])}" if spk.id in talk else ""
            item = QListWidgetItem(f"{n}   {spk.name}   ({plural(k, 'turn')}{extra})")
            item.setForeground(QColor(speaker_colour(s.speaker_ids, spk.id)))
            item.setData(Qt.ItemDataRole.UserRole, spk.id)
            item.setToolTip(f"{spk.name}: {plural(k, 'turn')}, talking for {fmt_clock(talk.get(spk.id, 0.0))}")
            self.legend.addItem(item)

    def _update_highlights(self, scroll: bool = False) -> None:
        s = self.session
        sel = (s.current, s.selected_word) if s.selected_word is not None else None
        self.browser.set_highlights(s.current if s.turns else None, self._playing_word, sel)
        self.timeline.set_current((s.turn.start, s.turn.end) if s.turn is not None else None)
        if scroll:
            self.browser.scroll_to_turn(s.current)
        if self.loop_button.isChecked():
            self._set_loop(True)

    # ------------------------------------------------------------ helpers
    def _say(self, text: str) -> None:
        self._update_highlights(scroll=True)
        if self.session.turn is not None and not self.player.playing:
            self.player.seek(self.session.turn.start)
        self.message.emit(text)

    def _guarded(self, name: str, slot) -> None:
        if self.session is None:
            return
        try:
            slot()
        except ParleyError as exc:
            self.message.emit(str(exc))
        except Exception as exc:  # a store failure must not take the window down
            log.exception("%s failed", name)
            self.message.emit(f"{name.replace('_', ' ')} failed: {exc}")

    def _correct(self, op) -> None:
        """Run one correction (it writes to the store), then redraw what it changed."""
        s = self.session
        before = s.turn.id if s.turn is not None else None
        old_turns = {t.id: t for t in s.turns}
        old_speakers = s.speaker_ids
        s.last_patch = SessionPatch(False, tuple(old_turns), frozenset())  # what a correction that changes nothing leaves
        text = op()
        self._refresh(s.last_patch, old_turns, old_speakers, scroll=True)
        if s.turn is not None and s.turn.id != before and not self.player.playing:
            self.player.seek(s.turn.start)  # Space now plays the turn in view, not the one before
        self.summaries.load(self.store, s.meeting_id)  # corrections make summaries stale
        self.changed.emit(s.meeting_id)
        self.message.emit(text)

    def _move(self, delta: int) -> None:
        self.session.step(delta)
        self._say(f"Turn {self.session.current + 1} of {len(self.session.turns)}")

    def _move_word(self, delta: int) -> None:
        s = self.session
        if s.turn is None or not s.turn.words:
            return
        w = s.selected_word
        w = (0 if delta > 0 else len(s.turn.words) - 1) if w is None else min(max(w + delta, 0), len(s.turn.words) - 1)
        s.selected_word = w
        self._update_highlights()
        self.player.seek(s.turn.words[w].start)

    def _speed(self, direction: int) -> None:
        self.speed.setCurrentIndex(SPEEDS.index(step_speed(self.player.rate, direction)))
        self.message.emit(f"Playback speed {self.player.rate:g}×")

    def _set_loop(self, on: bool) -> None:
        turn = self.session.turn if self.session else None
        self.player.set_loop((turn.start, max(turn.end, turn.start + 0.2)) if on and turn else None)

    def go_to_time(self, seconds: float) -> None:
        """Show the turn that starts at ``seconds`` (a summary's [mm:ss] link: whole seconds)."""
        s = self.session
        if s is None or not s.turns:
            return
        best = min(s.turns, key=lambda t: (abs(int(t.start) - seconds), t.start))
        self.go_to_turn(best.id)

    def go_to_turn(self, turn_id: int) -> None:
        """Show a turn (a summary's [mm:ss] link, a search hit)."""
        if self.session is None:
            return
        i = self.session.index_of(turn_id)
        if i is None:
            self.message.emit("That turn is no longer in the transcript (it was merged or split).")
            return
        self.session.select(i)
        self._say(f"Turn at {fmt_clock(self.session.turn.start)} ({self.session.turn.speaker_name})")
        self.setFocus()

    # ------------------------------------------------------------ playback
    def _on_playing(self, playing: bool) -> None:
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")

    def _on_position(self, t: float) -> None:
        if self.session is None:
            return
        s = self.session
        self.time_label.setText(f"{fmt_clock(t)} / {fmt_clock(s.meeting.duration)}")
        self.timeline.set_position(t)
        hit = self._clock.at(t, prefer_turn=s.turn.id if s.turn is not None else None)
        index = s.index_of(hit[0]) if hit is not None else None
        word = (index, hit[1]) if index is not None else None
        scroll = False
        if self.player.playing and word is not None and word[0] != s.current and not self.loop_button.isChecked():
            s.select(word[0])  # the current turn follows the audio
            scroll = True
        if word != self._playing_word or scroll:
            self._playing_word = word
            self._update_highlights(scroll=scroll)

    def _seek_to_time(self, t: float) -> None:
        if self.session is None:
            return
        self.player.seek(t)
        hit = self._clock.at(t)
        if hit is not None and not self.player.playing:
            i = self.session.index_of(hit[0])
            if i is not None and i != self.session.current:
                self.session.select(i)
                self._update_highlights(scroll=True)
        self.setFocus()

    def _on_word_clicked(self, turn: int, word: int) -> None:
        self.session.select(turn, word)
        self.player.seek(self.session.turn.words[word].start)
        self._playing_word = (turn, word)  # a zero-length word is marked too, not the word after it
        self._update_highlights()
        self.setFocus()

    def _on_turn_clicked(self, turn: int) -> None:
        self.session.select(turn)
        self.player.seek(self.session.turn.start)
        self._update_highlights()
        self.setFocus()

    def _play_from(self, turn: int, word: int) -> None:
        self._on_word_clicked(turn, word)
        self.player.play()

    # ------------------------------------------------------------ find (Ctrl+F)
    def open_find(self) -> None:
        if self.session is not None:
            self.find_bar.open(self.session.turns, self.session.current)

    def _show_hit(self, t: int, w0: int, w1: int) -> None:
        self.session.select(t, w0)
        self._update_highlights()
        a = self.browser.layout_info.word_span(t, w0)
        b = self.browser.layout_info.word_span(t, w1 - 1)
        if a and b:
            self.browser.scroll_to_span(a[0], b[1])
        if not self.player.playing:
            self.player.seek(self.session.turn.words[w0].start)

    def _draw_hits(self) -> None:
        self.browser.set_search_hits(self.find_bar.spans(self.browser.layout_info), self.find_bar.current)

    # ------------------------------------------------------------ copy / export
    def copy(self) -> None:
        """The selected text, else the current turn as ``[mm:ss] Name: text``."""
        text = self.browser.selected_text() if self.browser.textCursor().hasSelection() else ""
        if not text and self.session.turn is not None:
            text = turns_as_text([self.session.turn])
        if text:
            QApplication.clipboard().setText(text)
            self.message.emit("Copied.")

    def choose_export(self, fmt: str = "txt") -> QFileDialog:
        m = self.session.meeting
        dialog = QFileDialog(self, "Export transcript", str(Path.home() / f"{m.title}.{fmt}"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        filters = [FILTERS[fmt], *(f for k, f in FILTERS.items() if k != fmt)]
        dialog.setNameFilters(filters)
        dialog.setDefaultSuffix(fmt)
        self.dialog = dialog
        dialog.fileSelected.connect(lambda path: self._guarded("export", lambda: self.export_to(path, format_for(path, dialog.selectedNameFilter()))))
        dialog.open()
        return dialog

    def export_to(self, path: str, fmt: str) -> None:
        from meetings.files import write_private

        text = export_text(self.store, self.session.meeting_id, fmt)
        try:
            write_private(path, text)  # user-only, like the database and `parley export`
        except OSError as exc:
            raise ParleyError(f"Could not write {path}: {exc.strerror or exc}") from exc
        self.message.emit(f"Exported {fmt.upper()} to {path}")

    # ------------------------------------------------------------ dialogs
    def _open(self, dialog, on_accept) -> None:
        self.dialog = dialog

        def done():
            self._guarded("correction", lambda: on_accept(dialog))

        dialog.accepted.connect(done)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None) if self.dialog is dialog else None)
        dialog.open()

    def merge_previous(self) -> None:
        s = self.session
        try:
            self._correct(s.merge_previous)
        except NeedsConfirmation as ask:
            box = QMessageBox(QMessageBox.Icon.Question, "Merge two speakers' turns?", str(ask),
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
            box.button(QMessageBox.StandardButton.Yes).setText("Merge")
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            self.dialog = box
            box.accepted.connect(lambda: self._guarded("merge_prev", lambda: self._correct(lambda: s.merge_previous(confirmed=True))))
            box.finished.connect(lambda _r: setattr(self, "dialog", None) if self.dialog is box else None)
            box.open()
            self.message.emit("These turns are two speakers': confirm the merge, or press Esc.")

    def edit_word(self, word: int | None = None) -> None:
        s = self.session
        w = s.selected_word if word is None else word
        if s.turn is None or w is None or not 0 <= w < len(s.turn.words):
            raise ParleyError("Click the word to fix (or move to it with ← →), then press E.")
        words = s.turn.words
        context = " ".join(x.text.strip() for x in words[max(0, w - 4) : w + 5])
        self._open(EditWordDialog(words[w].text.strip(), context, self), lambda d: self._correct(lambda: s.edit_word(w, d.text)))

    def _edit_word_at(self, turn: int, word: int) -> None:
        self.session.select(turn, word)
        self._update_highlights()
        self._guarded("edit_word", lambda: self.edit_word(word))

    def add_speaker(self) -> None:
        s = self.session
        turn = s.turn
        default = f"Speaker {len(s.speakers) + 1}"
        while any(x.name == default for x in s.speakers):
            default += "′"

        def done(d):
            self._correct(lambda: s.add_speaker(d.name, give_current=d.give.isChecked()))

        self._open(AddSpeakerDialog(default, fmt_clock(turn.start) if turn is not None else None, self), done)

    def rename(self, speaker_id: int | None = None) -> None:
        s = self.session
        spk = s.speaker(speaker_id if speaker_id is not None else s.turn.speaker_id) if s and s.turns else None
        if spk is not None:
            self._open(RenameDialog(spk, self), lambda d: self._correct(lambda: s.rename(spk.id, d.name)))

    def reassign_all(self) -> None:
        s = self.session
        if s.turn is None or len(s.speakers) < 2:
            raise ParleyError("Reassigning needs at least two speakers.")
        spk = s.speaker(s.turn.speaker_id)
        self._open(PickSpeakerDialog(s.speakers, spk, self),
                   lambda d: self._correct(lambda: s.reassign_all(spk.id, d.to_speaker_id)))

    def merge_speakers(self) -> None:
        s = self.session
        if len(s.speakers) < 2:
            raise ParleyError("This meeting has only one speaker.")
        drop = s.turn.speaker_id if s.turn else None
        self._open(MergeSpeakersDialog(s.speakers, drop, self),
                   lambda d: self._correct(lambda: s.merge_speakers(d.keep_id, d.drop_id)))

    # ------------------------------------------------------------ teaching
    def _refresh_suggestions(self) -> None:
        s = self.session
        self.suggestions = []
        if self.teacher is not None and s.turns:
            self.teacher.ensure(s.meeting_id, s.meeting.audio_path, s.turns)
            trusted = s.trusted()
            if trusted:
                self.suggestions = self.teacher.suggest(s.meeting_id, s.turns, trusted)
        n = len(self.suggestions)
        self.fix_button.setText(f"Fix {n} similar turn{'s' if n != 1 else ''}…")
        self.fix_button.setVisible(n > 0)

    def _on_voices_ready(self, meeting_id: int) -> None:
        if self.session is not None and meeting_id == self.session.meeting_id:
            self._refresh_suggestions()

    def fix_similar(self) -> None:
        s = self.session
        if not self.suggestions:
            raise ParleyError("No similar turns to fix yet: correct or accept a few turns first.")
        names = {spk.id: spk.name for spk in s.speakers}
        turns = {t.id: t for t in s.turns}
        self._open(FixSimilarDialog(self.suggestions, turns, names, self),
                   lambda d: self._correct(lambda: s.apply_fixes(d.chosen())))
