"""People in the desktop app: the People page (everyone, a person's meetings, talk time, action items,
everything they said with search; rename, merge, forget, export their voice profile — the one place
where every voice profile is listed and deleted), the library's person filter, and the transcript
view's people keys (Y: accept the suggested name; Shift+R: name this speaker and remember the voice).

Voices are embedded on a worker thread (the CAM++ model loads there once); the store is only
touched on the GUI thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMessageBox,
    QPushButton, QSplitter, QVBoxLayout, QWidget,
)

from meetings import people as P
from meetings.errors import ParleyError

__all__ = ["PeoplePage", "PersonFilter", "TranscriptPeople", "PRIVACY_NOTE"]

log = logging.getLogger(__name__)

PRIVACY_NOTE = ("Voice profiles stay on this computer, in Parley's database. They are in no transcript export; "
                "“Export profile…” writes one on request. “Forget…” deletes a person's voice data for good.")
ID = Qt.ItemDataRole.UserRole


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class PersonFilter(QComboBox):
    """“Everyone” or one person: the library shows only the meetings they speak in."""

    changed = Signal()

    def __init__(self, store: Callable[[], object], parent=None):
        super().__init__(parent)
        self._store = store
        self.setMinimumContentsLength(14)
        self.setToolTip("Show only the meetings of one person")
        self.reload()
        self.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def reload(self) -> None:
        keep = self.person_id()
        self.blockSignals(True)
        self.clear()
        self.addItem("Everyone", None)
        for p in P.people(self._store()):
            self.addItem(p.name, p.id)
        i = self.findData(keep)
        self.setCurrentIndex(i if i >= 0 else 0)
        self.blockSignals(False)

    def person_id(self) -> int | None:
        return self.currentData() if self.count() else None

    def filter(self, meetings: Sequence) -> list:
        pid = self.person_id()
        if pid is None:
            return list(meetings)
        try:
            keep = P.meetings_with(self._store(), pid)
        except ParleyError:  # forgotten meanwhile
            return list(meetings)
        return [m for m in meetings if m.id in keep]


class PeoplePage(QWidget):
    openMeeting = Signal(int, object)  # meeting id, turn id or None
    message = Signal(str)
    changed = Signal()  # people were renamed, merged or forgotten (speaker names in meetings may move)

    def __init__(self, store, parent=None):
        super().__init__(parent)
        self.store = store
        self.person_id: int | None = None
        title = QLabel("People")
        title.setStyleSheet("font-size:17px; font-weight:600;")
        self.list = QListWidget()
        self.list.currentItemChanged.connect(lambda item, _old: self.show_person(item.data(ID) if item else None))
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setStyleSheet("font-size:15px;")
        self.meetings = QListWidget()
        self.meetings.itemActivated.connect(lambda item: self.openMeeting.emit(item.data(ID), None))
        self.meetings.itemDoubleClicked.connect(lambda item: self.openMeeting.emit(item.data(ID), None))
        self.actions_list = QListWidget()
        self.actions_list.itemActivated.connect(self._open_item)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search what they said…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(lambda _t: self.show_said())
        self.said = QListWidget()
        self.said.itemActivated.connect(self._open_item)
        self.said.itemDoubleClicked.connect(self._open_item)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self.ask_rename)
        self.merge_button = QPushButton("Merge into…")
        self.merge_button.clicked.connect(self.ask_merge)
        self.export_button = QPushButton("Export profile…")
        self.export_button.clicked.connect(self.ask_export)
        self.forget_button = QPushButton("Forget…")
        self.forget_button.clicked.connect(self.ask_forget)
        self.box: QMessageBox | None = None

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(title)
        ll.addWidget(self.list, 1)
        privacy = QLabel(PRIVACY_NOTE)
        privacy.setWordWrap(True)
        privacy.setStyleSheet("color:#666; font-size:11px;")
        ll.addWidget(privacy)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.header, 1)
        for b in (self.rename_button, self.merge_button, self.export_button, self.forget_button):
            buttons.addWidget(b)
        rl.addLayout(buttons)
        rl.addWidget(QLabel("Meetings"))
        rl.addWidget(self.meetings, 1)
        rl.addWidget(QLabel("Action items"))
        rl.addWidget(self.actions_list, 1)
        rl.addWidget(self.search_box)
        rl.addWidget(self.said, 2)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.addWidget(split)
        self.refresh()

    # ------------------------------------------------------------ showing
    def refresh(self) -> None:
        keep = self.person_id
        self.list.blockSignals(True)
        self.list.clear()
        for p in P.people(self.store):
            prof = f"{p.seconds:.0f} s of voice" if p.samples else "no voice profile"
            item = QListWidgetItem(f"{p.name}{' (you)' if p.is_self else ''}\n{p.meetings} meeting(s) · {_hms(p.talk_time)} · {prof}")
            item.setData(ID, p.id)
            self.list.addItem(item)
        self.list.blockSignals(False)
        ids = [self.list.item(i).data(ID) for i in range(self.list.count())]
        self.select_person(keep if keep in ids else (ids[0] if ids else None))

    def select_person(self, person_id: int | None) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(ID) == person_id:
                self.list.blockSignals(True)
                self.list.setCurrentRow(i)
                self.list.blockSignals(False)
        self.show_person(person_id)

    def show_person(self, person_id: int | None) -> None:
        self.person_id = person_id
        for b in (self.rename_button, self.merge_button, self.export_button, self.forget_button):
            b.setEnabled(person_id is not None)
        self.meetings.clear()
        self.actions_list.clear()
        if person_id is None:
            self.header.setText("No people yet. In a transcript, press Shift+R to name a speaker and remember the voice."
                                if not self.list.count() else "")
            self.said.clear()
            return
        page = P.person_page(self.store, person_id)
        p = page.person
        self.header.setText(f"<b>{p.name}</b> — {p.meetings} meeting(s), talk time {_hms(p.talk_time)}, "
                            + (f"voice profile of {p.samples} sample(s), {p.seconds:.0f} s" if p.samples else "no voice profile"))
        self.export_button.setEnabled(p.samples > 0)
        for m in page.meetings:
            item = QListWidgetItem(f"{m.created_at[:10]}  {m.title}  ({_hms(m.talk_time)}, {m.turns} turns)")
            item.setData(ID, m.meeting_id)
            self.meetings.addItem(item)
        for a in page.action_items:
            item = QListWidgetItem(f"{a.text}" + (f" (due {a.due})" if a.due else "") + f" — {a.title}")
            item.setData(ID, (a.meeting_id, a.turn_ids[0] if a.turn_ids else None))
            self.actions_list.addItem(item)
        self.show_said()

    def show_said(self) -> None:
        self.said.clear()
        if self.person_id is None:
            return
        for h in P.said(self.store, self.person_id, self.search_box.text()):
            item = QListWidgetItem(f"[{_hms(h.start)}] {h.meeting_title}: {h.snippet}")
            item.setData(ID, (h.meeting_id, h.turn_id))
            self.said.addItem(item)

    def _open_item(self, item: QListWidgetItem) -> None:
        meeting_id, turn_id = item.data(ID)
        self.openMeeting.emit(meeting_id, turn_id)

    # ------------------------------------------------------------ editing
    def _done(self, text: str) -> None:
        self.refresh()
        self.changed.emit()
        self.message.emit(text)

    def rename_person(self, name: str) -> None:
        p = P.rename_person(self.store, self.person_id, name)
        self._done(f"Renamed: {p.name}")

    def merge_into(self, keep_id: int) -> None:
        drop = P.person(self.store, self.person_id)
        p = P.merge_people(self.store, keep_id, drop.id)
        self.person_id = p.id
        self._done(f"{drop.name} merged into {p.name}")

    def forget_person(self) -> None:
        p = P.forget(self.store, self.person_id)
        self.person_id = None
        self._done(f"{p.name} forgotten: their voice profile is deleted")

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except ParleyError as exc:
            self.message.emit(str(exc))

    def ask_rename(self) -> None:
        p = P.person(self.store, self.person_id)
        name, ok = QInputDialog.getText(self, "Rename person", f"New name for {p.name}:", text=p.name)
        if ok and name.strip():
            self._guard(self.rename_person, name)

    def ask_merge(self) -> None:
        p = P.person(self.store, self.person_id)
        others = [o for o in P.people(self.store) if o.id != p.id]
        if not others:
            self.message.emit("There is nobody to merge with.")
            return
        name, ok = QInputDialog.getItem(self, "Merge people", f"{p.name} is the same person as:", [o.name for o in others], 0, False)
        if ok:
            self._guard(self.merge_into, next(o.id for o in others if o.name == name))

    def ask_export(self) -> None:
        p = P.person(self.store, self.person_id)
        path, _ = QFileDialog.getSaveFileName(self, "Export voice profile", f"{p.name}.parley-voice.json", "Voice profile (*.json)")
        if path:
            self._guard(lambda: self.message.emit(f"Wrote {P.export_profile(self.store, p.id, path)} (a voiceprint: keep it private)"))

    def ask_forget(self) -> QMessageBox:
        p = P.person(self.store, self.person_id)
        box = QMessageBox(QMessageBox.Icon.Warning, "Forget person",
                          f"Delete {p.name} and their voice profile for good? Transcripts keep the name.",
                          QMessageBox.StandardButton.Cancel, self)
        forget = box.addButton("Forget", QMessageBox.ButtonRole.DestructiveRole)
        box.buttonClicked.connect(lambda b: self._guard(self.forget_person) if b is forget else None)
        self.box = box
        box.open()
        return box


class _VoiceJob(QObject):
    done = Signal(int, object)  # speaker id, Voiceprint or None
    rescored = Signal(int, object)  # meeting id, {turn id: Voiceprint}
    failed = Signal(str)


class TranscriptPeople(QObject):
    """The transcript view's people keys, and “corrections teach” after each correction."""

    def __init__(self, view, embedder_factory: Callable[[], P.Embedder] | None = None, parent=None):
        super().__init__(parent or view)
        self.view = view
        self._factory = embedder_factory or _default_embedder
        self._embedder: P.Embedder | None = None
        self._job = _VoiceJob()
        self._job.done.connect(self._learned)
        self._job.rescored.connect(self._rescored)
        self._job.failed.connect(view.message)
        self.threads: list[threading.Thread] = []
        for name, text, key, slot in (
            ("confirm_name", "Accept the suggested name", "Y", self.confirm),
            ("remember_voice", "Name this speaker and remember the voice…", "Shift+R", self.ask_remember),
        ):
            act = QAction(text, view)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, slot=slot, name=name: view._guarded(name, slot))
            view.addAction(act)
            view.acts[name] = act
        view.changed.connect(self._after_correction)

    @property
    def store(self):
        return self.view.store

    def _speaker(self) -> int:
        s = self.view.session
        if s is None or s.turn is None:
            raise ParleyError("Select a turn of the speaker first.")
        return s.turn.speaker_id

    def _reopen(self) -> None:
        s = self.view.session
        turn = s.turn.id if s.turn is not None else None
        self.view.open_meeting(s.meeting_id, turn)
        self.view.changed.emit(s.meeting_id)

    def confirm(self) -> None:
        """Y: the current speaker is the person suggested for them; their voice is then learned."""
        sid = self._speaker()
        p = P.confirm_suggestion(self.store, sid)
        self._reopen()
        self.view.message.emit(f"{p.name} confirmed; learning the voice…")
        self.learn(sid)

    def ask_remember(self) -> None:
        sid = self._speaker()
        current = next(x.name for x in self.store.speakers(self.view.session.meeting_id) if x.id == sid)
        name, ok = QInputDialog.getText(self.view, "Remember this voice", "This speaker is:", text=current)
        if ok and name.strip():
            self.remember(sid, name)

    def remember(self, speaker_id: int, name: str) -> None:
        p = P.remember(self.store, speaker_id, name, None, learn=False)
        self._reopen()
        self.view.message.emit(f"{p.name}: learning the voice…")
        self.learn(speaker_id)

    def learn(self, speaker_id: int) -> threading.Thread:
        """Embed the speaker's clean speech on a worker thread; the profile is written back on this one."""
        from capture.decode import read_mono
        from diarization.profiles import voiceprint

        s = self.view.session
        spans = P.speaker_spans(s.turns, speaker_id)
        wav = s.meeting.audio_path

        def work():
            try:
                if self._embedder is None:
                    self._embedder = self._factory()
                e = self._embedder
                vp = voiceprint(e.model, e.embed_many, lambda a, b: read_mono(wav, a, b), spans)
                self._job.done.emit(speaker_id, vp)
            except Exception as exc:  # the model or the audio is missing: say so, keep the name
                log.exception("learning a voice failed")
                self._job.failed.emit(f"The voice could not be learned: {exc}")

        t = threading.Thread(target=work, name="parley-learn-voice", daemon=True)
        self.threads.append(t)
        t.start()
        return t

    def _learned(self, speaker_id: int, vp) -> None:
        if vp is None:
            self.view.message.emit("Too little clear speech from this speaker to learn the voice; the name is kept.")
            return
        try:
            p = P.learn_voice(self.store, speaker_id, vp)
        except ParleyError as exc:
            self.view.message.emit(str(exc))
            return
        self.view.message.emit(f"{p.name}'s voice remembered ({p.samples} sample(s), {p.seconds:.0f} s).")
        self.rescore()

    def rescore(self) -> threading.Thread | None:
        """Re-score the open meeting's turns against the profiles (embedded on a worker thread); turns that
        sound like another speaker's person are flagged for review."""
        s = self.view.session
        if s is None or self._embedder is None:
            return None
        meeting_id = s.meeting_id
        wav, todo = P.turns_to_rescore(self.store, meeting_id, self._embedder.model)
        if not todo:
            return None
        e = self._embedder

        def work():
            try:
                self._job.rescored.emit(meeting_id, P.turn_voices(e, wav, todo))
            except Exception as exc:
                log.exception("re-scoring turns failed")
                self._job.failed.emit(f"Turns could not be re-scored: {exc}")

        t = threading.Thread(target=work, name="parley-rescore", daemon=True)
        self.threads.append(t)
        t.start()
        return t

    def _rescored(self, meeting_id: int, voices) -> None:
        try:
            checks = P.apply_rescore(self.store, meeting_id, voices)
        except ParleyError as exc:
            self.view.message.emit(str(exc))
            return
        if checks and self.view.session is not None and self.view.session.meeting_id == meeting_id:
            self._reopen()
        self.view.message.emit(f"{len(checks)} turn(s) sound like another speaker: flagged for review (N)." if checks
                               else "Every turn sounds like its speaker.")

    def _after_correction(self, meeting_id: int) -> None:
        try:
            notes = P.reconcile(self.store, meeting_id)
        except ParleyError as exc:
            self.view.message.emit(str(exc))
            return
        if notes:
            self.view.message.emit("; ".join(notes))


def _default_embedder() -> P.Embedder:
    from diarization.diarize import Diarizer

    return P.embedder_for(Diarizer())
