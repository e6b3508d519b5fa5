"""Qt glue for "corrections that teach": turn voice embeddings are computed in a background
thread (CAM++ from the meeting audio) and cached; :meth:`Teacher.suggest` then asks the pure
:func:`desktop.suggest.suggest_fixes` which doubtful turns to offer for fixing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop.suggest import Suggestion, suggest_fixes

__all__ = ["Teacher", "VoiceWorker"]

log = logging.getLogger(__name__)


def _default_embed(wav: str, spans, cancelled):
    from desktop.voices import embed_spans

    return embed_spans(wav, spans, cancelled=cancelled)


class VoiceWorker(QObject):
    embedded = Signal(int, object)  # meeting id, {(turn id, start, end): vector}
    failed = Signal(str)

    def __init__(self, embed: Callable = _default_embed):
        super().__init__()
        self._embed = embed
        self.stop = threading.Event()

    @Slot(int, str, object)
    def run(self, meeting_id: int, wav: str, spans) -> None:
        try:
            keyed = [(i, (tid, a, b), a, b) for i, (tid, a, b) in enumerate(spans)]
            vectors = self._embed(wav, [(i, a, b) for i, _, a, b in keyed], self.stop.is_set)
            self.embedded.emit(meeting_id, {key: vectors.get(i) for i, key, _, _ in keyed})  # None: no audio there
        except Exception as exc:  # no model, unreadable audio: suggestions just stay off
            log.warning("voice embeddings unavailable: %s", exc)
            self.embedded.emit(meeting_id, {key: None for _, key, _, _ in keyed})
            self.failed.emit(str(exc))


class Teacher(QObject):
    """Caches turn embeddings per meeting and turns user corrections into suggestions."""

    _request = Signal(int, str, object)
    ready = Signal(int)  # meeting id: new embeddings arrived
    unavailable = Signal(str)

    def __init__(self, embed: Callable = _default_embed, parent: QObject | None = None):
        super().__init__(parent)
        self._vectors: dict[int, dict[tuple[int, float, float], np.ndarray | None]] = {}
        self._pending: set[tuple[int, tuple]] = set()
        self.thread = QThread()
        self.thread.setObjectName("parley-voices")
        self.worker = VoiceWorker(embed)
        self.worker.moveToThread(self.thread)
        self._request.connect(self.worker.run)
        self.worker.embedded.connect(self._on_embedded)
        self.worker.failed.connect(self.unavailable)
        self.thread.start()

    @staticmethod
    def _key(turn) -> tuple[int, float, float]:
        return (turn.id, round(turn.start, 3), round(turn.end, 3))

    def ensure(self, meeting_id: int, wav: str, turns: Sequence) -> bool:
        """Request embeddings for turns that lack one; True when all are there already."""
        have = self._vectors.setdefault(meeting_id, {})
        missing = [self._key(t) for t in turns if self._key(t) not in have]
        missing = [k for k in missing if (meeting_id, k) not in self._pending]
        if missing and wav:
            self._pending.update((meeting_id, k) for k in missing)
            self._request.emit(meeting_id, wav, missing)
        return not missing and not any(m == meeting_id for m, _ in self._pending)

    def embeddings(self, meeting_id: int, turns: Sequence) -> dict[int, np.ndarray]:
        have = self._vectors.get(meeting_id, {})
        return {t.id: v for t in turns if (v := have.get(self._key(t))) is not None}

    def suggest(self, meeting_id: int, turns: Sequence, trusted) -> list[Suggestion]:
        return suggest_fixes(turns, self.embeddings(meeting_id, turns), trusted)

    @Slot(int, object)
    def _on_embedded(self, meeting_id: int, vectors: dict) -> None:
        self._vectors.setdefault(meeting_id, {}).update(vectors)
        self._pending -= {(meeting_id, k) for k in vectors}
        self.ready.emit(meeting_id)

    def shutdown(self) -> None:
        self.worker.stop.set()
        self.thread.quit()
        self.thread.wait(10000)
