"""Corrections that teach: learn each corrected speaker's voice from the turns the user has
fixed or accepted, re-score the remaining doubtful turns against those voices, and propose
the ones that clearly belong to someone else. Pure NumPy; no Qt, no store."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Suggestion", "speaker_voices", "suggest_fixes", "is_doubtful"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    turn_id: int
    from_speaker: int
    to_speaker: int
    #: cosine similarity of the turn to the suggested speaker's voice
    similarity: float
    #: how much closer it is to that voice than to its current speaker's (cosine difference)
    margin: float


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).ravel()
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def is_doubtful(turn, max_confidence: float) -> bool:
    """A turn worth re-scoring: not yet reviewed, and flagged or below ``max_confidence``."""
    return not turn.reviewed and (bool(turn.flags) or turn.confidence < max_confidence)


def speaker_voices(embeddings: Mapping[int, np.ndarray], turn_speakers: Mapping[int, int]) -> dict[int, np.ndarray]:
    """Unit mean of unit turn embeddings per speaker, over the given ``turn_id → speaker_id``."""
    groups: dict[int, list[np.ndarray]] = {}
    for turn_id, speaker in turn_speakers.items():
        if turn_id in embeddings:
            groups.setdefault(speaker, []).append(_unit(embeddings[turn_id]))
    return {s: _unit(np.mean(vs, axis=0)) for s, vs in groups.items()}


def suggest_fixes(
    turns: Sequence,
    embeddings: Mapping[int, np.ndarray],
    trusted: Collection[int],
    *,
    max_confidence: float = 0.75,
    min_similarity: float = 0.25,
    min_margin: float = 0.08,
) -> list[Suggestion]:
    """Doubtful turns whose voice matches a corrected speaker better than their own.

    ``turns``: objects with ``id``, ``speaker_id``, ``confidence``, ``flags``, ``reviewed``.
    ``embeddings``: ``turn_id → vector`` (turns without one are ignored).
    ``trusted``: ids of turns whose speaker the user set or confirmed (reassigned or accepted).

    A speaker's *corrected voice* comes from its trusted turns; only those speakers are
    proposed. A speaker's *own voice* (to compare against) is its corrected voice or, if it
    has none, the mean of its confident turns. Sorted by margin, most certain first.
    """
    trusted = set(trusted)
    by_id = {t.id: t for t in turns}
    corrected = speaker_voices(embeddings, {i: by_id[i].speaker_id for i in trusted if i in by_id})
    if not corrected:
        return []
    confident = {
        t.id: t.speaker_id
        for t in turns
        if t.id not in trusted and not is_doubtful(t, max_confidence)
    }
    own = {**speaker_voices(embeddings, confident), **corrected}
    out = []
    for t in turns:
        if t.id in trusted or t.id not in embeddings or not is_doubtful(t, max_confidence):
            continue
        e = _unit(embeddings[t.id])
        scores = {s: float(v @ e) for s, v in corrected.items() if s != t.speaker_id}
        if not scores:
            continue
        best = max(scores, key=scores.get)
        current = float(own[t.speaker_id] @ e) if t.speaker_id in own else -1.0
        margin = scores[best] - current
        if scores[best] >= min_similarity and margin >= min_margin:
            out.append(Suggestion(t.id, t.speaker_id, best, scores[best], margin))
    out.sort(key=lambda s: -s.margin)
    return out
