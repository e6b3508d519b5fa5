"""The transcript and correction view: turns with speaker colours, flags, confidence; audio
synced to the words; the whole correction loop on the keyboard. Logic lives in
:class:`~desktop.session.ReviewSession`; this widget wires keys, playback and drawing."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QPushButton, QSplitter,
    QToolButton, QVBoxLayout, QWidget,
)

from desktop.dialogs import FixSimilarDialog, MergeSpeakersDialog, PickSpeakerDialog, RenameDialog
from desktop.logic import SPEEDS, WordClock, fmt_clock, fmt_date, speaker_colour, step_speed
from desktop.player import Player
from desktop.session import ReviewSession
from desktop.summaries_panel import SummariesPanel
from desktop.transcript_doc import TranscriptBrowser
from meetings.errors import ParleyError

__all__ = ["TranscriptView", "KEYS_HELP"]

log = logging.getLogger(__name__)

KEYS_HELP = (
    "Space play/pause · N / Shift+N next/previous flagged · ↑ ↓ turn · ← → word · 1–9 give turn to speaker · "
    "Enter or A accept · S split at word · M merge with previous\n"
    "R rename speaker · Ctrl+Shift+R reassign all of a speaker · Ctrl+Shift+M merge speakers · F fix similar · "
    "L loop turn · [ ] speed · Ctrl+Z undo · Ctrl+Shift+Z redo"
)


class TranscriptView(QWidget):
    changed = Signal(int)  # meeting id: the store changed (library counts move)
    message = Signal(str)  # one line for the status bar

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
        self.player.playingChanged.connect(lambda p: self.play_button.setText("❚❚ Pause" if p else "▶ Play"))
        self.player.notice.connect(self.message)
        if teacher is not None:
            teacher.ready.connect(self._on_voices_ready)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.title = QLabel("No meeting open")
        self.title.setStyleSheet("font-size:17px; font-weight:600;")
        self.stats = QLabel()
        self.stats.setStyleSheet("color:#666;")
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
        for w in (self.play_button, self.speed, self.loop_button, self.fix_button, self.speakers_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bar = QHBoxLayout()
        for w in (self.play_button, self.time_label, QLabel("Speed"), self.speed, self.loop_button):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.fix_button)
        bar.addWidget(self.speakers_button)

        self.browser = TranscriptBrowser()
        self.browser.wordClicked.connect(self._on_word_clicked)
        self.browser.turnClicked.connect(self._on_turn_clicked)
        self.legend = QListWidget()
        self.legend.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.legend.itemDoubleClicked.connect(lambda item: self.rename(item.data(Qt.ItemDataRole.UserRole)))
        self.summaries = SummariesPanel()
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("<b>Speakers</b>  <span style='color:#777'>(press 1–9 to assign)</span>"))
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
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 8)
        lay.addWidget(self.title)
        lay.addWidget(self.stats)
        lay.addLayout(bar)
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
            ("merge_prev", "Merge with previous turn", ["M"], lambda: self._correct(self.session.merge_previous)),
            ("rename", "Rename speaker…", ["R"], lambda: self.rename()),
            ("reassign_all", "Reassign all turns of this speaker…", ["Ctrl+Shift+R"], self.reassign_all),
            ("merge_speakers", "Merge speakers…", ["Ctrl+Shift+M"], self.merge_speakers),
            ("fix_similar", "Fix similar turns…", ["F"], self.fix_similar),
            ("loop", "Loop current turn", ["L"], self.loop_button.toggle),
            ("slower", "Slower", ["["], lambda: self._speed(-1)),
            ("faster", "Faster", ["]"], lambda: self._speed(1)),
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
        for name in ("rename", "reassign_all", "merge_speakers", "fix_similar"):
            menu.addAction(self.acts[name])
        self.speakers_button.setMenu(menu)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for act in self.acts.values():
            act.setEnabled(on)

    # ------------------------------------------------------------------ meeting
    def open_meeting(self, meeting_id: int, turn_id: int | None = None) -> None:
        self.player.stop()
        self.loop_button.setChecked(False)
        self.session = ReviewSession(self.store, meeting_id)
        if turn_id is not None and self.session.index_of(turn_id) is not None:
            self.session.select(self.session.index_of(turn_id))
        m = self.session.meeting
        self.player.load(m.audio_path, m.duration)
        self.summaries.load(self.store, meeting_id)
        self._set_enabled(True)
        self._render(scroll=True)
        if self.session.turn is not None:
            self.player.seek(self.session.turn.start)
        self.setFocus()

    def _render(self, scroll: bool = False) -> None:
        s = self.session
        m = s.meeting
        self.title.setText(m.title)
        self.stats.setText(f"{fmt_date(m.created_at)} · {fmt_clock(m.duration)} · {s.stats}")
        self.browser.set_turns(s.turns, s.speaker_ids)
        self._clock = WordClock(s.turns)
        self._playing_word = None
        self._render_legend()
        self._update_highlights(scroll=scroll)
        self._refresh_suggestions()

    def _render_legend(self) -> None:
        s = self.session
        self.legend.clear()
        counts = {sid: 0 for sid in s.speaker_ids}
        for t in s.turns:
            counts[t.speaker_id] = counts.get(t.speaker_id, 0) + 1
        for n, spk in enumerate(s.speakers, 1):
            item = QListWidgetItem(f"{n}   {spk.name}   ({counts.get(spk.id, 0)} turns)")
            item.setForeground(QColor(speaker_colour(s.speaker_ids, spk.id)))
            item.setData(Qt.ItemDataRole.UserRole, spk.id)
            self.legend.addItem(item)

    def _update_highlights(self, scroll: bool = False) -> None:
        s = self.session
        sel = (s.current, s.selected_word) if s.selected_word is not None else None
        self.browser.set_highlights(s.current if s.turns else None, self._playing_word, sel)
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
        """Run one correction (it writes to the store), then redraw from the store."""
        text = op()
        self._render(scroll=True)
        self.summaries.load(self.store, self.session.meeting_id)  # corrections make summaries stale
        self.changed.emit(self.session.meeting_id)
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

    # ------------------------------------------------------------ playback
    def _on_position(self, t: float) -> None:
        if self.session is None:
            return
        self.time_label.setText(f"{fmt_clock(t)} / {fmt_clock(self.session.meeting.duration)}")
        word = self._clock.at(t, prefer_turn=self.session.current)
        scroll = False
        if self.player.playing and word is not None and word[0] != self.session.current and not self.loop_button.isChecked():
            self.session.select(word[0])  # the current turn follows the audio
            scroll = True
        if word != self._playing_word or scroll:
            self._playing_word = word
            self._update_highlights(scroll=scroll)

    def _on_word_clicked(self, turn: int, word: int) -> None:
        self.session.select(turn, word)
        self.player.seek(self.session.turn.words[word].start)
        self._update_highlights()
        self.setFocus()

    def _on_turn_clicked(self, turn: int) -> None:
        self.session.select(turn)
        self.player.seek(self.session.turn.start)
        self._update_highlights()
        self.setFocus()

    # ------------------------------------------------------------ dialogs
    def _open(self, dialog, on_accept) -> None:
        self.dialog = dialog

        def done():
            self._guarded("correction", lambda: on_accept(dialog))

        dialog.accepted.connect(done)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None) if self.dialog is dialog else None)
        dialog.open()

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
