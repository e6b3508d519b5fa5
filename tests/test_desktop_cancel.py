"""Cancel is honoured everywhere (issue 10, defect 3): one cancel token through every stage
loop (the voice stage's embeddings, the overlap stage's decodes), and quitting during an import
asks, cancels, leaves the meeting "cancelled" with Retry and Delete offered in the library."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from diarization.align import align
from diarization.overlap import recover_overlaps
from diarization.voices import CANCEL_EVERY, VoiceOptions, recluster_voices
from meetings.errors import Cancelled
from meetings.types import AudioInfo, Diarization, SpeakerSegment, Word
from tests.conftest import eval_item

pytestmark = pytest.mark.qt

ITEM = "ami_EN2005a_000-030s"


class Token:
    """The import's cancel token as the engine exposes it: ``check()`` raises once cancelled."""

    def __init__(self):
        self.event = threading.Event()
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.event.is_set():
            raise Cancelled("import cancelled")


def _dia(*segs) -> Diarization:
    segments = tuple(SpeakerSegment(s, e, k) for s, e, k in segs)
    return Diarization(segments, segments, tuple(sorted({k for *_, k in segs})))


def _words(start: float, end: float, step: float = 0.5) -> list[Word]:
    out, t, i = [], start, 0
    while t + 0.4 <= end:
        out.append(Word(t, t + 0.4, f" w{i}", 0.9))
        t, i = t + step, i + 1
    return out


def test_a_cancel_during_the_voice_stage_stops_it_at_the_next_batch():
    # 10 minutes of two speakers: ~300 two-second windows, i.e. many batches of embeddings
    d = _dia(*[(60.0 * k, 60.0 * (k + 1), "AB"[k % 2]) for k in range(10)])
    turns = align(_words(0.0, 600.0), d)
    rng = np.random.default_rng(0)
    token, batches = Token(), []

    def embed_many(spans):
        batches.append(len(spans))
        token.event.set()  # the user presses Cancel while the first batch is being embedded
        return rng.normal(size=(len(spans), 16))

    with pytest.raises(Cancelled):
        recluster_voices(turns, d.speakers, lambda a, b: rng.normal(size=16), VoiceOptions(window=2.0),
                         embed_many=embed_many, cancel=token.check)
    assert batches == [CANCEL_EVERY]  # one batch, not the whole stage


def test_a_cancel_during_the_overlap_stage_stops_before_the_next_decode():
    # 30 stretches where B talks under A: 30 overlap decodes unless cancelled
    segs = [(0.0, 300.0, "A")] + [(10.0 * k + 2.0, 10.0 * k + 3.5, "B") for k in range(30)]
    d = _dia(*segs)
    turns = align(_words(0.0, 300.0), d)
    token, decodes = Token(), []

    def transcribe(h):
        decodes.append(h)
        token.event.set()
        return [Word(h.start + 0.1, h.start + 0.5, " yes", 0.9)]

    with pytest.raises(Cancelled):
        recover_overlaps(turns, d, transcribe, cancel=token.check)
    assert len(decodes) == 1  # was 29 of 30 before the stage checked the token


# ---------------------------------------------------------------------- the app
class StageLoopEngine:
    """Stands in for the speech models only: the real store, the real cancel token; its one
    "stage" is a loop of short steps that checks the token between steps, like the real stages."""

    def __init__(self, options):
        self._cancel = threading.Event()
        self.stepping = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("import cancelled")

    def import_file(self, path, store, *, title=None, emit=None):
        info = AudioInfo(str(path), f"sha-loop-{path}", 30.0, 16000, 1, "pcm_s16le", "wav")
        from meetings.types import PipelineOptions

        mid = store.begin_meeting(title or "Long call", info, str(path), PipelineOptions(), "tiny.en", "embedded")
        try:
            for _ in range(100_000):
                self.check_cancel()
                self.stepping.set()
                time.sleep(0.005)  # one step of work
        except Cancelled:
            store.cancel_meeting(mid)
            raise


def make_window(qtbot, store, tmp_path, engine_factory):
    from desktop.import_worker import ImportWorker
    from desktop.main_window import MainWindow

    w = MainWindow(store, settings_path=tmp_path / "desktop.json", worker=ImportWorker(engine_factory=engine_factory))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_quitting_during_an_import_asks_then_cancels_and_offers_retry_and_delete(qtbot, store, tmp_path):
    engines = []

    def factory(options):
        engines.append(StageLoopEngine(options))
        return engines[-1]

    window = make_window(qtbot, store, tmp_path, factory)
    window.import_files([eval_item(ITEM)])
    qtbot.waitUntil(lambda: bool(engines) and engines[0].stepping.is_set(), timeout=10_000)
    assert window.imports.busy

    window.close()  # quit while importing: it asks first
    assert window.isVisible() and isinstance(window.quit_box, QMessageBox) and window.quit_box.isVisible()
    window.quit_box.button(QMessageBox.StandardButton.No).click()  # keep importing
    assert window.isVisible() and window.imports.busy

    window.close()
    t0 = time.monotonic()
    with qtbot.waitSignal(window.importEnded, timeout=5000):
        window.quit_box.button(QMessageBox.StandardButton.Yes).click()
    cancel_s = time.monotonic() - t0
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    print(f"cancel took {cancel_s:.2f} s")
    (m,) = store.list_meetings()
    assert m.status == "cancelled"  # not "failed"

    # the next start: the library offers Retry and Delete for it
    from desktop.main_window import MainWindow

    again = MainWindow(store, settings_path=tmp_path / "desktop.json")
    qtbot.addWidget(again)
    again.show()
    lib = again.library
    assert lib.model.meeting(0).status == "cancelled" and lib.model.data(lib.model.index(0, 5)) == "cancelled"
    lib.table.selectRow(0)
    assert lib.retry_button.isVisible() and lib.delete_button.isEnabled()
    actions = [a.text() for a in lib.row_menu(lib.model.meeting(0)).actions()]
    assert actions == ["Retry import", "Delete…"]
    retried = []
    again.imports.add = lambda paths, title="": retried.append(list(paths))  # capture what Retry would import
    lib.retry_button.click()
    assert retried == [[m.source_path]]
    box = again.ask_delete(m.id)
    box.button(QMessageBox.StandardButton.Yes).click()
    assert store.list_meetings() == []
    again.close()


@pytest.mark.models
def test_cancel_during_the_real_pipeline_leaves_the_meeting_cancelled(qtbot, store, tmp_path):
    from desktop.main_window import MainWindow

    window = MainWindow(store, settings_path=tmp_path / "desktop.json")
    qtbot.addWidget(window)
    window.show()
    window.settings = type(window.settings)(device="cpu")
    window.imports.set_options(window.settings.pipeline_options)
    window.import_files([eval_item(ITEM)])
    qtbot.waitUntil(lambda: {"diarize", "transcribe"} <= set(window.import_panel.state.seconds), timeout=300_000)
    t0 = time.monotonic()
    with qtbot.waitSignal(window.importEnded, timeout=60_000) as ended:
        window.import_panel.cancel_button.click()  # during the voice / overlap stages
    print(f"cancel during the voice/overlap stages took {time.monotonic() - t0:.2f} s")
    assert ended.args[0] == "Import cancelled."
    (m,) = store.list_meetings()
    assert m.status == "cancelled" and m.num_turns == 0
    window.close()
