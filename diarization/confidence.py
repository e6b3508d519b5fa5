"""Turn confidence and review flags: pure functions over aligned turns.

A turn's confidence is the probability that its speaker is right. Each signal below is an
independent way for the speaker to be wrong, with its own calibrated risk; they combine as
a noisy-OR, ``P(wrong) = 1 − Π (1 − p_i)``, so one strong warning is enough to flag a turn
and a long, clean turn is never rescued by its length (an additive score let long turns
buy back a bad voice match — where most wrongly attributed words were):

  * **disputed** — the diarization's share of activity for the turn's speaker is low: the
    diarizer hesitated, or the voice stage moved these words to another voice;
  * **voice** — the weakest voice window's cosine margin (own voice minus the closest other
    voice) is small: the words sound as much like someone else;
  * **overlap** — share of words spoken while another speaker was active;
  * **short** — back-channels and turn-change fragments (< ``short_turn`` s, or one word);
  * **low ASR** — mean word probability below ``low_asr`` (mis-heard words sit at wrong
    turn boundaries);
  * **untimed** — words without timestamps were placed by interpolation.

Risk curves were set on eval/core.lst (per-window and per-turn error rates, see
BENCHMARKS.md) and are plain fields of :class:`ConfidenceModel`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from meetings.types import FlagReason, Turn

__all__ = ["TurnFeatures", "ConfidenceModel", "turn_features", "score_turns", "voice_margin"]


@dataclass(frozen=True, slots=True)
class TurnFeatures:
    share: float  # mean diarization share of the turn's speaker over its words (0..1)
    overlap: float  # fraction of words with another active speaker (0..1)
    duration: float  # seconds
    num_words: int
    asr_prob: float  # mean word probability (0..1)
    untimed: float  # fraction of words with interpolated times
    voice_margin: float | None = None  # weakest window: cos(own voice) − cos(closest other voice)
    recovered: bool = False  # an overlapped turn re-transcribed from under another speaker


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
        recovered=turn.overlapped,
    )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """Per-signal risk curves, their noisy-OR, and the flag threshold."""

    # Risks are the observed rates on eval/core.lst (45 turns after the voice stage): a turn
    # holds a wrongly attributed word in 3 of 10 disputed turns, 2 of 6 recovered voices, 1 of 2
    # with a voice margin under 0.1, 3 of 29 otherwise; 0 of 6 short and 0 of 3 low-ASR turns
    # (kept at a small prior: the sample is tiny). Confidence is one minus their noisy-OR.
    dispute_share: float = 0.5  # share at which the disputed risk is half its maximum
    dispute_width: float = 0.08
    dispute_risk: float = 0.35
    voice_margin: float = 0.1  # voice margin at which the voice risk is half its maximum
    voice_width: float = 0.04
    voice_risk: float = 0.6
    unjudged_voice: float = 0.1  # risk when no window of the turn was long enough to judge
    base_risk: float = 0.05  # what no signal explains (boundary words, mis-heard speech)
    overlap_risk: float = 0.15  # risk of a fully overlapped turn (scales with the fraction)
    recovered_risk: float = 0.3  # a recovered second voice: speaker from the diarizer's overlap
    short_turn: float = 1.0  # seconds
    short_risk: float = 0.1
    low_asr: float = 0.45
    low_asr_risk: float = 0.1
    untimed_risk: float = 0.3
    threshold: float = 0.65  # flag when confidence is below: more than a 35 % chance of a wrong speaker
    reason_risk: float = 0.1  # a signal at least this risky is named as a reason

    def risks(self, f: TurnFeatures) -> dict[FlagReason, float]:
        r: dict[FlagReason, float] = {}
        if f.recovered:  # its share and voice were never measured on its own: the overlap is the risk
            r[FlagReason.OVERLAP] = self.recovered_risk
        else:
            disputed = self.dispute_risk * _sigmoid((self.dispute_share - f.share) / self.dispute_width)
            if f.voice_margin is None:
                voice = self.unjudged_voice
            else:
                voice = self.voice_risk * _sigmoid((self.voice_margin - f.voice_margin) / self.voice_width)
            r[FlagReason.AMBIGUOUS_VOICE] = 1.0 - (1.0 - disputed) * (1.0 - voice)
            r[FlagReason.OVERLAP] = self.overlap_risk * f.overlap
        short = f.duration < self.short_turn or f.num_words <= 1
        # a recovered voice is as long as the overlap it came from: shortness is not news there
        r[FlagReason.SHORT_TURN] = self.short_risk if short and not f.recovered else 0.0
        r[FlagReason.LOW_ASR_CONFIDENCE] = self.low_asr_risk if f.asr_prob < self.low_asr else 0.0
        r[FlagReason.NO_TIMESTAMPS] = self.untimed_risk * f.untimed
        return r

    def confidence(self, f: TurnFeatures) -> float:
        keep = 1.0 - self.base_risk
        for p in self.risks(f).values():
            keep *= 1.0 - p
        return keep

    def reasons(self, f: TurnFeatures) -> tuple[FlagReason, ...]:
        risks = self.risks(f)
        named = tuple(k for k, p in sorted(risks.items(), key=lambda kv: -kv[1]) if p >= self.reason_risk)
        return named or (max(risks, key=risks.get),)


def score_turns(
    turns: Sequence[Turn], model: ConfidenceModel = ConfidenceModel(), voice_margins: Sequence[float | None] | None = None
) -> list[Turn]:
    """Turns with ``confidence`` set, and ``flags`` (the reasons, riskiest first) when below the threshold."""
    out = []
    for i, t in enumerate(turns):
        f = turn_features(t, voice_margins[i] if voice_margins is not None else None)
        c = model.confidence(f)
        flags = model.reasons(f) if c < model.threshold else ()
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
