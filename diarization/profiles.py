"""Voice profiles: voiceprints from clean speech, and the rule that names a speaker from them.

Pure except :func:`voiceprint`, which calls an embedding function it is given.

A *voiceprint* is the sum of L2-normalised speaker embeddings of ~3 s windows of one person's
clean speech, with the window count and the seconds behind it: sums add, so a profile grows
(or loses one meeting's part) without keeping any audio. Its direction is the centroid.

The naming rule (:func:`match`) compares each diarized speaker's voiceprint with every profile
made by the **same embedding model** (cosine of centroids) and treats "nobody" as one more
candidate whose score is the threshold. A speaker is *named* only when the best person beats
"nobody" by ``margin_nobody`` and the second-best person by ``margin_second``, and no other
speaker of the meeting claims that person as closely; a weaker best match is a *suggestion*.
Two speakers of one meeting never get the same person.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "WINDOW",
    "MIN_WINDOW",
    "Voiceprint",
    "MatchRule",
    "Decision",
    "DEFAULT_RULE",
    "windows",
    "voiceprint",
    "match",
    "embedding_model_id",
]

#: seconds of speech per embedding window, and the shortest window worth embedding
WINDOW = 3.0
MIN_WINDOW = 1.0
SAMPLE_RATE = 16_000


@dataclass(frozen=True, slots=True, eq=False)
class Voiceprint:
    """Sum of unit embeddings (``vec_sum``), how many (``n``) and the seconds of speech behind them."""

    model: str
    vec_sum: np.ndarray
    n: int
    seconds: float

    @property
    def centroid(self) -> np.ndarray:
        norm = float(np.linalg.norm(self.vec_sum))
        return (self.vec_sum / norm).astype(np.float32) if norm > 0 else self.vec_sum.astype(np.float32)

    @property
    def consistency(self) -> float:
        """|mean of the unit embeddings| (1 = every window points the same way; spread lowers it)."""
        return float(np.linalg.norm(self.vec_sum) / self.n) if self.n else 0.0

    def __add__(self, other: Voiceprint) -> Voiceprint:
        if other.model != self.model:
            raise ValueError(f"cannot add a voiceprint of {other.model!r} to one of {self.model!r}")
        return Voiceprint(self.model, self.vec_sum + other.vec_sum, self.n + other.n, self.seconds + other.seconds)

    def __sub__(self, other: Voiceprint) -> Voiceprint:
        if other.model != self.model:
            raise ValueError(f"cannot take a voiceprint of {other.model!r} from one of {self.model!r}")
        return Voiceprint(self.model, self.vec_sum - other.vec_sum, max(0, self.n - other.n), max(0.0, self.seconds - other.seconds))


def windows(spans: Sequence[tuple[float, float]], window: float = WINDOW, min_window: float = MIN_WINDOW,
            most: int | None = None) -> list[tuple[float, float]]:
    """Cut speech spans into windows of about ``window`` s (a remainder shorter than ``min_window`` is
    dropped, or joins the previous window); keeps at most ``most``, spread evenly over the spans."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        length = b - a
        if length < min_window:
            continue
        k = max(1, int(round(length / window)))
        step = length / k
        out += [(a + i * step, a + (i + 1) * step) for i in range(k)]
    if most is not None and len(out) > most:
        pick = np.linspace(0, len(out) - 1, most).round().astype(int)
        out = [out[i] for i in pick]
    return out


def voiceprint(model: str, embed_many: Callable[[list[np.ndarray]], np.ndarray],
               read: Callable[[float, float], np.ndarray], spans: Sequence[tuple[float, float]],
               most: int = 40) -> Voiceprint | None:
    """The voiceprint of the speech in ``spans`` (at most ``most`` windows); None when there is too little."""
    cut = windows(spans, most=most)
    clips = [read(a, b) for a, b in cut]
    keep = [(w, c) for w, c in zip(cut, clips) if c.size >= MIN_WINDOW * SAMPLE_RATE * 0.9 and float(np.sqrt(np.mean(c**2))) > 1e-4]
    if not keep:
        return None
    e = np.asarray(embed_many([c for _, c in keep]), dtype=np.float64)
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    ok = np.isfinite(norms[:, 0]) & (norms[:, 0] > 0)
    if not ok.any():
        return None
    unit = e[ok] / norms[ok]
    seconds = sum(b - a for (a, b), good in zip((w for w, _ in keep), ok) if good)
    return Voiceprint(model, unit.sum(axis=0).astype(np.float32), int(ok.sum()), float(seconds))


@dataclass(frozen=True, slots=True)
class MatchRule:
    """When a speaker is named. Scores are cosines between centroids.

    Chosen on the eval set by ``python -m bench.people`` (leave-one-meeting-out, most correct names
    with no wrong name; ties: the strictest; see ``bench/extra/people.md``).
    """

    threshold: float = 0.51  # the score of "nobody"
    margin_nobody: float = 0.0  # the best person must beat "nobody" by this much to be named
    margin_second: float = 0.16  # … and the second-best person (or another speaker's claim) by this much
    suggest: float = 0.40  # below the naming bar, a best score from here on is offered as a suggestion
    min_seconds: float = 2.0  # a speaker with less clean speech than this is never named (only suggested)


DEFAULT_RULE = MatchRule()


@dataclass(frozen=True, slots=True)
class Decision:
    """For one speaker: ``named`` (a person id) or not, the best candidate and the scores behind it."""

    named: Hashable | None
    suggested: Hashable | None
    score: float  # best person's score (or -1 with no profiles)
    second: float  # second-best person's score (or -1)
    reason: str  # "named", "weak", "close", "contested", "short", "taken", "no profiles"


def match(speakers: Mapping[Hashable, np.ndarray], profiles: Mapping[Hashable, np.ndarray],
          rule: MatchRule = DEFAULT_RULE, seconds: Mapping[Hashable, float] | None = None,
          taken: Sequence[Hashable] = ()) -> dict[Hashable, Decision]:
    """Decide, for every speaker (id → centroid), which person (id → centroid) it is, if anyone.

    ``taken``: people already given to a speaker of this meeting (e.g. the local user): never named again.
    """
    keys = list(speakers)
    people = [p for p in profiles if p not in set(taken)]
    if not keys:
        return {}
    if not people:
        return {k: Decision(None, None, -1.0, -1.0, "no profiles") for k in keys}
    s = _unit(np.stack([np.asarray(speakers[k], dtype=np.float64) for k in keys]))
    c = _unit(np.stack([np.asarray(profiles[p], dtype=np.float64) for p in people]))
    scores = s @ c.T  # (speakers, people)
    order = np.argsort(-scores, axis=1)
    best = order[:, 0]
    out: dict[Hashable, Decision] = {}
    for i, k in enumerate(keys):
        b = int(best[i])
        top = float(scores[i, b])
        second = float(scores[i, order[i, 1]]) if len(people) > 1 else -1.0
        # another speaker of the meeting who scores this person within the margin contests it
        rivals = [float(scores[j, b]) for j in range(len(keys)) if j != i]
        rival = max(rivals) if rivals else -1.0
        if top < rule.suggest:
            out[k] = Decision(None, None, top, second, "weak")
            continue
        person = people[b]
        if rival > top:
            reason = "taken"  # another speaker is closer to this person
        elif top < rule.threshold + rule.margin_nobody:
            reason = "weak"
        elif top - second < rule.margin_second:
            reason = "close"
        elif top - rival < rule.margin_second:
            reason = "contested"
        elif seconds is not None and seconds.get(k, 0.0) < rule.min_seconds:
            reason = "short"
        else:
            reason = "named"
        suggestion = None if reason in ("named", "taken") else person  # "taken": the closer speaker is offered it
        out[k] = Decision(person if reason == "named" else None, suggestion, top, second, reason)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def embedding_model_id(diarizer) -> str:
    """Which embedding model made a voiceprint: profiles of another model are never compared."""
    from .models import EMBEDDED_DIARIZATION, embedded_campplus_path

    if diarizer.name == EMBEDDED_DIARIZATION:
        path = embedded_campplus_path()
        return f"campplus:{path.stem}:{path.stat().st_size}"
    return f"pyannote:{diarizer.name}"
