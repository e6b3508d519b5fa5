"""Turn confidence and review flags: pure functions over aligned turns.

A turn's confidence is the probability that its speaker is right. Each signal below is an
independent way for the speaker to be wrong, with its own calibrated risk; they combine as
a noisy-OR, ``P(wrong) = 1 − Π (1 − p_i)``, so one strong warning is enough to flag a turn
and a long, clean turn is never rescued by its length:

  * **edge voice** — the turn's first or last words, each heard through a 1-s window, sound
    more like another voice than like the turn's own (margin below ``edge_level``): the
    speaker change was put a few words off. This is where most wrongly attributed words are
    left after the voice stage;
  * **voice** — the weakest 2-s voice window's cosine margin (own voice minus the closest
    other voice) is small: the words sound as much like someone else;
  * **disputed** — the diarization's share of activity for the turn's speaker is low: the
    diarizer hesitated, or the voice stage moved these words to another voice;
  * **overlap** — share of words spoken while another speaker was active;
  * **recovered** — a second voice re-transcribed from under another speaker;
  * **short** — back-channels and turn-change fragments (< ``short_turn`` s, or one word);
  * **low ASR** — mean word probability below ``low_asr``;
  * **untimed** — words without timestamps were placed by interpolation.

Each risk is the rate of turns holding a wrongly attributed word among turns showing that
signal *and no edge warning* (the edge signal explains most of the others' errors: disputed
turns 4 of 15 wrong overall, 1 of 11 with clean edges), measured on eval/core.lst plus the
joined 60-s recordings of BENCHMARKS.md (80 turns). They are plain fields of
:class:`ConfidenceModel`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from meetings.types import FlagReason, Turn

__all__ = ["TurnFeatures", "ConfidenceModel", "ScoredTurn", "fit_confidence", "turn_features", "score_turns", "voice_margin"]


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
    edge_margin: float | None = None  # weakest margin of the first/last words' own 1-s windows


def turn_features(turn: Turn, voice_margin: float | None = None, edge_margin: float | None = None) -> TurnFeatures:
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
        edge_margin=edge_margin,
    )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """Per-signal risk curves, their noisy-OR, and the flag threshold."""

    # Rates on eval/core.lst + joined recordings (80 turns; "clean edges": edge margin ≥ −0.05):
    # edge margin < −0.05: 9 of 14 turns hold a wrongly attributed word; with clean edges,
    # voice margin < 0.1: 2 of 4; recovered voices 1 of 5; disputed 1 of 14; overlapped ≥ 30 %:
    # 2 of 11; short 0 of 9; low ASR 0 of 4; no signal at all 2 of 37.
    edge_level: float = -0.05  # edge margin at which the edge risk is half its maximum
    edge_width: float = 0.03
    edge_risk: float = 0.65
    voice_margin: float = 0.1  # voice margin at which the voice risk is half its maximum
    voice_width: float = 0.04
    voice_risk: float = 0.5
    dispute_share: float = 0.5  # share at which the disputed risk is half its maximum
    dispute_width: float = 0.08
    dispute_risk: float = 0.1
    unjudged_voice: float = 0.1  # risk when no window of the turn was long enough to judge
    base_risk: float = 0.05  # what no signal explains (mis-heard speech, reference timing)
    overlap_risk: float = 0.2  # risk of a fully overlapped turn (scales with the fraction)
    recovered_risk: float = 0.2  # a recovered second voice: speaker from the diarizer's overlap
    short_turn: float = 1.0  # seconds
    short_risk: float = 0.05
    low_asr: float = 0.45
    low_asr_risk: float = 0.05
    untimed_risk: float = 0.3
    threshold: float = 0.65  # flag when confidence is below: more than a 35 % chance of a wrong speaker
    reason_risk: float = 0.05  # a signal at least this risky is named as a reason

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
            if f.edge_margin is not None:
                r[FlagReason.EDGE_VOICE] = self.edge_risk * _sigmoid((self.edge_level - f.edge_margin) / self.edge_width)
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
    turns: Sequence[Turn],
    model: ConfidenceModel = ConfidenceModel(),
    voice_margins: Sequence[float | None] | None = None,
    edge_margins: Sequence[float | None] | None = None,
) -> list[Turn]:
    """Turns with ``confidence`` set, and ``flags`` (the reasons, riskiest first) when below the threshold."""
    out = []
    for i, t in enumerate(turns):
        f = turn_features(
            t,
            voice_margins[i] if voice_margins is not None else None,
            edge_margins[i] if edge_margins is not None else None,
        )
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


@dataclass(frozen=True, slots=True)
class ScoredTurn:
    """One turn's features and whether it held a wrongly attributed word (for fitting risks)."""

    features: TurnFeatures
    wrong: bool


def _rate(hits: int, n: int, prior: float, weight: float = 2.0) -> float:
    """Observed rate, shrunk toward ``prior`` by ``weight`` pseudo-turns (few turns: the prior)."""
    return (hits + weight * prior) / (n + weight)


def fit_confidence(samples: Sequence[ScoredTurn], base: ConfidenceModel = ConfidenceModel()) -> ConfidenceModel:
    """The risks of ``base`` re-measured on ``samples``: each the rate of wrong turns among turns
    showing that signal (edge warnings counted first; the others among turns with clean edges,
    as the module docstring says), shrunk toward ``base``'s value. Levels, widths and the flag
    threshold stay: only the rates are fitted, so leave-one-meeting-out can refit them cheaply."""
    m = base
    clean_edge = [s for s in samples if s.features.recovered or s.features.edge_margin is None or s.features.edge_margin >= m.edge_level]
    edge = [s for s in samples if not s.features.recovered and s.features.edge_margin is not None and s.features.edge_margin < m.edge_level]

    def rate(group, prior):
        return _rate(sum(s.wrong for s in group), len(group), prior)

    plain = [s for s in clean_edge if not s.features.recovered]
    voice = [s for s in plain if s.features.voice_margin is not None and s.features.voice_margin < m.voice_margin]
    unjudged = [s for s in plain if s.features.voice_margin is None]
    disputed = [s for s in plain if s.features.share < m.dispute_share]
    overlapped = [s for s in plain if s.features.overlap >= 0.3]
    recovered = [s for s in samples if s.features.recovered]
    short = [s for s in plain if s.features.duration < m.short_turn or s.features.num_words <= 1]
    low = [s for s in plain if s.features.asr_prob < m.low_asr]
    shown = {id(s) for g in (voice, unjudged, disputed, overlapped, short, low) for s in g}
    quiet = [s for s in plain if id(s) not in shown]
    from dataclasses import replace as rp

    return rp(
        m,
        edge_risk=rate(edge, m.edge_risk),
        voice_risk=rate(voice, m.voice_risk),
        unjudged_voice=rate(unjudged, m.unjudged_voice),
        dispute_risk=rate(disputed, m.dispute_risk),
        overlap_risk=rate(overlapped, m.overlap_risk),
        recovered_risk=rate(recovered, m.recovered_risk),
        short_risk=rate(short, m.short_risk),
        low_asr_risk=rate(low, m.low_asr_risk),
        base_risk=rate(quiet, m.base_risk),
    )
