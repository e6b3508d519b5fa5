"""The desktop Live page with a real PulseAudio server: devices listed, record and stop with
moving meters, a lost device shown, recovery offered on start, and (real models) the stopped
recording opening as a meeting in the transcript view."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt

from capture.recorder import read_manifest
from capture.wavfile import CrashSafeWav

from .conftest import eval_item

pytestmark = [pytest.mark.qt, pytest.mark.audio]

SR = 16_000


@pytest.fixture
def speech(tmp_path):
    from bench.signals import to_16k

    x, sr = sf.read(eval_item("phone_call_40", "agent"), dtype="float32")
    path = tmp_path / "speech.wav"
    sf.write(path, to_16k(x, sr)[: 8 * SR], SR, subtype="PCM_16")
    return path


@pytest.fixture(autouse=True)
def _collect_here():
    """Windows of one test are collected on this (the GUI) thread, not by a garbage collection
    that happens to run on a worker thread of the next test."""
    yield
    import gc

    gc.collect()


@pytest.fixture
def window(qtbot, store, tmp_path, pulse):
    from desktop.main_window import MainWindow

    w = MainWindow(store, settings_path=tmp_path / "desktop.json")
    w.live.live_transcript = False  # the live transcript (models) has its own test below
    qtbot.addWidget(w)
    w.show()
    yield w
    if w.live.recording:
        w.live.stop()
    w.close()
    w.deleteLater()
    qtbot.wait(50)  # deleted here, on the GUI thread


def _pick(box, device_id: str) -> None:
    for i in range(box.count()):
        d = box.itemData(i)
        if d is not None and d.id == device_id:
            box.setCurrentIndex(i)
            return
    raise AssertionError(f"{device_id} not offered: {[box.itemText(i) for i in range(box.count())]}")


def test_live_page_records_with_moving_meters_and_hands_the_recording_to_the_import_queue(window, qtbot, pulse, speech):
    live = window.live
    window.sidebar.setCurrentRow(2)
    assert window.stack.currentWidget() is live
    _pick(live.mic_box, "virtual_mic")
    _pick(live.system_box, "sys_out.monitor")
    handed = []
    window.imports.add = lambda paths, title="": handed.append((list(paths), title))  # the queue is tested elsewhere
    qtbot.mouseClick(live.record_button, Qt.MouseButton.LeftButton)
    assert live.recording and live.record_button.text().endswith("Stop") and not live.mic_box.isEnabled()
    qtbot.waitUntil(lambda: all(c.seconds > 0 for c in live.recorder.status().channels), timeout=10_000)
    player = pulse.play("mic_feed", speech)
    qtbot.waitUntil(lambda: live.meters["mic"].value() > 200, timeout=8_000)  # above -40 dB
    assert live.meters["system"].value() < 100  # nothing plays there
    qtbot.waitUntil(lambda: live.elapsed.text() != "00:00", timeout=5_000)
    player.wait()
    folder = live.folder
    live.toggle()
    assert not live.recording and live.mic_box.isEnabled()
    assert handed == [([str(folder)], handed[0][1])] and handed[0][1].startswith("Live meeting")
    assert read_manifest(folder)["state"] == "stopped"
    assert live.dropped.text() == "dropped buffers: 0"


def test_live_page_shows_a_lost_microphone(window, qtbot, pulse):
    live = window.live
    window.imports.add = lambda paths, title="": None  # not processed here
    _pick(live.mic_box, "virtual_mic")
    _pick(live.system_box, "sys_out.monitor")
    assert live.start()
    qtbot.waitUntil(lambda: all(c.seconds > 0 for c in live.recorder.status().channels), timeout=10_000)
    module = pulse.module_of("virtual_mic")
    pulse.pactl("unload-module", str(module))
    try:
        qtbot.waitUntil(lambda: "Microphone lost" in live.warning.text(), timeout=5_000)
        assert live.level_labels["mic"].text() == "lost"
    finally:
        pulse.pactl("load-module", "module-remap-source", "master=mic_feed.monitor", "source_name=virtual_mic")
    qtbot.waitUntil(lambda: "Microphone lost" not in live.warning.text(), timeout=8_000)
    live.stop()


def test_an_unfinished_recording_is_offered_on_start_and_can_be_discarded(qtbot, store, tmp_path, pulse):
    from capture.recorder import write_manifest
    from desktop.main_window import MainWindow

    folder = store.data_dir / "recordings" / "20261201-090000"
    folder.mkdir(parents=True)
    w = CrashSafeWav(folder / "mic.wav", SR)
    w.write(np.zeros(2 * SR, np.float32))  # a killed recorder: header never updated
    write_manifest(folder, {"version": 1, "state": "recording", "pid": 2**22 + 777, "samplerate": SR,
                            "started_at": "2026-12-01T09:00:00", "channels": [{"role": "mic", "file": "mic.wav", "device": "x"}],
                            "stats": {}})
    win = MainWindow(store, settings_path=tmp_path / "desktop.json")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.recovery_box is not None, timeout=5_000)
    box = win.recovery_box
    assert "recovered after a crash" in box.text() and "0:02" in box.text()
    discard = next(b for b in box.buttons() if b.text() == "Discard")
    discard.click()
    assert not folder.exists()
    win.close()
    win.deleteLater()


@pytest.mark.models
def test_the_live_transcript_streams_and_a_name_given_live_is_kept(window, qtbot, pulse, engine, tmp_path):
    from bench.signals import to_16k
    from meetings.events import LivePartial

    x, sr = sf.read(eval_item("phone_call_40", "caller"), dtype="float32")
    caller = tmp_path / "caller.wav"
    sf.write(caller, to_16k(x, sr)[int(6.8 * SR): int(22 * SR)], SR, subtype="PCM_16")
    live = window.live
    live.live_transcript, live._engine_factory = True, lambda: engine
    shown_partial = []
    live.liveEvent.connect(lambda e: shown_partial.append(e) if isinstance(e, LivePartial) and e.words else None)
    _pick(live.mic_box, "virtual_mic")
    _pick(live.system_box, "sys_out.monitor")
    assert live.start()
    transcriber = live.live
    qtbot.waitUntil(lambda: all(c.seconds > 0 for c in live.recorder.status().channels), timeout=10_000)
    player = pulse.play("sys_out", caller)
    view = live.transcript
    qtbot.waitUntil(lambda: view.speaker_list.count() == 2, timeout=30_000)  # You + the caller
    label = view.speaker_list.item(1).data(Qt.ItemDataRole.UserRole)
    view.rename(label, "Jack")
    qtbot.waitUntil(lambda: any(t.startswith("Jack: ") and len(t) > 20 for t in view.line_texts()), timeout=30_000)
    player.wait()
    # provisional words were on screen before they were committed — unless the machine could not
    # keep up, when the governor skips interim decodes (and says so) rather than fall behind
    assert shown_partial or transcriber.governor.skipped > 0
    assert "behind" in view.status.text()
    with qtbot.waitSignal(window.importDone, timeout=240_000) as done:
        live.stop()
    qtbot.waitUntil(lambda: not window.imports.busy, timeout=10_000)
    names = {s.name for s in window.store.speakers(done.args[0])}
    assert "Jack" in names


@pytest.mark.models
def test_a_stopped_recording_opens_as_a_meeting(window, qtbot, pulse, speech):
    live = window.live
    _pick(live.mic_box, "virtual_mic")
    _pick(live.system_box, "sys_out.monitor")
    assert live.start()
    qtbot.waitUntil(lambda: all(c.seconds > 0 for c in live.recorder.status().channels), timeout=10_000)
    pulse.play("mic_feed", speech).wait()
    with qtbot.waitSignal(window.importDone, timeout=240_000) as done:
        live.stop()
    meeting_id = done.args[0]
    qtbot.waitUntil(lambda: not window.imports.busy, timeout=10_000)
    assert window.store.source_kind(meeting_id) == "live"
    assert window.stack.currentWidget() is window.transcript and window.transcript.session.meeting_id == meeting_id
    names = {t.speaker_name for t in window.transcript.session.turns}
    assert names == {"You"}
