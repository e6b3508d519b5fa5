"""Correction latency on a 3-hour meeting (3,000 turns, 30k words): key press → updated view.

Builds the meeting in a temporary store, opens it in the real main window offscreen, then
presses the correction keys the way a reviewer does and times each one from the key press to
the view being up to date (the store write, the session patch, the redrawn turns, the library
row, and the pending layout/paint events processed). Prints one line per key and the figure
for BENCHMARKS.md::

    python -m bench.desktop_latency [--turns 3000] [--words 10] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def build_meeting(store, n_turns: int, words_per_turn: int, n_speakers: int = 4) -> int:
    from meetings.types import AttributedWord, AudioInfo, FlagReason, PipelineOptions, Turn, Word

    seconds = 3 * 3600.0
    step = seconds / n_turns
    vocab = "we should move the budget review to friday because the floods report is not ready yet".split()
    turns = []
    for i in range(n_turns):
        spk = f"S{i % n_speakers}" if i % 7 else f"S{(i + 1) % n_speakers}"
        t0 = i * step
        w_len = step * 0.9 / words_per_turn
        words = tuple(
            AttributedWord(Word(t0 + k * w_len, t0 + (k + 0.8) * w_len, " " + vocab[(i + k) % len(vocab)], 0.3 if k % 9 == 4 else 0.9), spk)
            for k in range(words_per_turn)
        )
        flags = (FlagReason.OVERLAP,) if i % 5 == 2 else ()
        turns.append(Turn(spk, words[0].word.start, words[-1].word.end, words, 0.4 if flags else 0.92, flags))
    info = AudioInfo("bench.wav", f"bench-{n_turns}-{words_per_turn}", seconds, 16000, 1, "pcm_s16le", "wav")
    mid = store.begin_meeting("Three-hour board meeting", info, "", PipelineOptions(), "tiny.en", "embedded")
    store.save_result(mid, speakers=tuple(f"S{k}" for k in range(n_speakers)), centroids=None, turns=turns, language="en")
    return mid


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=3000)
    ap.add_argument("--words", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from meetings.store import Store

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "parley.db")
        t0 = time.perf_counter()
        mid = build_meeting(store, args.turns, args.words)
        build_s = time.perf_counter() - t0
        window = MainWindow(store, settings_path=Path(tmp) / "desktop.json")
        window.resize(1280, 800)
        window.show()
        t0 = time.perf_counter()
        window.open_meeting(mid)
        app.processEvents()
        open_s = time.perf_counter() - t0
        view = window.transcript
        n_words = sum(len(t.words) for t in view.session.turns)

        def press(key, mod=Qt.KeyboardModifier.NoModifier) -> float:
            start = time.perf_counter()
            QTest.keyClick(view, key, mod)
            app.processEvents()
            return (time.perf_counter() - start) * 1000

        def middle() -> None:
            view.session.select(len(view.session.turns) // 2 + 3)
            view._update_highlights()

        results: dict[str, list[float]] = {}
        for r in range(args.repeat):
            middle()
            results.setdefault("2 (give turn to speaker 2)", []).append(press(Qt.Key.Key_2))
            results.setdefault("Enter (accept, next flagged)", []).append(press(Qt.Key.Key_Return))
            middle()
            view.session.selected_word = 4
            results.setdefault("S (split at word)", []).append(press(Qt.Key.Key_S))
            results.setdefault("M (merge with previous)", []).append(press(Qt.Key.Key_M))
            results.setdefault("Ctrl+Z (undo)", []).append(press(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier))
            results.setdefault("Ctrl+Shift+Z (redo)", []).append(
                press(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
            if window.transcript.dialog is not None:  # a merge across speakers asks: answer no
                window.transcript.dialog.reject()
        t0 = time.perf_counter()
        view._render()
        app.processEvents()
        full_ms = (time.perf_counter() - t0) * 1000
        window.close()
        store.close()

    print(f"meeting: {args.turns} turns, {n_words} words, 3 h (built in {build_s:.1f} s, opened in {open_s:.2f} s)")
    everything = []
    for name, ms in results.items():
        everything += ms
        print(f"  {name:<32} median {statistics.median(ms):6.1f} ms   max {max(ms):6.1f} ms   (n={len(ms)})")
    print(f"  for comparison, redrawing the whole document once: {full_ms:.0f} ms")
    med, p95 = statistics.median(everything), sorted(everything)[int(0.95 * (len(everything) - 1))]
    print(f"correction latency on a 3-hour meeting ({args.turns:,} turns, {n_words // 1000}k words): "
          f"median {med:.0f} ms, 95th percentile {p95:.0f} ms, key press → updated view (target ≤ 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
