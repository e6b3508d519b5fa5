"""Voice check: re-test speaker labels against the speakers' voices, a couple of seconds at a time.

Diarization clusters 10-second chunks, so a speaker change inside a chunk, or a chunk
assigned to the wrong cluster, leaves whole sentences with the wrong label. Here the words
of each turn are grouped into windows of about ``window`` seconds; each window's speaker
embedding is compared with every speaker's centroid. A window that sounds clearly more
like another speaker (cosine margin above ``margin``) is relabelled, and every window
reports its margin so that turn confidence can use it.

Pure apart from ``embed`` (start, end → embedding), which the caller supplies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from meetings.types import AttributedWord, Turn

from .align import build_turns

__all__ = ["VoiceOptions", "voice_check"]

Embed = Callable[[float, float], np.ndarray]


@dataclass(frozen=True, slots=True)
class VoiceOptions:
    window: float = 2.0  # seconds of words per embedding
    min_window: float = 1.0  # shorter windows carry too little voice to judge
    margin: float = 0.05  # cosine margin needed to relabel a window
    max_turn_gap: float = 3.0


def _windows(words: Sequence[AttributedWord], opts: VoiceOptions) -> list[tuple[int, int]]:
    """[i, j) word ranges of one speaker spanning about ``window`` seconds each."""
    out, i = [], 0
    while i < len(words):
        j = i + 1
        while j < len(words) and words[j].speaker == words[i].speaker and words[j].word.end - words[i].word.start <= opts.window:
            j += 1
        out.append((i, j))
        i = j
    return out


def voice_check(
    turns: Sequence[Turn], speakers: Sequence[str], centroids: np.ndarray | None, embed: Embed, opts: VoiceOptions = VoiceOptions()
) -> tuple[list[Turn], list[float | None]]:
    """Relabelled turns, and per turn the lowest voice margin of its windows (None if unjudged).

    Overlapped turns (recovered second voices) are left as they are.
    """
    kept = [t for t in turns if t.overlapped]
    words = [w for t in turns if not t.overlapped for w in t.words]
    if centroids is None or len(speakers) < 2 or not words:
        return list(turns), [None] * len(turns)
    c = centroids / (np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-9)
    index = {s: k for k, s in enumerate(speakers)}
    margins: list[float | None] = [None] * len(words)
    out: list[AttributedWord] = list(words)
    for i, j in _windows(words, opts):
        start, end = words[i].word.start, words[j - 1].word.end
        k = index.get(words[i].speaker)
        if k is None or end - start < opts.min_window:
            continue
        e = embed(start, end)
        sims = c @ (e / (np.linalg.norm(e) + 1e-9))
        best = int(np.argmax(sims))
        if best != k and sims[best] - sims[k] > opts.margin:
            k = best
            for n in range(i, j):
                out[n] = replace(words[n], speaker=speakers[k])
        margin = float(sims[k] - np.max(np.delete(sims, k)))
        for n in range(i, j):
            margins[n] = margin
    rebuilt = build_turns(out, opts.max_turn_gap)
    # per-turn margin: the weakest judged window inside it
    per_turn: list[float | None] = []
    n = 0
    for t in rebuilt:
        ms = [m for m in margins[n : n + len(t.words)] if m is not None]
        per_turn.append(min(ms) if ms else None)
        n += len(t.words)
    merged = sorted(zip([*rebuilt, *kept], [*per_turn, *([None] * len(kept))]), key=lambda p: (p[0].start, p[0].end))
    return [t for t, _ in merged], [m for _, m in merged]
