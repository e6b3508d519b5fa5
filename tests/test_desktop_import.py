"""Importing through the UI: file drop, the worker thread, progress, failure, cancel, and a
real 30 s recording through the real embedded models."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from meetings.errors import ModelUnavailable
from tests.conftest import eval_item

pytestmark = pytest.mark.qt

ITEM = "ami_EN2005a_000-030s"


def make_window(qtbot, store, tmp_path, worker=None):
    from desktop.main_window import MainWindow

    w = MainWindow(store, settings_path=tmp_path / "desktop.json", worker=worker)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def unavailable_engine(options):
    raise ModelUnavailable(f"Whisper model {options.asr_model!r} is not installed")


def test_dropped_file_is_imported_off_the_ui_thread_and_failure_is_shown(qtbot, store, tmp_path):
    from desktop.import_worker import ImportWorker

    threads = []

    def factory(options):
        threads.append(threading.current_thread())
        return unavailable_engine(options)

    window = make_window(qtbot, store, tmp_path, ImportWorker(engine_factory=factory))
    wav = eval_item(ITEM)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(wav))])
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    started = []
    window.imports.worker.started.connect(started.append)
    with qtbot.waitSignal(window.importEnded, timeout=10000) as ended:
        window.dropEvent(drop)
    assert drop.isAccepted()
    assert started == [wav.name]
    assert ended.args[0].startswith("Import failed:") and "not installed" in ended.args[0]
    assert threads and threads[0] is not threading.main_thread()
    qtbot.waitUntil(lambda: not window.imports.busy)
    panel = window.import_panel
    assert panel.isVisible() and "not installed" in panel.headline.text()
    assert panel.cancel_button.text() == "Close"
    panel.cancel_button.click()
    assert not panel.isVisible()
    window.close()


@pytest.mark.models
def test_import_real_recording_through_the_ui(qtbot, store, tmp_path):
    window = make_window(qtbot, store, tmp_path)
    window.settings = type(window.settings)(device="cpu")
    window.imports.set_options(window.settings.pipeline_options)
    worker = window.imports.worker
    stages, progress = [], []
    worker.stageDone.connect(lambda stage, secs: stages.append(stage))
    worker.progress.connect(lambda stage, frac, detail: progress.append((stage, frac)))
    with qtbot.waitSignal(window.meetingOpened, timeout=300_000) as opened:
        window.import_files([eval_item(ITEM)])
        qtbot.waitUntil(lambda: window.import_panel.isVisible(), timeout=5000)
    meeting_id = opened.args[0]
    # a recording up to one ASR window long is transcribed while the diarizer may still be loading
    assert stages == ["decode", "transcribe", "diarize", "align", "save"]
    assert {s for s, _ in progress} >= {"decode", "transcribe"}
    assert len(progress) < 200  # throttled
    m = store.get_meeting(meeting_id)
    assert m.status == "done" and m.num_turns > 0
    view = window.transcript
    assert window.stack.currentWidget() is view
    assert len(view.session.turns) == m.num_turns
    assert "floods" in view.browser.toPlainText().lower()
    assert window.library.model.rowCount() == 1
    assert not window.import_panel.isVisible()
    window.close()


@pytest.mark.models
def test_cancel_a_running_import(qtbot, store, tmp_path):
    window = make_window(qtbot, store, tmp_path)
    window.settings = type(window.settings)(device="cpu")
    window.imports.set_options(window.settings.pipeline_options)
    window.import_files([eval_item(ITEM)])
    qtbot.waitUntil(lambda: "decode" in window.import_panel.state.seconds, timeout=300_000)
    with qtbot.waitSignal(window.importEnded, timeout=120_000) as ended:
        window.import_panel.cancel_button.click()
    assert ended.args[0] == "Import cancelled."
    qtbot.waitUntil(lambda: not window.imports.busy)
    assert "cancelled" in window.import_panel.headline.text().lower()
    (m,) = store.list_meetings()
    assert m.status == "cancelled" and m.num_turns == 0
    window.close()
