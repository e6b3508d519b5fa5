"""Provisional speakers during a live meeting (pure), in the spirit of diart's incremental
clustering: each utterance's voice embedding is matched against running centroids.

* assigned to the nearest speaker when close enough;
* a new speaker only after enough speech and a clear distance from every known one;
* centroids updated only from clean (long enough, clearly matched) speech;
* labels are never renumbered: "S1", "S2" … in order of appearance;
* :meth:`OnlineSpeakers.peek` names the nearest known speaker without changing anything (the
  provisional label of an utterance still running; the whole utterance is observed at its end).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["OnlineSpeakers", "Match"]


@dataclass(frozen=True, slots=True)
class Match:
    label: str | None  # None: too little speech to say (the utterance stays unattributed)
    similarity: float
    new: bool = False


@dataclass
class OnlineSpeakers:
    # chosen leave-one-meeting-out on the live replay (bench.live_speakers --sweep), on whole-utterance embeddings
    assign: float = 0.60  # cosine similarity to join a known speaker (and move its centroid)
    new_below: float = 0.50  # ... and below this for every known one, a new speaker (with enough speech)
    min_new: float = 1.5  # seconds of speech before someone counts as a new person
    min_update: float = 1.0  # seconds for an utterance to move a centroid
    centroids: list[np.ndarray] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def observe(self, embedding: np.ndarray | None, seconds: float) -> Match:
        if embedding is None:
            return Match(self.labels[-1] if self.labels else None, 0.0)
        e = np.asarray(embedding, dtype=np.float64).reshape(-1)
        e = e / (np.linalg.norm(e) or 1.0)
        if not self.centroids:
            if seconds < self.min_new:
                return Match(None, 0.0)
            return self._add(e, seconds)
        sims = np.array([float(c @ e / (np.linalg.norm(c) or 1.0)) for c in self.centroids])
        k = int(np.argmax(sims))
        best = float(sims[k])
        if best < self.new_below and seconds >= self.min_new:
            return self._add(e, seconds)
        if best >= self.assign and seconds >= self.min_update:
            w = self.weights[k]
            self.centroids[k] = (self.centroids[k] * w + e * seconds) / (w + seconds)
            self.weights[k] = w + seconds
        return Match(self.labels[k], best)

    def peek(self, embedding: np.ndarray | None) -> Match:
        """The known speaker nearest to ``embedding`` if it is close enough to join, else none;
        nothing changes (a provisional label while an utterance is still running)."""
        if embedding is None or not self.centroids:
            return Match(None, 0.0)
        e = np.asarray(embedding, dtype=np.float64).reshape(-1)
        e = e / (np.linalg.norm(e) or 1.0)
        sims = np.array([float(c @ e / (np.linalg.norm(c) or 1.0)) for c in self.centroids])
        k = int(np.argmax(sims))
        return Match(self.labels[k] if sims[k] >= self.assign else None, float(sims[k]))

    def _add(self, e: np.ndarray, seconds: float) -> Match:
        label = f"S{len(self.labels) + 1}"
        self.centroids.append(e)
        self.weights.append(seconds)
        self.labels.append(label)
        return Match(label, 1.0, new=True)
