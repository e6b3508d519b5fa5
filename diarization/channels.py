"""Channels as evidence (pure): the local user's words from the mic channel, the remote
people's turns from the system channel, merged on one timeline.

The mic channel is one person ("You"); its words are kept unless they are the far end's echo
(most of their energy removed by the echo canceller, or the same word heard on the system
channel at the same moment). Speech on both channels at once is real overlap: both turns are
kept and marked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from meetings.types import AttributedWord, FlagReason, Turn, Word

__all__ = ["LOCAL", "MicWord", "local_words", "local_turns", "merge_channels"]

LOCAL = "LOCAL"  # the speaker label of the mic channel's person
ECHO_DROP = 0.6  # a word whose energy the canceller removed by more than this is echo
ECHO_DUPLICATE = 0.3  # ... or by more than this, when the system channel has the same word then
DUPLICATE_WINDOW = 0.6  # seconds
TURN_GAP = 1.0  # a pause this long starts a new turn


@dataclass(frozen=True, slots=True)
class MicWord:
    word: Word
    echo: float  # share of the raw mic energy the echo canceller removed (0..1)


def _norm(text: str) -> str:
    return re.sub(r"[^\w']", "", text.lower())


def local_words(mic: Sequence[MicWord], system_words: Sequence[Word]) -> tuple[list[Word], int]:
    """The mic words that are the local user's own; also how many were dropped as echo."""
    by_text: dict[str, list[float]] = {}
    for w in system_words:
        by_text.setdefault(_norm(w.text), []).append(w.mid)
    kept, dropped = [], 0
    for m in mic:
        key = _norm(m.word.text)
        duplicate = bool(key) and any(abs(t - m.word.mid) <= DUPLICATE_WINDOW for t in by_text.get(key, ()))
        if m.echo > ECHO_DROP or (duplicate and m.echo > ECHO_DUPLICATE):
            dropped += 1
        else:
            kept.append(m.word)
    return kept, dropped


def local_turns(words: Sequence[Word], speaker: str = LOCAL) -> list[Turn]:
    """The local user's words as turns, split at pauses. One person per channel: the speaker is
    certain; only low ASR confidence can flag these turns."""
    turns, run = [], []

    def close():
        if run:
            aw = tuple(AttributedWord(w, speaker) for w in run)
            low = sum(w.probability for w in run) / len(run) < 0.45
            turns.append(Turn(speaker, run[0].start, run[-1].end, aw, 0.6 if low else 0.97,
                              (FlagReason.LOW_ASR_CONFIDENCE,) if low else ()))

    for w in sorted(words, key=lambda w: w.start):
        if run and w.start - run[-1].end > TURN_GAP:
            close()
            run = []
        run.append(w)
    close()
    return turns


def _overlap(a: Turn, b: Turn) -> float:
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


def merge_channels(local: Sequence[Turn], remote: Sequence[Turn]) -> list[Turn]:
    """Both channels' turns in time order. A turn mostly inside the other channel's speech is
    marked overlapped (both are kept) and its words name the other channel's speakers."""
    out = []
    for mine, others in ((local, remote), (remote, local)):
        for t in mine:
            span = max(t.end - t.start, 1e-3)
            hits = [o for o in others if _overlap(t, o) > 0]
            share = sum(_overlap(t, o) for o in hits) / span
            if hits and share >= 0.5 and span <= max(o.end - o.start for o in hits):
                names = tuple(dict.fromkeys(o.speaker for o in hits))
                words = tuple(replace(w, overlapping=tuple(dict.fromkeys((*w.overlapping, *names)))) for w in t.words)
                t = replace(t, words=words, overlapped=True)
            out.append(t)
    return sorted(out, key=lambda t: (t.start, t.end))
