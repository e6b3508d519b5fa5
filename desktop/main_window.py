"""The main window: a sidebar (Library · Transcript · Live) over a page stack, the import
strip along the bottom, menus, drag-and-drop import, and the settings dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QStackedWidget,
    QVBoxLayout, QWidget,
)

from desktop.import_panel import ImportPanel
from desktop.import_worker import ImportController, ImportWorker
from desktop.library import LibraryPage
from desktop.live_page import LivePage
from desktop.settings import AppSettings, load_settings, save_settings
from desktop.settings_dialog import SettingsDialog
from desktop.transcript_view import KEYS_HELP, TranscriptView

__all__ = ["MainWindow", "AUDIO_FILTER"]

AUDIO_FILTER = "Recordings (*.wav *.flac *.mp3 *.m4a *.aac *.ogg *.opus *.webm *.mp4 *.mkv *.mov);;All files (*)"
PAGES = ("Library", "Transcript", "Live", "People")


class MainWindow(QMainWindow):
    meetingOpened = Signal(int)
    importDone = Signal(int)  # meeting id, after the library shows it
    importEnded = Signal(str)  # what the status bar says when an import stops, for any reason

    def __init__(self, store, *, settings_path: Path, settings: AppSettings | None = None,
                 worker: ImportWorker | None = None, teacher=None, store_factory=None):
        super().__init__()
        self.store = store
        self.settings_path = settings_path
        self.settings = settings or load_settings(settings_path)
        self._store_factory = store_factory
        self.setWindowTitle("Parley")
        self.resize(1280, 800)
        self.setAcceptDrops(True)

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(150)
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sidebar.setIconSize(QSize(0, 0))
        for name, glyph in zip(PAGES, ("▤", "☰", "●", "☺")):
            QListWidgetItem(f"  {glyph}   {name}", self.sidebar)
        self.library = LibraryPage(store)
        self.transcript = TranscriptView(store, teacher=teacher)
        self.live = LivePage(recordings_dir=lambda: Path(self.store.data_dir) / "recordings")
        from desktop.people_page import PeoplePage, TranscriptPeople

        self.people = PeoplePage(store)
        self.people_keys = TranscriptPeople(self.transcript)  # Y accept a suggested name, Shift+R remember a voice
        self.stack = QStackedWidget()
        for page in (self.library, self.transcript, self.live, self.people):
            self.stack.addWidget(page)
        self.sidebar.currentRowChanged.connect(self._show_page)
        self.import_panel = ImportPanel()

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(0)
        rl.addWidget(self.stack, 1)
        rl.addWidget(self.import_panel)
        central = QWidget()
        cl = QHBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.sidebar)
        cl.addWidget(right, 1)
        self.setCentralWidget(central)
        self.setStyleSheet(
            "#sidebar { background:#f3f4f6; border:none; border-right:1px solid #dcdcdc; font-size:14px; padding-top:8px; }"
            "#sidebar::item { height:34px; } #sidebar::item:selected { background:#dbe7f6; color:#0d3c73; }"
        )

        self.imports = ImportController(self.db_path, self.settings.pipeline_options, worker=worker, parent=self)
        w = self.imports.worker
        w.started.connect(self.import_panel.begin)
        w.progress.connect(self.import_panel.on_progress)
        w.stageDone.connect(self.import_panel.on_stage_done)
        w.finished.connect(self._import_finished)
        w.failed.connect(self._import_failed)  # bound methods, not lambdas: queued to this thread
        w.cancelled.connect(self._import_cancelled)
        self.imports.queueChanged.connect(self.import_panel.set_queued)
        self.import_panel.cancelRequested.connect(self._cancel_import)

        self.library.openMeeting.connect(self.open_meeting)
        self.library.importRequested.connect(self.choose_files)
        self.library.retryRequested.connect(self.retry_import)
        self.library.deleteRequested.connect(self.ask_delete)
        self.people.openMeeting.connect(self.open_meeting)
        self.people.changed.connect(self.library.refresh)
        self.people.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.transcript.summaries.cloud_enabled = lambda: self.settings.cloud
        self._quitting = False
        self.quit_box = None
        self.transcript.changed.connect(lambda _id: self.library.refresh())
        self.transcript.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.live.recordingFinished.connect(self._recording_finished)
        self.live.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.recovery_box = None
        self._build_menus()
        self.library.refresh()
        self.sidebar.setCurrentRow(0)
        self.statusBar().showMessage("Drop recordings here to import them, or press Ctrl+O.")
        self._restore_state()
        QTimer.singleShot(0, self.offer_recovery)  # a recording left by a crash: asked about on this start

    # ------------------------------------------------------------ live meetings
    def _recording_finished(self, folder: str, title: str) -> None:
        """A recording stopped (or was recovered): it becomes a meeting through the import queue."""
        self.statusBar().showMessage(f"Processing {title}…")
        self.imports.add([folder], title)

    def offer_recovery(self):
        from capture.recovery import pending

        try:
            waiting = pending(Path(self.store.data_dir) / "recordings")
        except OSError:
            return None
        self.recovery_box = self.live.offer_recovery(waiting)
        return self.recovery_box

    # ------------------------------------------------------------ chrome
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.import_action = self._action(file, "&Import recording…", QKeySequence.StandardKey.Open, self.choose_files)
        file.addAction(self.transcript.acts["export"])
        self.settings_action = self._action(file, "&Settings…", "Ctrl+,", self.open_settings)
        file.addSeparator()
        self._action(file, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        view = bar.addMenu("&View")
        for i, name in enumerate(PAGES):  # triggered(checked) must not land in i
            self._action(view, name, f"Ctrl+{i + 1}", lambda _checked=False, i=i: self.sidebar.setCurrentRow(i))
        self.find_action = self._action(view, "Find (in this transcript, or in all)", QKeySequence.StandardKey.Find, self._focus_search)
        self._action(view, "Search all transcripts", "Ctrl+Shift+F", self._focus_library_search)
        tr = bar.addMenu("&Transcript")
        for name in ("play", "next_flag", "prev_flag", "accept", "split", "merge_prev", "edit_word", "add_speaker", "rename",
                     "reassign_all", "merge_speakers", "fix_similar", "loop", "slower", "faster", "find_next", "find_prev",
                     "copy", "undo", "redo"):
            if name in ("accept", "add_speaker", "loop", "find_next", "undo"):
                tr.addSeparator()
            tr.addAction(self.transcript.acts[name])
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "Keyboard shortcuts", "F1", lambda: self._info("Keyboard shortcuts", KEYS_HELP.replace(" · ", "\n").replace("\n\n", "\n")))

    def _action(self, menu, text, shortcut, slot) -> QAction:
        act = QAction(text, self)
        act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _info(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, parent=self)
        box.open()

    def _show_page(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        if self.stack.currentWidget() is self.people:
            self.people.refresh()
        if self.stack.currentWidget() is self.transcript:
            self.transcript.setFocus()

    def _focus_search(self) -> None:
        """Ctrl+F: find in the open transcript when it is on screen, else search the library."""
        if self.stack.currentWidget() is self.transcript and self.transcript.session is not None:
            self.transcript.open_find()
        else:
            self._focus_library_search()

    def _focus_library_search(self) -> None:
        self.sidebar.setCurrentRow(0)
        self.library.search_box.setFocus()
        self.library.search_box.selectAll()

    # ------------------------------------------------------------ meetings
    def db_path(self) -> str:
        return str(self.store.path)

    def open_meeting(self, meeting_id: int, turn_id: int | None = None) -> None:
        self.transcript.open_meeting(meeting_id, turn_id)
        self.sidebar.setCurrentRow(PAGES.index("Transcript"))
        self.transcript.setFocus()
        self.meetingOpened.emit(meeting_id)

    # ------------------------------------------------------------ import
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import recordings", str(Path.home()), AUDIO_FILTER)
        if paths:
            self.import_files(paths)

    def import_files(self, paths) -> None:
        paths = [str(p) for p in paths]
        self.statusBar().showMessage(f"Importing {len(paths)} file{'s' if len(paths) != 1 else ''}…")
        self.imports.add(paths)

    def _cancel_import(self) -> None:
        if self.imports.busy:
            self.import_panel.cancelling()
            self.imports.cancel()
        else:
            self.import_panel.hide()

    def _import_finished(self, meeting_id: int, duplicate: bool) -> None:
        m = self.store.get_meeting(meeting_id)
        live = self.live.finished_live.pop(m.source_path, None)
        if live is not None:  # names given during the meeting go to the refined speakers
            from meetings.live import apply_live_names

            apply_live_names(self.store, meeting_id, live)
        self.library.refresh()
        self.library.select_meeting(meeting_id)
        m = self.store.get_meeting(meeting_id)
        note = "was already imported" if duplicate else f"imported: {m.num_turns} turns, {m.num_flagged} flagged for review"
        reviewing = self.stack.currentWidget() is self.transcript and self.transcript.session is not None \
            and self.transcript.session.meeting_id != meeting_id
        if reviewing:  # never pull the transcript away from under the user
            note += " — it is in the library"
        self._import_ended(f"“{m.title}” {note}.", ok=True)
        if not self.imports.queued and not reviewing:  # the last of a batch: show it
            self.open_meeting(meeting_id)
        self.importDone.emit(meeting_id)

    def _import_failed(self, message: str) -> None:
        self._import_ended(f"Import failed: {message}")

    def _import_cancelled(self) -> None:
        self._import_ended("Import cancelled.")

    def _import_ended(self, text: str, ok: bool = False) -> None:
        self.import_panel.hide() if ok else self.import_panel.finish(text)
        self.statusBar().showMessage(text, 15000)
        self.library.refresh()
        self.importEnded.emit(text)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        paths = [p for p in paths if Path(p).is_file()]
        if paths:
            event.acceptProposedAction()
            self.import_files(paths)

    # ------------------------------------------------------------ settings
    def open_settings(self) -> SettingsDialog:
        default_dir = str(getattr(self.store, "data_dir", ""))
        dialog = SettingsDialog(self.settings, default_dir, self)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings()))
        dialog.open()
        return dialog

    def apply_settings(self, settings: AppSettings) -> None:
        moved = settings.data_dir != self.settings.data_dir
        self.settings = settings
        save_settings(self.settings_path, settings)
        self.imports.set_options(settings.pipeline_options)
        if moved and self._store_factory is not None:
            self.set_store(self._store_factory(settings))
        self.statusBar().showMessage("Settings saved.", 5000)

    def set_store(self, store) -> None:
        self.store = store
        self.library.store = store
        self.transcript.store = store
        self.people.store = store
        self.library.refresh()
        self.sidebar.setCurrentRow(0)

    # ------------------------------------------------------------ retry / delete
    def retry_import(self, meeting_id: int) -> None:
        m = self.store.get_meeting(meeting_id)
        if not Path(m.source_path).is_file():
            self.statusBar().showMessage(f"Cannot retry: the recording {m.source_path} is gone.", 15000)
            return
        self.import_files([m.source_path])  # an unfinished meeting is replaced by the new import

    def ask_delete(self, meeting_id: int) -> QMessageBox:
        m = self.store.get_meeting(meeting_id)
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete meeting",
                          f"Delete “{m.title}” with its transcript, corrections, summaries and its copy of the audio?\n"
                          "The original recording is not touched.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.button(QMessageBox.StandardButton.Yes).setText("Delete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(lambda: self.delete_meeting(meeting_id))
        self.delete_box = box
        box.open()
        return box

    def delete_meeting(self, meeting_id: int) -> None:
        """The meeting and everything of it, and the audio copy in the data folder (never the user's original)."""
        m = self.store.get_meeting(meeting_id)
        if self.transcript.session is not None and self.transcript.session.meeting_id == meeting_id:
            self.transcript.close_meeting()
        try:
            self.store.delete_meeting(meeting_id)  # removes the audio inside the data folder too
        except Exception as exc:  # e.g. it is being imported right now
            self.statusBar().showMessage(f"Cannot delete “{m.title}”: {exc}", 15000)
            return
        self.library.refresh()
        self.statusBar().showMessage(f"Deleted “{m.title}”.", 8000)

    # ------------------------------------------------------------ state across runs
    def _restore_state(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromHex(self.settings.window_geometry.encode()))
        last = self.settings.last_meeting
        if last.isdigit():
            try:
                if self.store.get_meeting(int(last)).status == "done":
                    self.open_meeting(int(last))
            except Exception:  # deleted since, or another database
                pass

    def _save_state(self) -> None:
        from dataclasses import replace

        s = self.transcript.session
        self.settings = replace(self.settings, window_geometry=bytes(self.saveGeometry().toHex()).decode(),
                                last_meeting=str(s.meeting_id) if s is not None else "")
        try:
            save_settings(self.settings_path, self.settings)
        except OSError:
            pass

    # ------------------------------------------------------------ quitting
    def closeEvent(self, event) -> None:
        if self.imports.busy and not self._quitting:
            event.ignore()
            self.ask_quit()
            return
        if self.live.recording:  # nothing is lost: the stopped recording is offered at the next start
            self.live.timer.stop()
            self.live.recorder.stop()
            self.live.recorder = None
        self._save_state()
        self.transcript.player.stop()
        self.imports.shutdown()
        self.transcript.summaries.shutdown()
        if self.transcript.teacher is not None:
            self.transcript.teacher.shutdown()
        super().closeEvent(event)

    def ask_quit(self) -> QMessageBox:
        """Quitting during an import: ask; yes cancels it (the meeting is left 'cancelled') and quits."""
        name = self.import_panel.state.name or "a recording"
        box = QMessageBox(QMessageBox.Icon.Question, "Quit Parley?",
                          f"{name} is still being imported. Cancel the import and quit?\n"
                          "You can retry it from the library later.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText("Cancel import and quit")
        box.button(QMessageBox.StandardButton.No).setText("Keep importing")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.accepted.connect(self._quit_after_cancel)
        self.quit_box = box
        box.open()
        return box

    def _quit_after_cancel(self) -> None:
        self._quitting = True
        self.statusBar().showMessage("Cancelling the import…")
        self.imports.busyChanged.connect(lambda busy: self.close() if not busy else None)
        self._cancel_import()
        if not self.imports.busy:
            self.close()
