"""Streaming transcription policy (pure): when a live utterance's words are shown, committed,
or dropped, and how much work the machine can afford.

* :class:`Utterance` — one stretch of speech on one channel. Interim hypotheses come from
  re-decoding its growing audio; a word is committed once two successive hypotheses agree on
  it and on everything before it (LocalAgreement-2); at the end of the utterance a final decode
  commits the rest. Committed words are never rewritten.
* :func:`plausible` — Whisper's known failures on streams: text on silence or noise
  ("Thank you.", "you"), loops, and the same line again after a pause.
* :class:`Governor` — compute time against audio time: interim decodes only while the backlog
  is small; final decodes always; the recording never waits.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from meetings.types import Word

__all__ = ["Utterance", "agreed_prefix", "plausible", "Governor", "norm"]

#: what Whisper says on silence, noise or music — dropped when that is all an utterance holds
HALLUCINATIONS = frozenset({
    "thank you", "thanks for watching", "thank you for watching", "you", "bye", "thanks", "so",
    "please subscribe", "subscribe", "the end", "music", "applause", "silence", "okay", "oh",
})


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower()).split())


def agreed_prefix(a: Sequence[Word], b: Sequence[Word]) -> int:
    """How many leading words two hypotheses share (by normalised text)."""
    n = 0
    for x, y in zip(a, b):
        if norm(x.text) != norm(y.text) or not norm(x.text):
            break
        n += 1
    return n


@dataclass
class Utterance:
    channel: str
    id: int
    start: float  # audio seconds on the recording's time base
    end: float
    closed: bool = False
    committed: list[Word] = field(default_factory=list)
    previous: tuple[Word, ...] = ()  # the last interim hypothesis
    decoded_to: float = 0.0  # audio end of the last decode
    speaker: str | None = None

    def interim(self, hyp: Sequence[Word], floor: float = float("-inf")) -> tuple[list[Word], list[Word]]:
        """A new hypothesis of the whole utterance: (newly committed words, still provisional ones).
        ``floor``: where the channel's committed text ends (an earlier utterance's last word)."""
        hyp = tuple(hyp)
        k = agreed_prefix(self.previous, hyp)
        new = []
        if k > len(self.committed):
            new = self._commit(hyp[len(self.committed): k], floor)
        self.previous = hyp
        return new, list(hyp[max(k, len(self.committed)):])

    def final(self, hyp: Sequence[Word], floor: float = float("-inf")) -> list[Word]:
        """The final decode: what it says after the committed words (matched by text where it
        repeats them all, else by time)."""
        self.closed = True
        if not self.committed:
            return self._commit(hyp, floor)
        hyp = list(hyp)
        if agreed_prefix(self.committed, hyp) == len(self.committed):  # it says the committed words first
            return self._commit(hyp[len(self.committed):], floor)
        last = self.committed[-1]
        rest = [w for w in hyp if w.start >= last.end - 0.05]
        if rest and norm(rest[0].text) == norm(last.text) and abs(rest[0].start - last.start) < 0.3:
            rest = rest[1:]
        return self._commit(rest, floor)

    def _commit(self, words: Sequence[Word], floor: float) -> list[Word]:
        """Append words in time order: each hypothesis times its words afresh, so a word agreed on
        now can be timed before one committed from an earlier hypothesis (or utterance); it is
        moved to start where the committed text ends."""
        out = []
        end = self.committed[-1].end if self.committed else floor
        for w in words:
            if w.start < end:
                w = replace(w, start=end, end=max(w.end, end))
            out.append(w)
            end = w.end
        self.committed.extend(out)
        return out


def plausible(words: Sequence[Word], speech_seconds: float, recent: Sequence[str] = ()) -> bool:
    """False for what Whisper makes of silence or noise (a stock phrase over little speech, a
    loop) and for the same line as one just committed on this channel."""
    text = norm(" ".join(w.text for w in words))
    if not text:
        return False
    if text in HALLUCINATIONS and speech_seconds < 1.5:
        return False
    tokens = text.split()
    if len(tokens) >= 8 and len(set(tokens)) <= len(tokens) // 4:  # "the the the the …"
        return False
    return text not in recent


@dataclass
class Governor:
    """Decides whether an interim decode is affordable. ``backlog`` is how much audio waits for
    its final decode (seconds); ``rtf`` a running compute/audio ratio of decodes."""

    max_backlog: float = 1.5
    max_rtf: float = 0.6
    rtf: float = 0.0
    backlog: float = 0.0
    skipped: int = 0
    history: deque = field(default_factory=lambda: deque(maxlen=50))

    def decoded(self, audio_seconds: float, compute_seconds: float) -> None:
        r = compute_seconds / max(audio_seconds, 0.1)
        self.rtf = r if not self.history else 0.8 * self.rtf + 0.2 * r
        self.history.append(r)

    def allow_interim(self, pending_final_seconds: float) -> bool:
        self.backlog = pending_final_seconds
        ok = pending_final_seconds <= self.max_backlog and self.rtf <= self.max_rtf
        if not ok:
            self.skipped += 1
        return ok
