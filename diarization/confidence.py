"""Turn confidence and review flags: pure functions over aligned turns.

A turn's confidence is the probability that its speaker is right, from signals that each
predict a wrong speaker on their own:
  * speaker share: how much of the diarization's activity during the turn is the turn's
    speaker (low when the diarizer hesitated between two voices),
  * overlap: share of words spoken while another speaker was active,
  * length: very short turns (back-channels, turn-change fragments) are error-prone,
  * ASR word probability: mis-heard words often sit at the wrong turn boundaries,
  * voice match (optional): cosine margin between the turn's own embedding and the
    speaker's centroid versus the closest other centroid.
They are combined by a logistic model whose weights live in :class:`ConfidenceModel`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from meetings.types import FlagReason, Turn

__all__ = ["TurnFeatures", "ConfidenceModel", "turn_features", "score_turns"]


@dataclass(frozen=True, slots=True)
class TurnFeatures:
    share: float  # mean speaker share of the turn's words (0..1)
    overlap: float  # fraction of words with another active speaker (0..1)
    duration: float  # seconds
    num_words: int
    asr_prob: float  # mean word probability (0..1)
    untimed: float  # fraction of words with interpolated times
    voice_margin: float | None = None  # cos(own centroid) - cos(best other centroid)


def turn_features(turn: Turn, voice_margin: float | None = None) -> TurnFeatures:
    words = turn.words
    n = max(len(words), 1)
    return TurnFeatures(
        share=sum(w.speaker_share for w in words) / n,
        overlap=sum(1 for w in words if w.overlapping) / n,
        duration=max(turn.end - turn.start, 0.0),
        num_words=len(words),
        asr_prob=sum(w.word.probability for w in words) / n,
        untimed=sum(1 for w in words if not w.word.timed) / n,
        voice_margin=voice_margin,
    )


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """Logistic model P(speaker correct | features); thresholds give the flag reasons."""

    bias: float = -1.0
    w_share: float = 4.0
    w_overlap: float = -1.5
    w_log_duration: float = 0.8
    w_asr: float = 1.0
    w_voice: float = 4.0
    threshold: float = 0.5  # flag when confidence is below
    short_turn: float = 1.0  # seconds
    ambiguous_share: float = 0.7
    ambiguous_margin: float = 0.05
    low_asr: float = 0.45
    overlap_fraction: float = 0.3

    def confidence(self, f: TurnFeatures) -> float:
        z = (
            self.bias
            + self.w_share * f.share
            + self.w_overlap * f.overlap
            + self.w_log_duration * math.log(max(f.duration, 0.1))
            + self.w_asr * f.asr_prob
        )
        if f.voice_margin is not None:
            z += self.w_voice * f.voice_margin
        return 1.0 / (1.0 + math.exp(-z))

    def reasons(self, f: TurnFeatures) -> tuple[FlagReason, ...]:
        out = []
        if f.overlap >= self.overlap_fraction:
            out.append(FlagReason.OVERLAP)
        if f.duration < self.short_turn or f.num_words <= 1:
            out.append(FlagReason.SHORT_TURN)
        if f.share < self.ambiguous_share or (f.voice_margin is not None and f.voice_margin < self.ambiguous_margin):
            out.append(FlagReason.AMBIGUOUS_VOICE)
        if f.asr_prob < self.low_asr:
            out.append(FlagReason.LOW_ASR_CONFIDENCE)
        if f.untimed >= 0.5:
            out.append(FlagReason.NO_TIMESTAMPS)
        return tuple(out)


def score_turns(
    turns: Sequence[Turn], model: ConfidenceModel = ConfidenceModel(), voice_margins: Sequence[float | None] | None = None
) -> list[Turn]:
    """Turns with ``confidence`` set, and ``flags`` (the reasons) when below the threshold."""
    out = []
    for i, t in enumerate(turns):
        f = turn_features(t, voice_margins[i] if voice_margins is not None else None)
        c = model.confidence(f)
        flagged = c < model.threshold or t.overlapped  # a recovered second voice is always worth a look
        flags = model.reasons(f) if flagged else ()
        if flagged and not flags:
            flags = (FlagReason.OVERLAP,) if t.overlapped else (FlagReason.AMBIGUOUS_VOICE,)
        out.append(replace(t, confidence=round(c, 4), flags=flags))
    return out


def voice_margin(embedding: np.ndarray, centroids: np.ndarray, k: int) -> float:
    """cos(embedding, centroid k) − max over other centroids (1.0 when there is only one)."""
    e = embedding / (np.linalg.norm(embedding) + 1e-9)
    c = centroids / (np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-9)
    sims = c @ e
    if len(sims) < 2:
        return 1.0
    others = np.delete(sims, k)
    return float(sims[k] - others.max())
