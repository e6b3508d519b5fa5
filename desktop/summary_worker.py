"""Summaries written off the UI thread: :class:`SummaryWorker` lives in its own QThread, opens
its own store connection, runs :func:`summaries.service.summarize_events` (offline, or the
cloud when enabled) and turns its events into Qt signals. A cloud run is estimated first
(:meth:`SummaryWorker.estimate`) so the cost is shown before anything is sent."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

__all__ = ["SummaryWorker", "SummaryRunner"]

log = logging.getLogger(__name__)


class SummaryWorker(QObject):
    estimated = Signal(int, str)  # meeting id, the cost line
    progress = Signal(str)  # what it is doing now
    notice = Signal(str)  # e.g. why the offline summary was written
    finished = Signal(int)  # meeting id: a summary was stored
    failed = Signal(str)

    @Slot(str, int)
    def estimate(self, db_path: str, meeting_id: int) -> None:
        from meetings.store import Store
        from summaries.service import estimate_cost

        try:
            with Store(Path(db_path)) as store:
                self.estimated.emit(meeting_id, estimate_cost(store, meeting_id).line())
        except Exception as exc:  # no key, no network: say so; the offline summary still works
            self.failed.emit(f"Cannot estimate a cloud summary: {exc}")

    @Slot(str, int, bool)
    def run(self, db_path: str, meeting_id: int, local: bool) -> None:
        from dataclasses import replace

        from meetings.store import Store
        from summaries.config import load_settings
        from summaries.service import summarize_events
        from summaries.types import EstimateReady, Finished, Notice, Progress

        try:
            # the app's own switch (Settings ▸ Cloud summaries) decides; the user confirmed the cost
            settings = load_settings() if local else replace(load_settings(), cloud_enabled=True)
            with Store(Path(db_path)) as store:
                # a local LLM server set in summaries.json (llm_url) writes the "offline" summary too
                for event in summarize_events(store, meeting_id, local=local and not settings.llm_url, settings=settings):
                    if isinstance(event, Progress):
                        self.progress.emit(f"{event.stage}: {event.detail}" if event.detail else event.stage)
                    elif isinstance(event, EstimateReady):
                        self.progress.emit(event.estimate.line())
                    elif isinstance(event, Notice):
                        self.notice.emit(event.message)
                    elif isinstance(event, Finished):
                        self.finished.emit(meeting_id)
        except Exception as exc:
            log.info("summary failed: %s", exc)
            self.failed.emit(str(exc))


class SummaryRunner(QObject):
    """Owns the worker's thread; what the panel talks to."""

    _estimate = Signal(str, int)
    _run = Signal(str, int, bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("parley-summaries")
        self.worker = SummaryWorker()
        self.worker.moveToThread(self.thread)
        self._estimate.connect(self.worker.estimate)
        self._run.connect(self.worker.run)
        self.busy = False
        for sig in (self.worker.finished, self.worker.failed, self.worker.estimated):
            sig.connect(self._idle)
        self.thread.start()

    def _idle(self, *_args) -> None:
        self.busy = False

    def estimate(self, db_path: str, meeting_id: int) -> None:
        self.busy = True
        self._estimate.emit(db_path, meeting_id)

    def run(self, db_path: str, meeting_id: int, local: bool) -> None:
        self.busy = True
        self._run.emit(db_path, meeting_id, local)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.thread.quit()
        self.thread.wait(timeout_ms)
