"""The Live page: pick the microphone and the system-audio source, record and stop, a level
meter per source, elapsed time, dropped buffers, device-lost and echo warnings. At stop the
recording goes to the import queue (``recordingFinished``) and opens as a meeting when done.

The recorder runs on its own threads; its events reach this page through a queued signal and
its levels are sampled ten times a second — the page never blocks on audio."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from meetings.events import CaptureFailed, DeviceBack, DeviceLost

__all__ = ["LivePage", "fmt_elapsed"]

NONE = "— none —"


def _default_engine():
    from meetings.pipeline import Engine
    from meetings.types import PipelineOptions

    return Engine(PipelineOptions())


def fmt_elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class LivePage(QWidget):
    recordingStarted = Signal(str)  # folder
    recordingFinished = Signal(str, str)  # folder, title — ready to become a meeting
    recorderEvent = Signal(object)  # DeviceLost / DeviceBack / CaptureFailed, from the recorder's threads
    liveEvent = Signal(object)  # the live transcript's events, from its worker thread
    _liveStopped = Signal(str, str)
    message = Signal(str)

    def __init__(self, parent=None, *, recordings_dir=None, devices=None, engine_factory=None, live_transcript: bool = True):
        super().__init__(parent)
        from capture.devices import list_devices

        from desktop.live_transcript import LiveTranscriptView

        self._recordings_dir = recordings_dir  # callable → Path
        self._list_devices = devices or list_devices
        self._engine_factory = engine_factory or _default_engine
        self.live_transcript = live_transcript
        self.live = None  # the running LiveTranscriber
        self.finished_live: dict[str, object] = {}  # folder → its LiveTranscriber (names for the refined meeting)
        self.transcript = LiveTranscriptView()
        self.liveEvent.connect(self.transcript.on_event)
        self.transcript.renameRequested.connect(lambda label, name: self.live.rename(label, name) if self.live else None)
        self._liveStopped.connect(self.recordingFinished)
        self.recorder = None
        self.echo = None
        self.folder: Path | None = None
        self._lost: set[str] = set()

        self.mic_box, self.system_box = QComboBox(), QComboBox()
        for box in (self.mic_box, self.system_box):  # long device names must not widen the window
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(18)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_devices)
        self.record_button = QPushButton("●  Record")
        self.record_button.setObjectName("recordButton")
        self.record_button.setMinimumHeight(40)
        self.record_button.clicked.connect(self.toggle)
        self.meters = {r: QProgressBar() for r in ("mic", "system")}
        self.level_labels = {r: QLabel("—") for r in ("mic", "system")}
        for bar in self.meters.values():
            bar.setRange(0, 600)
            bar.setTextVisible(False)
            bar.setFixedHeight(14)
        self.elapsed = QLabel("00:00")
        self.elapsed.setStyleSheet("font-size:28px; font-weight:600;")
        self.dropped = QLabel("dropped buffers: 0")
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color:#9a3412;")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#666;")

        form = QFormLayout()
        mic_row, sys_row = QHBoxLayout(), QHBoxLayout()
        mic_row.addWidget(self.mic_box, 1)
        sys_row.addWidget(self.system_box, 1)
        sys_row.addWidget(self.refresh_button)
        form.addRow("Your microphone", mic_row)
        form.addRow("The others (system audio)", sys_row)
        for role, text in (("mic", "You"), ("system", "The others")):
            row = QHBoxLayout()
            row.addWidget(self.meters[role], 1)
            self.level_labels[role].setFixedWidth(70)
            row.addWidget(self.level_labels[role])
            form.addRow(text, row)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(40, 30, 40, 30)
        title = QLabel("<h2>Live meeting</h2><p style='color:#666'>Records your microphone and what the computer "
                       "plays (the other participants) as two channels, crash-safe. At stop it becomes a meeting "
                       "like an import: you are “You”, the others are told apart by voice.</p>")
        title.setWordWrap(True)
        lay.addWidget(title)
        lay.addLayout(form)
        lay.addSpacing(12)
        row = QHBoxLayout()
        row.addWidget(self.record_button)
        row.addSpacing(20)
        row.addWidget(self.elapsed)
        row.addStretch(1)
        row.addWidget(self.dropped)
        lay.addLayout(row)
        lay.addWidget(self.warning)
        lay.addWidget(self.note)
        lay.addWidget(self.transcript, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._tick)
        self.recorderEvent.connect(self._on_event)
        self.refresh_devices()

    # ------------------------------------------------------------------ devices
    def refresh_devices(self) -> None:
        from capture.devices import CaptureUnavailable

        problems = []
        for kind, box in (("mic", self.mic_box), ("system", self.system_box)):
            current = box.currentData()
            box.clear()
            try:
                devices = self._list_devices(kind)
            except CaptureUnavailable as exc:
                devices = []
                problems.append(str(exc))
            for d in devices:
                box.addItem(("★ " if d.default else "") + (d.name if d.name == d.id else f"{d.name} ({d.id})"), d)
            box.addItem(NONE, None)
            ids = [box.itemData(i).id if box.itemData(i) else None for i in range(box.count())]
            pick = next((i for i, d in enumerate(devices) if current is not None and d.id == current.id), None)
            if pick is None:
                pick = next((i for i, d in enumerate(devices) if d.default), 0 if devices else ids.index(None))
            box.setCurrentIndex(pick)
        self.note.setText("\n".join(problems))
        self.record_button.setEnabled(bool(self.mic_box.currentData() or self.system_box.currentData()))

    # ------------------------------------------------------------------ record / stop
    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def toggle(self) -> None:
        self.stop() if self.recording else self.start()

    def start(self) -> bool:
        from datetime import datetime

        from capture.devices import CaptureUnavailable
        from capture.echo_monitor import EchoMonitor
        from capture.recorder import ChannelSpec, Recorder

        specs = [ChannelSpec(role, box.currentData()) for role, box in (("mic", self.mic_box), ("system", self.system_box))
                 if box.currentData() is not None]
        if not specs:
            self.warning.setText("Choose a microphone, the system audio, or both.")
            return False
        root = Path(self._recordings_dir())
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = root / datetime.now().strftime("%Y%m%d-%H%M%S")
        self.echo = EchoMonitor()
        rec = Recorder(folder, specs, emit=self.recorderEvent.emit, on_block=self.echo.feed)
        live = None
        if self.live_transcript:
            from meetings.live import LiveTranscriber

            live = LiveTranscriber(self._engine_factory, self.liveEvent.emit, roles=tuple(sp.role for sp in specs))
            rec.add_tap(live.tap)
        try:
            rec.start()
        except (CaptureUnavailable, OSError) as exc:
            self.warning.setText(f"Cannot record: {exc}")
            return False
        self.transcript.clear()
        if live is not None:
            live.start()  # models load on its thread; the recording does not wait
        self.recorder, self.live, self.folder, self._lost = rec, live, folder, set()
        self.warning.clear()
        self.record_button.setText("■  Stop")
        self.record_button.setStyleSheet("background:#b91c1c; color:white; font-weight:600;")
        for box in (self.mic_box, self.system_box, self.refresh_button):
            box.setEnabled(False)
        self.timer.start()
        self.recordingStarted.emit(str(folder))
        self.message.emit(f"Recording to {folder}")
        return True

    def stop(self) -> dict | None:
        if self.recorder is None:
            return None
        self.timer.stop()
        manifest = self.recorder.stop()
        folder = self.folder
        self.recorder = None
        self.record_button.setText("●  Record")
        self.record_button.setStyleSheet("")
        for box in (self.mic_box, self.system_box, self.refresh_button):
            box.setEnabled(True)
        for bar in self.meters.values():
            bar.setValue(0)
        if manifest.get("state") == "failed":
            self.warning.setText(f"{manifest.get('error')}. Free some space, then process it from the recovery prompt.")
            return manifest
        title = f"Live meeting {manifest.get('started_at', '')[:16].replace('T', ' ')}".strip()
        self.note.setText("Processing the recording — it opens as a meeting when done.")
        live, self.live = self.live, None
        if live is None:
            self.recordingFinished.emit(str(folder), title)
            return manifest
        self.finished_live[str(folder)] = live

        def finish():  # the live transcript decodes its last utterances (the tail) off the GUI thread
            live.stop()
            self._liveStopped.emit(str(folder), title)

        threading.Thread(target=finish, name="live-stop", daemon=True).start()
        return manifest

    # ------------------------------------------------------------------ display
    def _tick(self) -> None:
        if self.recorder is None:
            return
        st = self.recorder.status()
        self.elapsed.setText(fmt_elapsed(st.elapsed))
        dropped = 0
        for c in st.channels:
            dropped += c.dropped + c.overflows
            self.meters[c.role].setValue(0 if c.lost else int(max(0.0, min(60.0, c.level_db + 60.0)) * 10))
            self.level_labels[c.role].setText("lost" if c.lost else f"{c.level_db:.0f} dB")
        self.dropped.setText(f"dropped buffers: {dropped}")
        self.dropped.setStyleSheet("color:#b91c1c; font-weight:600;" if dropped else "")
        warnings = [f"{'Microphone' if r == 'mic' else 'System audio'} lost — recording goes on; waiting for it to come back."
                    for r in sorted(self._lost)]
        if self.echo is not None and self.echo.hearing:
            warnings.append("Your microphone hears the other side (speakers?). Headphones give a cleaner “You”; "
                            "Parley cancels the echo when it processes the meeting.")
        if not self.recorder.running and self.recorder.error:
            warnings.append(self.recorder.error)
        self.warning.setText("\n".join(warnings))

    def _on_event(self, event) -> None:
        if isinstance(event, DeviceLost):
            self._lost.add(event.channel)
            self.message.emit(f"{event.channel} source lost ({event.device}) — recording goes on")
        elif isinstance(event, DeviceBack):
            self._lost.discard(event.channel)
            self.message.emit(f"{event.channel} source back ({event.device})")
        elif isinstance(event, CaptureFailed):
            self.message.emit(event.message)
            self.stop()

    # ------------------------------------------------------------------ recovery
    def offer_recovery(self, pending) -> QMessageBox | None:
        """Ask about recordings left by a crash (or not processed yet): process, later, discard."""
        if not pending:
            return None
        text = "\n".join(p.describe() for p in pending)
        box = QMessageBox(QMessageBox.Icon.Question, "Unfinished recordings",
                          f"Parley found recordings that did not become meetings:\n\n{text}\n\nProcess them now?", parent=self)
        process = box.addButton("Process", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)

        def done(button):
            from capture.recovery import discard as drop

            if button is process:
                for p in pending:
                    self.recordingFinished.emit(str(p.folder), f"Recovered meeting {p.started_at[:16].replace('T', ' ')}")
            elif button is discard:
                for p in pending:
                    drop(p.folder)
        box.buttonClicked.connect(done)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.show()
        return box
