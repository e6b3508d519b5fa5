"""Overlapped speech: keep the second voice as its own turn.

Single-stream ASR gives one word sequence, so where two people talk at once the
quieter one's words are usually lost and max-overlap aligners (WhisperX) drop that
speaker entirely. Here, after the primary alignment:

1. :func:`hidden_speech` finds stretches where the diarization says a speaker talks
   but none of that speaker's words are — typically inside another speaker's turn.
2. Each stretch is re-transcribed on its own (``Clip`` → words), with the audio outside
   the speaker's own activity faded out, so Whisper attends to that voice.
3. :func:`dedupe_against_host` drops recovered words that merely repeat the words of the
   turns already there at the same time (the louder voice leaking through), and words that
   two different speakers' clips both recover at the same time (a third voice leaking).
4. What remains becomes an ``overlapped=True`` turn of that speaker, flagged for review.

The logic is pure; the re-transcription is passed in as a function.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from meetings.types import AttributedWord, Diarization, FlagReason, Turn, Word

__all__ = ["Hidden", "OverlapOptions", "hidden_speech", "dedupe_against_host", "recover_overlaps"]


@dataclass(frozen=True, slots=True)
class OverlapOptions:
    min_duration: float = 0.4  # seconds of hidden speech worth re-transcribing
    own_word_pad: float = 0.25  # a speaker's own words cover this much around them
    max_regions: int = 400  # bound the extra ASR work on very long meetings
    dedupe_window: float = 0.6  # seconds: same word this close to a host word is a leak
    phrase_window: float = 3.0  # seconds: same two-word phrase this close to the host's is a leak
    min_probability: float = 0.6  # recovered words below this are dropped (0.35: WER +1.9, 0.6: +0.8 on core.lst)
    min_words: int = 2  # a lone recovered word ("you.", "the", "it") is Whisper's guess on a masked clip, not speech


@dataclass(frozen=True, slots=True)
class Hidden:
    speaker: str
    start: float
    end: float


def _subtract(intervals: list[tuple[float, float]], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Set difference of sorted interval lists (both sorted by start, cuts merged)."""
    out = []
    j = 0
    for s, e in intervals:
        cur = s
        while j < len(cuts) and cuts[j][1] <= cur:
            j += 1
        k = j
        while k < len(cuts) and cuts[k][0] < e:
            if cuts[k][0] > cur:
                out.append((cur, cuts[k][0]))
            cur = max(cur, cuts[k][1])
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def hidden_speech(turns: Sequence[Turn], dia: Diarization, opts: OverlapOptions = OverlapOptions()) -> list[Hidden]:
    """Stretches of each speaker's diarized speech that none of their words cover, while
    another diarized speaker is active and another speaker's turn holds the floor (the
    speaker is talking *over* someone)."""
    own: dict[str, list[tuple[float, float]]] = {}
    for t in turns:
        for w in t.words:
            own.setdefault(t.speaker, []).append((w.word.start - opts.own_word_pad, w.word.end + opts.own_word_pad))
    out = []
    for spk in dia.speakers:
        segs = _merge([(s.start, s.end) for s in dia.segments if s.speaker == spk])
        free = _subtract(segs, _merge(own.get(spk, [])))
        # keep only real overlap: another diarized voice is active and someone else holds the floor
        # (diarized speech of this speaker under *relabelled* words is not a second voice)
        voices = _merge([(s.start, s.end) for s in dia.segments if s.speaker != spk])
        floor = _merge([(t.start, t.end) for t in turns if t.speaker != spk])
        overlap = _intersect(_intersect(free, voices), floor)
        out.extend(Hidden(spk, s, e) for s, e in overlap if e - s >= opts.min_duration)
    out.sort(key=lambda h: (h.start, h.speaker))
    return out[: opts.max_regions]


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


_NORM = re.compile(r"[^\w']+")


def _norm(text: str) -> str:
    return _NORM.sub("", text.lower())


def _host_index(turns: Sequence[Turn]):
    """The transcript's words by time, their start times, and each two-word phrase's start times
    (sorted): built once per meeting, not once per hidden stretch."""
    existing = sorted((w.word.start, _norm(w.word.text)) for t in turns for w in t.words)
    pairs: dict[tuple[str, str], list[float]] = {}
    for (t0, a), (_, b) in zip(existing, existing[1:]):
        pairs.setdefault((a, b), []).append(t0)
    return existing, [s for s, _ in existing], pairs


def dedupe_against_host(recovered: Sequence[Word], turns: Sequence[Turn], opts: OverlapOptions = OverlapOptions(), host=None) -> list[Word]:
    """Drop recovered words that repeat a word already in the transcript at about the same time
    (``dedupe_window``), and two-word phrases the transcript has within ``phrase_window``: Whisper
    merges a speaker's repeated phrase ("is there much more … is there much more") into one,
    and the repetition then comes back from under the mask as if someone else said it."""
    existing, starts, pairs = host if host is not None else _host_index(turns)
    keys = [_norm(w.text) for w in recovered]

    def near(times: list[float], t: float, window: float) -> bool:  # times sorted
        k = bisect.bisect_left(times, t - window)
        return k < len(times) and times[k] <= t + window

    def in_phrase(i: int) -> bool:
        for j in (i - 1, i):
            if 0 <= j < len(keys) - 1 and keys[j] and keys[j + 1]:
                if near(pairs.get((keys[j], keys[j + 1]), []), recovered[j].start, opts.phrase_window):
                    return True
        return False

    out = []
    for i, w in enumerate(recovered):
        key = keys[i]
        if not key or w.probability < opts.min_probability:
            continue
        lo = bisect.bisect_left(starts, w.start - opts.dedupe_window)
        hi = bisect.bisect_right(starts, w.start + opts.dedupe_window)
        if any(existing[k][1] == key for k in range(lo, hi)) or in_phrase(i):
            continue
        out.append(w)
    return out


Clip = Callable[[Hidden], Sequence[Word]]


def _drop_shared(found: list[tuple[Hidden, list[Word]]], window: float) -> list[tuple[Hidden, list[Word]]]:
    """Words that two *different* speakers' masked clips both recover, at about the same time, are
    neither's: masking each toward its own voice should have made them differ, so they are a
    third, louder voice leaking through both (the host's words the main ASR pass merged)."""
    by_word: dict[str, list[tuple[float, str]]] = {}
    for h, words in found:
        for w in words:
            by_word.setdefault(_norm(w.text), []).append((w.start, h.speaker))

    def shared(w: Word, speaker: str) -> bool:
        return any(s != speaker and abs(t - w.start) <= window for t, s in by_word.get(_norm(w.text), ()))

    return [(h, [w for w in words if not shared(w, h.speaker)]) for h, words in found]


def recover_overlaps(
    turns: Sequence[Turn], dia: Diarization, transcribe: Clip, opts: OverlapOptions = OverlapOptions(),
    cancel: Callable[[], None] | None = None,
) -> list[Turn]:
    """Add an ``overlapped`` turn for each hidden stretch whose voice ASR recovers; time-ordered.

    ``cancel`` (optional) is called before each decode and raises to stop (the import's cancel token)."""
    found = []
    host = _host_index(turns)
    for h in hidden_speech(turns, dia, opts):
        if cancel is not None:
            cancel()
        found.append((h, dedupe_against_host(transcribe(h), turns, opts, host)))
    found = _drop_shared(found, opts.dedupe_window)
    extra = []
    by_start = sorted(turns, key=lambda t: t.start)
    starts = [t.start for t in by_start]
    longest = max((t.end - t.start for t in turns), default=0.0)
    for h, words in found:
        if len(words) < opts.min_words:
            continue
        near = by_start[bisect.bisect_left(starts, h.start - longest) : bisect.bisect_left(starts, h.end)]  # not every turn per stretch
        others = tuple(sorted({t.speaker for t in near if t.start < h.end and t.end > h.start and t.speaker != h.speaker}))
        aws = tuple(AttributedWord(w, h.speaker, others, 0.5) for w in words)
        extra.append(
            Turn(speaker=h.speaker, start=min(w.start for w in words), end=max(w.end for w in words), words=aws, overlapped=True, flags=(FlagReason.OVERLAP,))
        )
    return sorted([*turns, *extra], key=lambda t: (t.start, t.end))
