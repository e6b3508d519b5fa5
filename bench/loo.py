"""Out-of-sample discipline: leave-one-meeting-out choices and bootstrap intervals over files.

Every constant fitted on the evaluation set is re-chosen without the file it is scored on: for
each held-out file, the variant (a stage's setting, or a stage switched off) with the lowest
pooled error on the *other* files is the one applied to it, and the held-out files' errors are
summed. The in-sample figure (one variant chosen on all files) sits beside it. Pure apart from
nothing: per-file, per-variant ``(errors, length)`` counts in, figures out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

Counts = Mapping[str, Mapping[str, tuple[float, float]]]  # file -> variant -> (errors, length)


def pooled(counts: Counts, variant: str, files: Sequence[str]) -> float:
    e = sum(counts[f][variant][0] for f in files)
    n = sum(counts[f][variant][1] for f in files)
    return e / n if n else float("nan")


def best_variant(counts: Counts, files: Sequence[str], variants: Sequence[str], default: str) -> str:
    """The variant with the lowest pooled rate on ``files`` (ties: ``default``, then the order given)."""
    order = [default, *[v for v in variants if v != default]]
    return min(order, key=lambda v: (round(pooled(counts, v, files), 9), order.index(v)))


def leave_one_out(counts: Counts, variants: Sequence[str], default: str) -> dict[str, str]:
    """Per file, the variant chosen on all the other files."""
    files = list(counts)
    return {f: best_variant(counts, [g for g in files if g != f], variants, default) for f in files}


def held_out(counts: Counts, choice: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    """Per file, the counts of the variant chosen without it."""
    return {f: tuple(counts[f][v]) for f, v in choice.items()}


def rate(per_file: Mapping[str, tuple[float, float]]) -> float:
    e = sum(x[0] for x in per_file.values())
    n = sum(x[1] for x in per_file.values())
    return e / n if n else float("nan")


def bootstrap(per_file: Mapping[str, tuple[float, float]], iters: int = 2000, seed: int = 0,
              statistic: Callable[[np.ndarray], float] | None = None) -> tuple[float, float]:
    """95 % interval of the pooled rate (or ``statistic`` of the resampled rows) over files
    resampled with replacement."""
    rows = np.array(list(per_file.values()), dtype=float)
    if len(rows) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    stat = statistic or (lambda r: r[:, 0].sum() / max(r[:, 1].sum(), 1e-12))
    vals = [stat(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(iters)]
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def relative(per_file_a: Mapping[str, tuple[float, float]], per_file_b: Mapping[str, tuple[float, float]],
             iters: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(a − b) / b of pooled rates (a system against a baseline on the same files) and its 95 %
    bootstrap interval over files."""
    files = sorted(set(per_file_a) & set(per_file_b))
    rows = np.array([[per_file_a[f][0], per_file_a[f][1], per_file_b[f][0], per_file_b[f][1]] for f in files], dtype=float)

    def stat(r):
        ra, rb = r[:, 0].sum() / max(r[:, 1].sum(), 1e-12), r[:, 2].sum() / max(r[:, 3].sum(), 1e-12)
        return (ra - rb) / rb if rb else 0.0

    point = stat(rows) if len(rows) else float("nan")
    if not len(rows):
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    vals = [stat(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(iters)]
    return float(point), float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def confidence_loo(samples: Mapping[str, Sequence], words: Mapping[str, Sequence[tuple[int, int]]]):
    """Flag quality out of sample: for each file, the confidence risks refitted on the other
    files' turns (:func:`diarization.confidence.fit_confidence`), then its own turns flagged.
    ``samples[f]``: ScoredTurn per turn; ``words[f]``: (wrong words, judged words) per turn.
    Returns per file (wrong words in flagged turns, wrong words, flagged turns, turns), in-sample
    (fitted on all files) and out of sample."""
    from diarization.confidence import fit_confidence

    everything = [s for f in samples for s in samples[f]]
    fitted_all = fit_confidence(everything)
    out = {"in": {}, "out": {}}
    for f in samples:
        rest = [s for g in samples if g != f for s in samples[g]]
        for key, model in (("in", fitted_all), ("out", fit_confidence(rest))):
            caught = wrong = flagged = 0
            for s, (w, _) in zip(samples[f], words[f]):
                flag = model.confidence(s.features) < model.threshold
                flagged += flag
                wrong += w
                caught += w if flag else 0
            out[key][f] = (caught, wrong, flagged, len(samples[f]))
    return out
