"""Imports off the UI thread. :class:`ImportWorker` lives in its own QThread, creates the
:class:`~meetings.pipeline.Engine` there (loading models is slow) and turns the pipeline's
typed events into Qt signals, which reach the UI thread queued. Progress is throttled.
:class:`ImportController` is what the window talks to: a queue of files, cancel, shutdown."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop.logic import Throttle
from meetings.errors import Cancelled, ParleyError
from meetings.events import Finished, Progress, StageDone
from meetings.types import PipelineOptions

__all__ = ["ImportWorker", "ImportController"]

log = logging.getLogger(__name__)


def _default_engine(options: PipelineOptions):
    from meetings.pipeline import Engine

    return Engine(options)


def _default_store(db_path: str):
    from meetings.store import Store

    return Store(Path(db_path))


class ImportWorker(QObject):
    started = Signal(str)  # file name
    progress = Signal(str, float, str)  # stage, fraction 0..1 (-1 unknown), detail
    stageDone = Signal(str, float)  # stage, seconds
    finished = Signal(int, bool)  # meeting id, duplicate
    failed = Signal(str)
    cancelled = Signal()
    idle = Signal()  # done with one file, whatever happened

    def __init__(self, engine_factory: Callable = _default_engine, store_factory: Callable = _default_store,
                 throttle_s: float = 0.1):
        super().__init__()
        self._engine_factory = engine_factory
        self._store_factory = store_factory
        self._throttle_s = throttle_s
        self._engine = None
        self._options: PipelineOptions | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()

    # called from the UI thread
    def cancel(self) -> None:
        self._cancel.set()
        with self._lock:
            engine = self._engine
        if engine is not None:
            engine.cancel()

    def _emit(self, throttle: Throttle, event) -> None:
        if self._cancel.is_set() and isinstance(event, (Progress, StageDone)):
            # The stages clear their own cancel flags when they start, so a cancel that lands
            # between two stages would be lost: re-assert it at every event the pipeline sends.
            raise Cancelled("import cancelled")
        if isinstance(event, Progress):
            if throttle.ready(event.stage, force=bool(event.total and event.done >= event.total)):
                frac = event.done / event.total if event.total else -1.0
                self.progress.emit(event.stage, float(frac), event.detail)
        elif isinstance(event, StageDone):
            self.stageDone.emit(event.stage, float(event.seconds))
            throttle.ready(event.stage, force=True)
        elif isinstance(event, Finished):
            self.finished.emit(event.meeting_id, event.duplicate)
        # Failed events are reported from the exception, once

    @Slot(str, str, str, object)
    def run_import(self, path: str, title: str, db_path: str, options: PipelineOptions) -> None:
        self._cancel.clear()
        self.started.emit(Path(path).name)
        throttle = Throttle(self._throttle_s)
        try:
            from capture.decode import probe

            recording = Path(path).is_dir() and (Path(path) / "recording.json").is_file()  # a live meeting
            if not recording:
                probe(path)  # a bad file is rejected at once, not after the models have loaded
            if self._engine is None or self._options != options:
                engine = self._engine_factory(options)  # slow: models load here, in this thread
                with self._lock:
                    self._engine, self._options = engine, options
            if self._cancel.is_set():
                raise Cancelled("import cancelled")
            store = self._store_factory(db_path)
            try:
                if recording:
                    from meetings.recording import process_recording

                    process_recording(self._engine, path, store, title=title or None, emit=lambda e: self._emit(throttle, e))
                else:
                    self._engine.import_file(path, store, title=title or None, emit=lambda e: self._emit(throttle, e))
            finally:
                close = getattr(store, "close", None)
                if close is not None:
                    close()
        except Cancelled:
            self.cancelled.emit()
        except ParleyError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug or an environment problem: say so, keep the app alive
            log.exception("import of %s failed", path)
            self.failed.emit(f"{Path(path).name}: {exc.__class__.__name__}: {exc}")
        finally:
            self.idle.emit()


class ImportController(QObject):
    """Queues files for the worker thread and relays its signals to the window."""

    _request = Signal(str, str, str, object)
    queueChanged = Signal(int)  # files still waiting (not counting the one running)
    busyChanged = Signal(bool)

    def __init__(self, db_path: Callable[[], str], options: Callable[[], PipelineOptions],
                 worker: ImportWorker | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._db_path = db_path
        self._options = options
        self._queue: deque[tuple[str, str]] = deque()
        self._busy = False
        self.thread = QThread()
        self.thread.setObjectName("parley-import")
        self.worker = worker or ImportWorker()
        self.worker.moveToThread(self.thread)
        self._request.connect(self.worker.run_import)
        self.worker.idle.connect(self._next)
        self.thread.start()

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def queued(self) -> int:
        return len(self._queue)

    def options(self) -> PipelineOptions:
        return self._options()

    def set_options(self, options: Callable[[], PipelineOptions]) -> None:
        """Where the next import gets its pipeline options (the models load again if they changed)."""
        self._options = options

    def add(self, paths, title: str = "") -> None:
        for p in paths:
            self._queue.append((str(p), title))
        self.queueChanged.emit(len(self._queue))
        if not self._busy:
            self._next()

    def cancel(self) -> None:
        """Cancel the running import and drop the queued ones."""
        self._queue.clear()
        self.queueChanged.emit(0)
        if self._busy:
            self.worker.cancel()

    @Slot()
    def _next(self) -> None:
        if not self._queue:
            if self._busy:
                self._busy = False
                self.busyChanged.emit(False)
            return
        path, title = self._queue.popleft()
        self.queueChanged.emit(len(self._queue))
        if not self._busy:
            self._busy = True
            self.busyChanged.emit(True)
        self._request.emit(path, title, self._db_path(), self._options())

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.cancel()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("import thread still busy at exit")
