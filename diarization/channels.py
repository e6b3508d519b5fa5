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

__all__ = ["LOCAL", "MicWord", "local_words", "local_turns", "merge_channels", "crosstalk", "flag_crosstalk", "CROSSTALK", "gate"]

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


#: a party channel's turn is flagged when at least this share of its word time was spoken while
#: another channel's talker spoke too: the channel's words are certain to be its talker's except
#: there, where the other party's residual bleed is transcribed as this one's (double-talk).
#: Chosen leave one call out on the stereo calls (`python -m bench.crosstalk`)
CROSSTALK = 0.05
CROSSTALK_CONFIDENCE = 0.6  # the confidence of such a turn: below the flag line, as low-ASR turns


def crosstalk(turn: Turn, others: "SpanIndex | Sequence[tuple[float, float]]") -> float:
    """Share of ``turn``'s word time (0..1) that lies inside ``others`` (another channel's
    speech; a word's time is counted once where several channels speak over it)."""
    from .spans import SpanIndex

    index = others if isinstance(others, SpanIndex) else SpanIndex(others)
    total = heard = 0.0
    for aw in turn.words:
        a, b = aw.word.start, aw.word.end
        total += b - a
        heard += min(b - a, index.covered(a, b))
    return heard / total if total > 0 else 0.0


def flag_crosstalk(turns: Sequence[Turn], others: Sequence[tuple[float, float]], level: float = CROSSTALK) -> list[Turn]:
    """``turns`` of one channel, each flagged (:attr:`FlagReason.OVERLAP`) when its
    :func:`crosstalk` with ``others`` is at least ``level``."""
    from .spans import SpanIndex

    index = SpanIndex(others)
    out = []
    for t in turns:
        if t.words and crosstalk(t, index) >= level:
            t = replace(t, confidence=min(t.confidence, CROSSTALK_CONFIDENCE),
                        flags=(FlagReason.OVERLAP, *(f for f in t.flags if f is not FlagReason.OVERLAP)))
        out.append(t)
    return out


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


# --- which path a multi-channel file takes, and each channel's own speech (pure, numpy) -------

FRAME = 0.03  # seconds per level frame
SILENT_DBFS = -65.0  # a channel whose speech level is below this holds nobody
ACTIVE_BELOW_SPEECH = 30.0  # a frame this far below the channel's speech level is not speech ...
ACTIVE_ABOVE_FLOOR = 12.0  # ... nor one less than this above its noise floor
BLEED_DB = 9.0  # a frame this much quieter (relative to its channel) than the other channel's is bleed
ONE_SIDED_DB = 8.0  # a frame with this much level difference between channels is one person's
MIN_ONE_SIDED = 0.35  # share of speech frames that must be one-sided for the channel path
MIN_OWN_SECONDS = 0.5  # ... with each channel leading for at least this long
MIN_LEAD_FRAMES = 10  # a channel's speech level needs this many frames where it leads (0.3 s)


@dataclass(frozen=True, slots=True, eq=False)
class ChannelLevels:
    """Per channel and frame: the level relative to that channel's own speech level (dB), whether
    anyone is heard on it, and whether that is its own talker rather than another channel's bleed."""

    frame: float
    rel_db: "np.ndarray"  # (channels, frames)
    active: "np.ndarray"  # (channels, frames) bool
    own: "np.ndarray"  # (channels, frames) bool
    speech_dbfs: tuple[float, ...]

    @property
    def frames(self) -> int:
        return int(self.rel_db.shape[1])


def lead_split(db: "np.ndarray", heard: "np.ndarray", rounds: int = 20) -> "np.ndarray | None":
    """Which of two channels leads each frame: the level difference between them (dB), over the
    frames where anyone is ``heard``, split in two by 1-D two-means (from its 10th and 90th
    percentiles). (2, frames) bool, or ``None`` when there are too few heard frames to split."""
    import numpy as np

    d = db[0] - db[1]
    dh = d[heard]
    if len(dh) < 2 * MIN_LEAD_FRAMES:
        return None
    lo, hi = float(np.percentile(dh, 10)), float(np.percentile(dh, 90))
    mid = (lo + hi) / 2
    for _ in range(rounds):
        up = dh >= mid
        if up.all() or not up.any():
            break
        lo, hi = float(dh[~up].mean()), float(dh[up].mean())
        if abs((lo + hi) / 2 - mid) < 1e-6:
            break
        mid = (lo + hi) / 2
    return np.stack([heard & (d >= mid), heard & (d < mid)])


def channel_levels(x: "np.ndarray", sr: int = 16_000, frame: float = FRAME) -> ChannelLevels:
    """Levels of a (channels, samples) signal. A channel's speech level is the 95th-percentile
    level of the frames where it leads the other (:func:`lead_split`; two channels), so channels
    recorded at different gains compare fairly even when one party says little: over all its
    frames, such a channel's loud frames are the other party's bleed. Whether a frame is heard at
    all is judged against the 95th percentile of all the channel's frames, as before."""
    import numpy as np

    n = max(1, int(frame * sr))
    frames = x.shape[1] // n
    if frames == 0:
        z = np.zeros((x.shape[0], 0))
        return ChannelLevels(frame, z, z.astype(bool), z.astype(bool), tuple(-np.inf for _ in range(x.shape[0])))
    blocks = x[:, : frames * n].reshape(x.shape[0], frames, n).astype(np.float64)
    db = 10 * np.log10(np.mean(blocks**2, axis=2) + 1e-12)
    loud = np.percentile(db, 95, axis=1)
    floor = np.percentile(db, 10, axis=1)
    speech = loud.copy()
    if x.shape[0] == 2:
        lead = lead_split(db, (db > (floor + ACTIVE_ABOVE_FLOOR)[:, None]).any(axis=0))
        for c in (0, 1) if lead is not None else ():
            if lead[c].sum() >= MIN_LEAD_FRAMES:
                speech[c] = np.percentile(db[c][lead[c]], 95)
    rel = db - speech[:, None]
    active = (db > np.maximum(floor + ACTIVE_ABOVE_FLOOR, loud - ACTIVE_BELOW_SPEECH)[:, None]) & (loud > SILENT_DBFS)[:, None]
    from scipy.ndimage import maximum_filter1d

    own = active.copy()
    # the other channel's level over ±2 frames: bleed arrives a little late and outlasts its source
    near = maximum_filter1d(np.where(active, rel, -np.inf), 5, axis=1)
    for c in range(x.shape[0]):
        for o in range(x.shape[0]):
            if o != c:
                own[c] &= ~(rel[c] < near[o] - BLEED_DB)
    return ChannelLevels(frame, rel, active, own, tuple(float(s) for s in speech))


@dataclass(frozen=True, slots=True)
class Route:
    """How a multi-channel file is attributed: ``"channels"`` (a person or group per channel)
    or ``"mono"`` (the channels carry the same people: mixed down)."""

    path: str
    reason: str
    one_sided: float  # share of speech frames heard (almost) only on one channel
    own_seconds: tuple[float, ...]  # per channel: seconds where only its own talker is heard
    roles: tuple[str, ...] = ()  # per channel, when known ("mic", "system": a Parley live recording); else "party"


def decide_route(levels: ChannelLevels) -> Route:
    """Channels carry different people when much of the speech is loud on one channel and (far)
    quieter on the other, and each channel leads for a while. Identical or near-identical
    channels (stereo music, a stereo room microphone, mono saved as stereo) and a file with one
    silent channel stay on the mono path."""
    import numpy as np

    if levels.rel_db.shape[0] < 2 or levels.frames == 0:
        return Route("mono", "one channel", 0.0, ())
    speech = levels.active.any(axis=0)
    if not speech.any():
        return Route("mono", "no speech", 0.0, (0.0,) * levels.rel_db.shape[0])
    a, b = levels.rel_db[0], levels.rel_db[1]
    diff = np.where(levels.active[0] & levels.active[1], np.abs(a - b), np.inf)  # heard on one only: one-sided
    one_sided = float(np.mean(diff[speech] >= ONE_SIDED_DB))
    lead = [levels.own[c] & ~levels.own[1 - c] for c in (0, 1)]
    own_s = tuple(float(m.sum() * levels.frame) for m in lead)
    if min(own_s) < MIN_OWN_SECONDS:
        return Route("mono", f"only one channel carries a talker ({own_s[0]:.0f} s / {own_s[1]:.0f} s)", one_sided, own_s)
    if one_sided < MIN_ONE_SIDED:
        return Route("mono", f"the channels carry the same sound ({100 * one_sided:.0f} % one-sided)", one_sided, own_s)
    return Route("channels", f"{100 * one_sided:.0f} % of the speech is on one channel only", one_sided, own_s)


def own_speech(levels: ChannelLevels, channel: int, min_gap: float = 0.3, min_len: float = 0.2,
               pad: float = 0.06) -> list[tuple[float, float]]:
    """The channel's own talker's speech as (start, end) seconds: own frames, gaps shorter than
    ``min_gap`` closed, pieces shorter than ``min_len`` dropped."""
    import numpy as np

    m = levels.own[channel]
    out: list[tuple[float, float]] = []
    edges = np.flatnonzero(np.diff(np.r_[0, m.astype(np.int8), 0]))
    for s, e in zip(edges[::2], edges[1::2]):
        a, b = max(0.0, s * levels.frame - pad), e * levels.frame + pad
        if out and a - out[-1][1] < min_gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return [(a, b) for a, b in out if b - a >= min_len]


def bleed_reference(other: "np.ndarray", levels: ChannelLevels, channel: int, source: int, sr: int = 16_000) -> "np.ndarray":
    """The ``source`` channel, kept only where its own talker speaks and ``channel``'s does not:
    the reference from which the echo canceller learns how ``source`` bleeds into ``channel``
    (learning it where both talk would teach it to cancel ``channel``'s own voice)."""
    import numpy as np

    gate = levels.own[source] & ~levels.own[channel]
    n = int(levels.frame * sr)
    mask = np.repeat(gate.astype(np.float32), n)
    mask = np.r_[mask, np.zeros(max(0, len(other) - len(mask)), np.float32)][: len(other)]
    return (other * mask).astype(np.float32)


def gate(x: "np.ndarray", spans: Sequence[tuple[float, float]], pad: float = 0.2, fade: float = 0.02,
         sr: int = 16_000) -> "np.ndarray":
    """``x`` heard only inside ``spans`` (± ``pad`` s, ``fade`` s ramps): silence elsewhere. A
    party channel that holds more than one voice is diarized from this, its own talkers' speech,
    so the other party's bleed (quiet, but a voice all the same) cannot become a speaker of it.
    The mask is the padded spans' 0/1 mask smoothed by an ``fade``-s moving average (numpy's
    ``convolve(..., "same")``), computed only at each run's edges: linear in the audio's length."""
    import numpy as np

    size, n = len(x), max(1, int(fade * sr))
    back = (n - 1) // 2  # the moving average's window for sample j: [j + back - n + 1, j + back]
    runs: list[list[int]] = []
    for a, b in sorted((max(0, int((a - pad) * sr)), min(size, max(0, int((b + pad) * sr)))) for a, b in spans):
        if b <= a:
            continue
        if runs and a <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b])
    mask = np.zeros(size, np.float32)
    for i0, i1 in runs:
        lo, hi = max(0, i0 - back), min(size, i1 - back + n - 1)  # where this run reaches the window
        full0, full1 = max(lo, i0 - back + n - 1), min(hi, i1 - back)  # where the window lies wholly inside it
        if full1 > full0:
            mask[full0:full1] += 1.0
        for e0, e1 in ((lo, min(hi, full0) if full1 > full0 else hi), (max(lo, full1), hi) if full1 > full0 else (0, 0)):
            if e1 > e0:
                j = np.arange(e0, e1)
                mask[e0:e1] += (np.minimum(i1, j + back + 1) - np.maximum(i0, j + back - n + 1)).clip(0) / n
    return (x * mask).astype(np.float32)
