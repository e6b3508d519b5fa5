"""The soak run behind tests/test_soak.py, in its own process (a Qt binding that loses
references aborts the interpreter, which must not take pytest down with it).

Renders a 3-hour meeting (3,000 turns, 30,000 words) in the real transcript view twice, emits
the player's position signal 20,000 times and its bool signal 20,000 times, and prints the
reference counts of ``None``/``True``/``False`` before and after as one JSON line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def long_meeting(store, turns: int = 3000, words_per_turn: int = 10) -> int:
    from meetings.types import AttributedWord, AudioInfo, FlagReason, PipelineOptions, Turn, Word

    speakers = ("SPEAKER_00", "SPEAKER_01", "SPEAKER_02", "SPEAKER_03")
    out, t = [], 0.0
    for i in range(turns):
        spk = speakers[(i * 7 + i // 5) % len(speakers)]
        ws = []
        for j in range(words_per_turn):
            ws.append(AttributedWord(Word(t, t + 0.3, f" word{(i * words_per_turn + j) % 997}", 0.9), spk))
            t += 0.36
        flags = (FlagReason.SHORT_TURN,) if i % 9 == 0 else ()
        out.append(Turn(spk, ws[0].word.start, ws[-1].word.end, tuple(ws), 0.4 if flags else 0.95, flags))
        t += 0.0
    duration = max(t, 3 * 3600.0)
    info = AudioInfo("/nowhere/three-hours.wav", "sha-soak", duration, 16000, 1, "pcm_s16le", "wav")
    mid = store.begin_meeting("Three hours", info, "/nowhere/three-hours.wav", PipelineOptions(), "tiny.en", "embedded")
    store.save_result(mid, speakers=speakers, centroids=None, turns=out, language="en")
    return mid


def main(db: str) -> int:
    from PySide6.QtWidgets import QApplication

    from desktop.player import Player
    from desktop.transcript_view import TranscriptView
    from meetings.store import Store

    app = QApplication.instance() or QApplication([])
    store = Store(Path(db))
    mid = long_meeting(store)
    view = TranscriptView(store, player=Player(use_audio=False))
    view.resize(1200, 800)
    view.show()
    before = {"None": sys.getrefcount(None), "True": sys.getrefcount(True), "False": sys.getrefcount(False)}
    for _ in range(2):
        view.open_meeting(mid)
        app.processEvents()
    words = sum(len(t.words) for t in view.session.turns)
    for i in range(20_000):
        view.player.positionChanged.emit((i * 0.54) % 10_800.0)
        view.player.playingChanged.emit(i % 2 == 0)
        if i % 500 == 0:
            app.processEvents()
    app.processEvents()
    after = {"None": sys.getrefcount(None), "True": sys.getrefcount(True), "False": sys.getrefcount(False)}
    alive = view.isVisible() and view.session is not None
    print(json.dumps({"before": before, "after": after, "words": words, "turns": len(view.session.turns), "alive": alive}))
    view.close()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
